//! An `example` for every request body and every successful response of a document (issue #20),
//! built from the operation's own schema where the operation does not give one: a schema's (or
//! a field's) `example`, `default`, `const` or first `enum` value wins; otherwise a value of the
//! declared type and `format` (a date-time, a UUID, an e-mail address, …) at its `minimum` /
//! `minLength`. `crates/tessera_e2e/tests/openapi_examples.rs` validates every example of the
//! committed documents against its schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).

use serde_json::{Map, Value, json};
use utoipa::Modify;

/// How many references deep an example is followed (a recursive schema stops here).
const MAX_DEPTH: usize = 8;

/// Adds the examples to a document (module docs): `modifiers(&Examples)`.
#[derive(Debug, Clone, Copy)]
pub struct Examples;

impl Modify for Examples {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(mut doc) = serde_json::to_value(&*openapi) else {
            return;
        };
        add_to_document(&mut doc);
        if let Ok(with_examples) = serde_json::from_value(doc) {
            *openapi = with_examples;
        }
    }
}

/// [`Examples`] for a document held as JSON (users-registration's, which merges its committed
/// JSON Schemas after utoipa built it).
pub fn add_to_document(doc: &mut Value) {
    let components = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let fill = |contents: Option<&mut Value>| {
        for content in contents
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|m| m.values_mut())
            .filter_map(Value::as_object_mut)
        {
            if content.contains_key("example") || content.contains_key("examples") {
                continue;
            }
            if let Some(schema) = content.get("schema") {
                let value = example(schema, &components, 0, None);
                content.insert("example".to_owned(), value);
            }
        }
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(Value::as_object_mut)
    {
        fill(op.get_mut("requestBody").and_then(|b| b.get_mut("content")));
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            for (status, response) in responses.iter_mut() {
                if status.starts_with('2') {
                    fill(response.get_mut("content"));
                }
            }
        }
    }
}

/// An example of `schema`; `name` is the property it is the value of, if any.
fn example(
    schema: &Value,
    components: &Map<String, Value>,
    depth: usize,
    name: Option<&str>,
) -> Value {
    let Some(s) = schema.as_object() else {
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    for key in ["example", "default", "const"] {
        if let Some(v) = s.get(key) {
            return v.clone();
        }
    }
    if let Some(v) = s
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return v.clone();
    }
    if let Some(v) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|v| !v.is_null()))
    {
        return v.clone();
    }
    if let Some(target) = s
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|n| components.get(n))
    {
        return example(target, components, depth + 1, name);
    }
    if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            match example(part, components, depth, name) {
                Value::Object(m) => merged.extend(m),
                other if parts.len() == 1 => return other,
                _ => {}
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|a| {
            a.iter()
                .find(|v| v.get("type").and_then(Value::as_str) != Some("null"))
        }) {
            return example(first, components, depth, name);
        }
    }
    let kind = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if s.contains_key("properties") => "object",
        _ => "object",
    };
    match kind {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (key, prop) in props {
                    out.insert(key.clone(), example(prop, components, depth, Some(key)));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let item = s
                .get("items")
                .map(|i| example(i, components, depth, name))
                .unwrap_or(Value::Null);
            let n = s
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            Value::Array(vec![item; usize::try_from(n).unwrap_or(1)])
        }
        "integer" => json!(
            s.get("minimum").and_then(Value::as_i64).unwrap_or(1).max(
                s.get("exclusiveMinimum")
                    .and_then(Value::as_i64)
                    .map_or(i64::MIN, |m| m + 1)
            )
        ),
        "number" => json!(s.get("minimum").and_then(Value::as_f64).unwrap_or(1.5)),
        "boolean" => json!(true),
        "string" => Value::String(string(s, name)),
        _ => Value::Null,
    }
}

/// A string of the schema's `format`, else named after its property, at least `minLength`.
fn string(s: &Map<String, Value>, name: Option<&str>) -> String {
    let formatted = match s.get("format").and_then(Value::as_str) {
        Some("date-time") => Some("2026-12-04T12:00:00Z"),
        Some("date") => Some("2026-12-04"),
        Some("uuid") => Some("0f8fad5b-d9cb-469f-a165-70867728950e"),
        Some("email") => Some("ana@example.com"),
        Some("uri" | "url") => Some("https://example.com/"),
        Some("ipv4") => Some("192.0.2.10"),
        _ => None,
    };
    if let Some(f) = formatted {
        return f.to_owned();
    }
    let mut text = match name {
        Some(n) if n.to_ascii_lowercase().contains("email") => "ana@example.com".to_owned(),
        Some(n) => n.to_owned(),
        None => "string".to_owned(),
    };
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    while (text.chars().count() as u64) < min {
        text.push('x');
    }
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
        text = text
            .chars()
            .take(usize::try_from(max).unwrap_or(usize::MAX))
            .collect();
    }
    text
}
