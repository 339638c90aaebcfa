//! The JSON Schema of the plan format (`accrue schema`), generated from the same Rust types
//! that read plans (schemars), with one variant per registered component type — plugins
//! included — so editors validate and complete plan files.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};
use serde_json::{Map, Value, json};

use crate::component::Registry;
use crate::spanned::{Num, Spanned};
use crate::spec::PlanSpec;
use crate::yaml::CapturedNode;

impl JsonSchema for Num {
    fn schema_name() -> Cow<'static, str> {
        "Number".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An exact decimal (0.07 is seven hundredths): a number, a quoted number for more than 15 significant digits, or a $parameter.",
            "anyOf": [
                { "type": "number" },
                { "type": "string", "pattern": "^(\\$[a-z0-9_-]+|[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{1,3})?)$" }
            ]
        })
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl JsonSchema for CapturedNode {
    fn schema_name() -> Cow<'static, str> {
        "Component".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Replaced by one variant per component type in [`plan_schema`].
        json_schema!({ "type": "object", "required": ["id", "type"] })
    }
}

impl JsonSchema for crate::script::ScriptValue {
    fn schema_name() -> Cow<'static, str> {
        "ScriptValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "description": "Any value a script reads from ctx.params." })
    }
}

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

/// The JSON Schema of a plan file for the component types of `registry`.
pub fn plan_schema(registry: &Registry) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let variants: Vec<Value> = registry.types().map(|t| t.schema(&mut generator)).collect();
    let mut root = generator.into_root_schema_for::<PlanSpec>().to_value();
    if let Some(defs) = root.get_mut("$defs").and_then(Value::as_object_mut) {
        defs.insert("Component".into(), json!({ "oneOf": variants }));
    }
    if let Some(root) = root.as_object_mut() {
        root.insert("title".into(), json!("Accrue plan"));
        root.insert(
            "description".into(),
            json!("A sales-compensation plan for Accrue (SPEC §4). Unknown keys are errors."),
        );
    }
    root
}

/// The keys of a component variant for the catalogue, in the order the type declares them.
pub(crate) fn catalogue_keys(variant: &Value, defs: &Map<String, Value>) -> Vec<crate::component::KeyInfo> {
    let required: Vec<&str> =
        variant["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let Some(properties) = variant["properties"].as_object() else { return Vec::new() };
    properties
        .iter()
        .map(|(name, schema)| crate::component::KeyInfo {
            name: name.clone(),
            kind: kind_of(schema, defs, 0),
            default: schema.get("default").map(|d| match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            required: required.contains(&name.as_str()),
            description: schema.get("description").and_then(Value::as_str).unwrap_or_default().replace('\n', " "),
        })
        .collect()
}

/// A short, readable type for a schema: `number`, `ytd | period`, `list of {from, rate}`.
fn kind_of(schema: &Value, defs: &Map<String, Value>, depth: usize) -> String {
    if depth > 4 {
        return "…".into();
    }
    if let Some(c) = schema.get("const") {
        return c.as_str().map_or_else(|| c.to_string(), str::to_string);
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        if name == "Number" {
            return "number".into();
        }
        return defs.get(name).map_or_else(|| name.to_string(), |d| kind_of(d, defs, depth + 1));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let kinds: Vec<String> = options
                .iter()
                .filter(|o| o.get("type") != Some(&json!("null")))
                .map(|o| kind_of(o, defs, depth + 1))
                .collect();
            let mut unique: Vec<String> = Vec::new();
            for k in kinds {
                if !unique.contains(&k) {
                    unique.push(k);
                }
            }
            return unique.join(" | ");
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | ");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => Vec::new(),
    };
    match types.first().copied() {
        Some("boolean") => "bool".into(),
        Some("integer") => "whole number".into(),
        Some("number") => "number".into(),
        Some("string") => "text".into(),
        Some("array") => {
            if let Some(items) = schema.get("prefixItems").and_then(Value::as_array) {
                let parts: Vec<String> = items.iter().map(|i| kind_of(i, defs, depth + 1)).collect();
                return format!("[{}]", parts.join(", "));
            }
            match schema.get("items") {
                Some(items) => format!("list of {}", kind_of(items, defs, depth + 1)),
                None => "list".into(),
            }
        }
        Some("object") => match schema.get("properties").and_then(Value::as_object) {
            Some(props) => format!("{{{}}}", props.keys().cloned().collect::<Vec<_>>().join(", ")),
            None => "mapping".into(),
        },
        _ => "any".into(),
    }
}
