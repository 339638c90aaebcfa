//! The JSON Schema of the plan format (`accrue schema`), generated from the same Rust types
//! that read plans (schemars), with one variant per registered component type — plugins
//! included — so editors validate and complete plan files.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::Registry;
use crate::component::KeyInfo;
use crate::spec::PlanSpec;

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
            json!(
                "An Accrue compensation plan: who is paid what, for what, per period. Unknown keys are \
                 errors. The user guide is the repository's docs/ folder: docs/plan-format.md, \
                 docs/components.md, docs/data.md."
            ),
        );
    }
    root
}

/// The keys of a component variant for the catalogue, in the order the type declares them.
pub(crate) fn catalogue_keys(variant: &Value, defs: &Map<String, Value>) -> Vec<KeyInfo> {
    let required: Vec<&str> =
        variant["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let Some(properties) = variant["properties"].as_object() else { return Vec::new() };
    properties
        .iter()
        .map(|(name, schema)| KeyInfo {
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
