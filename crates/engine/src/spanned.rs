//! `Num` (an exact number with the place it was written) and `Spanned<T>` (any value with
//! its place), filled in by the YAML deserializer so that validation can point at the text.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use rust_decimal::Decimal;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::diagnostic::Span;
use crate::yaml::{NUMBER_MAGIC, SPAN_FIELDS, SPANNED_MAGIC};

/// An exact number from a plan: a literal or a `$param` reference, already resolved.
#[derive(Clone, Debug, Default)]
pub struct Num {
    pub value: Decimal,
    pub span: Span,
    /// The parameter it came from, for explanations (`$ae_base_rate`).
    pub param: Option<String>,
}

impl Num {
    pub fn new(value: Decimal) -> Self {
        Num { value, span: Span::default(), param: None }
    }
}

impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

/// A value with the place it was written.
#[derive(Clone, Debug, Default)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T) -> Self {
        Spanned { value, span: Span::default() }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: Hash> Hash for Spanned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl std::borrow::Borrow<str> for Spanned<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

#[derive(Default)]
struct SpanParts {
    line: u32,
    col: u32,
    len: u32,
    param: String,
}

impl SpanParts {
    fn span(&self) -> Span {
        Span { line: self.line, col: self.col, len: self.len }
    }
}

/// Reads the position fields the YAML deserializer sends ahead of the value.
fn read_span_part<'de, A: MapAccess<'de>>(key: &str, map: &mut A, parts: &mut SpanParts) -> Result<bool, A::Error> {
    match key {
        "$line" => parts.line = map.next_value()?,
        "$col" => parts.col = map.next_value()?,
        "$len" => parts.len = map.next_value()?,
        "$param" => parts.param = map.next_value()?,
        _ => return Ok(false),
    }
    Ok(true)
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumVisitor;
        impl<'de> Visitor<'de> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
                let mut parts = SpanParts::default();
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    if !read_span_part(&key, &mut map, &mut parts)? {
                        let text: String = map.next_value()?;
                        value = Some(Decimal::from_str(&text).map_err(de::Error::custom)?);
                    }
                }
                let value = value.ok_or_else(|| de::Error::custom("number without a value"))?;
                let param = (!parts.param.is_empty()).then(|| parts.param.clone());
                Ok(Num { value, span: parts.span(), param })
            }
        }
        deserializer.deserialize_struct(NUMBER_MAGIC, SPAN_FIELDS, NumVisitor)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpannedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let mut parts = SpanParts::default();
                let mut value = None;
                while let Some(key) = map.next_key::<String>()? {
                    if !read_span_part(&key, &mut map, &mut parts)? {
                        value = Some(map.next_value::<T>()?);
                    }
                }
                let value = value.ok_or_else(|| de::Error::custom("spanned value without a value"))?;
                Ok(Spanned { value, span: parts.span() })
            }
        }
        deserializer.deserialize_struct(SPANNED_MAGIC, SPAN_FIELDS, SpannedVisitor(std::marker::PhantomData))
    }
}

// The plan schema (schemars) sees a `Num` as a number or a `$parameter`, and a
// `Spanned<T>` as its `T`.

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

/// The schema of a `target:` (a number, a `$param` or `company.NAME`), kept as text and
/// resolved by the component that reads it.
pub(crate) fn target_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "An annual target: a number, a $parameter or company.NAME.",
        "anyOf": [ { "type": "number" }, { "type": "string" } ]
    })
}
