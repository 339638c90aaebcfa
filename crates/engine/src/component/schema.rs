//! Schema pieces a component type assembles its variant of the plan schema from: the object
//! schema of a serde struct, one `Component` variant, and a `target:`.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

/// A `target:` (a number, a `$param` or `company.NAME`).
pub(crate) fn target_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "An annual target: a number, a $parameter or company.NAME.",
        "anyOf": [ { "type": "number" }, { "type": "string" } ]
    })
}

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
