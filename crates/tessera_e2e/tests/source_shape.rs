//! Issue #19's size rule, kept: no source file of a service or a shared crate is over 400 lines
//! before its `#[cfg(test)]` module, generated diesel schemas (`schema.rs`) aside. Part of
//! `make test`, no platform needed.
#![expect(clippy::expect_used, reason = "test code")]

use std::path::{Path, PathBuf};

/// Most lines a source file may have before its tests.
const MAX_LINES: usize = 400;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "schema.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_400_lines_before_its_tests() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for group in ["services", "crates"] {
        for member in std::fs::read_dir(root.join(group)).expect("a workspace folder") {
            let src = member.expect("a member").path().join("src");
            if src.is_dir() {
                sources(&src, &mut files);
            }
        }
    }
    assert!(files.len() > 100, "{} files found", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).expect("a source file");
            let lines = text
                .lines()
                .take_while(|l| l.trim() != "#[cfg(test)]")
                .count();
            (lines > MAX_LINES).then(|| format!("{} ({lines})", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}
