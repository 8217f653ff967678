//! Each service's OpenAPI document lists exactly the `error_code`s it can answer with (issue
//! #20): the framework's (`tessera_http::openapi::FRAMEWORK_ERROR_CODES`) and every code its
//! source constructs — `ErrorCode::X`, the `ApiError` helpers that imply one, the one-time-token
//! refusal — and no other. Read from the committed documents (`make openapi`) and the sources;
//! part of `make test`, no platform needed.
#![expect(clippy::expect_used, clippy::indexing_slicing, reason = "test code")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&path).expect("a source file"));
        }
    }
}

/// `InvalidSymbol` → `invalid_symbol`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The codes a service's source constructs.
fn constructed(service: &str) -> BTreeSet<String> {
    let mut files = Vec::new();
    sources(
        &root().join("services").join(service).join("src"),
        &mut files,
    );
    let helpers = [
        ("ApiError::unauthenticated(", "unauthenticated"),
        ("ApiError::forbidden(", "forbidden"),
        ("ApiError::not_found(", "not_found"),
        ("ApiError::conflict(", "conflict"),
        ("ApiError::too_many_requests(", "too_many_requests"),
        ("ApiError::unavailable(", "service_unavailable"),
        ("ApiError::internal(", "internal_error"),
        ("ApiError::invalid_field(", "validation_error"),
        ("one_time::refused", "invalid_token"),
        ("one_time::refused", "gone"),
    ];
    let mut codes = BTreeSet::new();
    for text in &files {
        for (i, _) in text.match_indices("ErrorCode::") {
            let name: String = text[i + "ErrorCode::".len()..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                codes.insert(snake(&name));
            }
        }
        for (needle, code) in helpers {
            if text.contains(needle) {
                codes.insert(code.to_owned());
            }
        }
    }
    codes
}

/// The `ErrorCode` enum of a committed document.
fn documented(service: &str) -> BTreeSet<String> {
    let rel = format!("docs/openapi/{service}.yaml");
    let doc: serde_json::Value =
        yaml_serde::from_str(&std::fs::read_to_string(root().join(&rel)).expect(&rel))
            .expect("YAML");
    doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("an ErrorCode enum")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn each_document_lists_the_codes_its_service_constructs_and_no_other() {
    let framework: BTreeSet<&str> = tessera_http::openapi::FRAMEWORK_ERROR_CODES
        .iter()
        .map(|c| c.as_str())
        .collect();
    let catalog = documented_catalog();
    for service in tessera_e2e::SERVICES {
        let listed = documented(service);
        let built = constructed(service);
        let missing: Vec<_> = built.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "{service} constructs {missing:?}, undocumented"
        );
        let extra: Vec<_> = listed
            .iter()
            .filter(|c| !framework.contains(c.as_str()) && !built.contains(*c))
            .collect();
        assert!(
            extra.is_empty(),
            "{service} documents {extra:?}, never constructed"
        );
        assert!(
            listed.is_subset(&catalog),
            "{service}: a code outside docs/errors.md"
        );
        assert!(
            listed.len() < catalog.len(),
            "{service} lists the whole catalog"
        );
    }
}

/// The codes of `docs/errors.md`'s catalog table.
fn documented_catalog() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("docs/errors.md")).expect("docs/errors.md");
    let catalog = text.split("## Catalog").nth(1).expect("a Catalog section");
    catalog
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        .map(str::to_owned)
        .collect()
}
