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
    properties.insert("type".into(), json!({ "const": name }));
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
