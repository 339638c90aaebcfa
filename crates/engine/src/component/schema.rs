//! Schema pieces a component type assembles its variant of the plan schema from: the object
//! schema of a serde struct and one `Component` variant (a `target:` is in `spanned.rs`).

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// The object schema of a serde struct, inline.
pub(crate) fn object_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Map<String, Value> {
    T::json_schema(generator).as_object().cloned().unwrap_or_default()
}

/// One component variant: the union of the given parts' keys, `type` fixed to `name`, no
/// other keys.
pub(crate) fn component_variant(name: &str, summary: &str, parts: Vec<Map<String, Value>>) -> Value {
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for part in parts {
        if let Some(Value::Object(props)) = part.get("properties") {
            for (k, v) in props {
                properties.insert(k.clone(), v.clone());
            }
        }
        if let Some(Value::Array(req)) = part.get("required") {
            for r in req {
                if !required.contains(r) {
                    required.push(r.clone());
                }
            }
        }
    }
    let described = properties.get("type").and_then(|t| t.get("description")).cloned();
    let mut kind = json!({ "const": name });
    if let Some(description) = described {
        kind["description"] = description;
    }
    properties.insert("type".into(), kind);
    json!({
        "title": name,
        "description": summary,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}
