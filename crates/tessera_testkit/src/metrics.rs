//! The metrics catalogue (`docs/metrics.md`) checked against what a service's `/metrics` serves
//! (issue #21): a documented metric that is missing, an undocumented one, a wrong type or a
//! sample without the service's `service` label fails the test.
#![expect(
    clippy::panic,
    reason = "test support: a catalogue that cannot be read, or a difference, fails the test"
)]

use std::collections::BTreeMap;

/// `(name, type)` of every metric the catalogue promises `service` (rows whose "where" column
/// is `all`, `five` for the five services with a database, or names the service).
///
/// # Panics
/// When the catalogue cannot be read (a test helper).
pub fn catalogue(service: &str) -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/metrics.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut metrics = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "", name, type, labels, where, meaning, ""
        let [_, name, kind, _, place, ..] = cells.as_slice() else {
            continue;
        };
        let applies = place
            .split(',')
            .map(str::trim)
            .any(|p| p == "all" || p == service || (p == "five" && service != "gateway-auth"));
        if applies {
            metrics.insert(name.trim_matches('`').to_owned(), (*kind).to_owned());
        }
    }
    metrics
}

/// `(name, type)` of every metric family in a Prometheus text exposition.
pub fn families(exposition: &str) -> BTreeMap<String, String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.trim().to_owned()))
        .collect()
}

/// Asserts that `exposition` (a scrape of `service`'s `/metrics`, after some traffic) serves
/// exactly the catalogue's metrics for it, with their types, every sample labelled
/// `service="<service>"`.
///
/// # Panics
/// On any difference, listing it.
pub fn assert_catalogued(service: &str, exposition: &str) {
    let expected = catalogue(service);
    let served = families(exposition);
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !served.contains_key(*k))
        .collect();
    let undocumented: Vec<_> = served
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && undocumented.is_empty(),
        "{service}: documented but not served {missing:?}; served but not in docs/metrics.md {undocumented:?}"
    );
    for (name, kind) in &expected {
        assert_eq!(served.get(name), Some(kind), "{service}: type of {name}");
    }
    let label = format!("service=\"{service}\"");
    for sample in exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert!(sample.contains(&label), "{service}: no {label} on {sample}");
    }
}

/// The value of the sample `series` (name and labels exactly as exposed, e.g.
/// `logins_total{outcome="succeeded",service="identity"}`) in `exposition`.
///
/// # Panics
/// When the exposition has no such sample.
pub fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in the exposition"))
}
