//! `meta.links` against Laravel's own `LengthAwarePaginator` (issue #20): Debian's
//! `php-illuminate-pagination` renders every (page, last_page) pair of a grid — every page of
//! 1 to 40 pages, and a long list of 96 — and `url_window` must produce the same labels. `.ci/run`
//! installs `php-cli` and `php-illuminate-pagination`.

use serde_json::Value;
use tessera_quotations::routes::history::{ON_EACH_SIDE, url_window};

#[test]
fn the_pager_matches_laravels_own_output() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/laravel/pager.php");
    let mut pairs = Vec::new();
    for last in 1..=40u32 {
        pairs.extend((1..=last).map(|page| (page, last)));
    }
    pairs.extend((1..=96u32).map(|page| (page, 96)));
    let args: Vec<String> = pairs.iter().map(|(p, l)| format!("{p}:{l}")).collect();
    let out = std::process::Command::new("php")
        .arg(script)
        .args(&args)
        .output()
        .expect(
            "php runs: apt-get install php-cli php-illuminate-pagination (.ci/run installs them)",
        );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), pairs.len());
    for laravel in &lines {
        let page = u32::try_from(laravel["page"].as_u64().unwrap()).unwrap();
        let last = u32::try_from(laravel["last"].as_u64().unwrap()).unwrap();
        let ours: Vec<String> = url_window(page, last, ON_EACH_SIDE)
            .into_iter()
            .map(|p| p.map_or_else(|| "...".to_owned(), |n| n.to_string()))
            .collect();
        let theirs: Vec<String> = laravel["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ours, theirs, "page {page} of {last}");
        assert_eq!(
            laravel["active"],
            serde_json::json!([page.to_string()]),
            "page {page} of {last}"
        );
    }
}
