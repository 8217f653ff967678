//! Every operation of every committed OpenAPI document has an example for its request body and
//! for each successful response with a body, and each example is valid against its own schema
//! (JSON Schema 2020-12, the dialect of OpenAPI 3.1), references into `components` resolved
//! (issue #20). Part of `make test`, no platform needed.
#![expect(clippy::expect_used, clippy::indexing_slicing, reason = "test code")]

use std::path::PathBuf;

use serde_json::Value;

fn document(service: &str) -> Value {
    let rel = format!("docs/openapi/{service}.yaml");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&rel);
    yaml_serde::from_str(&std::fs::read_to_string(path).expect(&rel)).expect("YAML")
}

/// `(where, schema, example)` of every body in `doc`; a body without an example is `None`.
fn bodies(doc: &Value) -> Vec<(String, Value, Option<Value>)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let mut contents = vec![(
                format!("{method} {path} request"),
                &op["requestBody"]["content"],
            )];
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if status.starts_with('2') {
                    contents.push((format!("{method} {path} {status}"), &response["content"]));
                }
            }
            for (at, content) in contents {
                for (media, body) in content.as_object().into_iter().flatten() {
                    out.push((
                        format!("{at} {media}"),
                        body["schema"].clone(),
                        body.get("example").cloned(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_operation_has_examples_valid_against_their_schemas() {
    for service in tessera_e2e::SERVICES {
        let doc = document(service);
        let found = bodies(&doc);
        assert!(found.len() > 5, "{service}: {} bodies", found.len());
        for (at, schema, example) in found {
            let example = example.unwrap_or_else(|| panic!("{service}: {at} has no example"));
            let Value::Object(mut root) = schema else {
                continue;
            };
            root.insert("components".to_owned(), doc["components"].clone());
            let validator = jsonschema::validator_for(&Value::Object(root))
                .unwrap_or_else(|e| panic!("{service}: {at}: the schema does not compile: {e}"));
            let errors: Vec<String> = validator
                .iter_errors(&example)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{service}: {at}: {example} is invalid: {errors:?}"
            );
        }
    }
}
