//! Upstream host names: one canonical form, compared exactly (no wildcards).

/// The canonical form of an upstream host: ASCII lower case. `None` — never a match — for
/// anything that is not a plain DNS name: empty, a trailing dot (`graph.microsoft.com.` is not
/// `graph.microsoft.com` here: fail closed), a port, a path, userinfo, spaces, an IP literal,
/// or labels that are empty, longer than 63 or with characters outside `[a-z0-9-]`.
pub fn normalise(raw: &str) -> Option<String> {
    let host = raw.to_ascii_lowercase();
    if host.is_empty() || host.len() > 253 || host.ends_with('.') {
        return None;
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    let has_letter = host.bytes().any(|b| b.is_ascii_lowercase());
    (labels_ok && !is_ip && has_letter && host.contains('.')).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn canonical_hosts_only() {
        assert_eq!(
            normalise("Graph.Microsoft.COM").as_deref(),
            Some("graph.microsoft.com")
        );
        assert_eq!(
            normalise("api.github.com").as_deref(),
            Some("api.github.com")
        );
        for bad in [
            "",
            "graph.microsoft.com.",
            "graph.microsoft.com:443",
            "graph.microsoft.com/x",
            "user@graph.microsoft.com",
            " graph.microsoft.com",
            "graph..microsoft.com",
            "127.0.0.1",
            "localhost",
            "*.microsoft.com",
            "-a.example.com",
            "xn--é.com",
        ] {
            assert_eq!(normalise(bad), None, "{bad:?}");
        }
    }
}
