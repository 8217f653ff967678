//! The client's address as the gateway saw it, for throttles and audit (issue #17).
//!
//! A request's `X-Forwarded-For` is believed only as far as the hops that added to it are
//! trusted: [`TrustedProxies`] (`TRUSTED_PROXIES`, comma-separated IP addresses or CIDR
//! networks) names the proxies whose word is taken. As Laravel's `TrustProxies` / Symfony's
//! `Request::getClientIps`: when the TCP peer is a trusted proxy, the entries of
//! `X-Forwarded-For` are walked from the right (the entry the nearest proxy appended) and the
//! first address that is **not** a trusted proxy is the client; when every entry is trusted, the
//! left-most one is. A peer that is not a trusted proxy is the client, whatever the headers say,
//! so a caller reaching a service directly cannot choose the address it is throttled under.
//!
//! The gateways (local nginx, the compose gateway, the Kubernetes Ingress) replace
//! `X-Forwarded-For` with the address they saw rather than appending to the client's value
//! (`docs/gateway.md`), so behind them the header has exactly one entry.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// `X-Forwarded-For` (de-facto standard; RFC 7239 `Forwarded` is not read).
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose `X-Forwarded-For` entries are believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

/// A `TRUSTED_PROXIES` entry that is neither an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR network (e.g. 10.0.0.0/8, 127.0.0.1, ::1)")]
pub struct InvalidProxy(pub String);

impl FromStr for TrustedProxies {
    type Err = InvalidProxy;

    /// Comma-separated addresses (`127.0.0.1`, `::1`) and networks (`10.0.0.0/8`); empty ⇒ none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let networks = s
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidProxy(e.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { networks })
    }
}

impl<'de> serde::Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// As `TRUSTED_PROXIES` is written: the networks, comma-separated.
impl serde::Serialize for TrustedProxies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<String> = self.networks.iter().map(ToString::to_string).collect();
        s.serialize_str(&list.join(","))
    }
}

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request whose TCP peer is `peer` and whose `X-Forwarded-For`
    /// values are `forwarded` (each header line may hold several comma-separated entries).
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let entries: Vec<&str> = forwarded
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut nearest = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                // Not an address: everything left of it is unverifiable; the hop that passed it on is the client.
                return nearest;
            };
            if !self.trusts(ip) {
                return ip;
            }
            nearest = ip;
        }
        nearest
    }

    /// [`client_ip`](Self::client_ip) of an actix request (`None` without a peer address, as in
    /// some unit tests).
    pub fn client_ip_of(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let forwarded = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .filter_map(|v| v.to_str().ok());
        Some(self.client_ip(peer, forwarded))
    }
}

/// An `X-Forwarded-For` entry: an IP address, optionally `[v6]:port` or `v4:port`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let p: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            p.client_ip(ip("203.0.113.9"), ["1.2.3.4"]),
            ip("203.0.113.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), ["1.2.3.4"]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn takes_the_right_most_untrusted_hop() {
        let p: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        // The client prepended a forged entry; the proxy appended what it saw.
        assert_eq!(
            p.client_ip(ip("127.0.0.1"), ["6.6.6.6, 198.51.100.7, 10.1.2.3"]),
            ip("198.51.100.7")
        );
        // Several header lines count as one list.
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), ["6.6.6.6", "198.51.100.8"]),
            ip("198.51.100.8")
        );
        // Every hop trusted: the left-most.
        assert_eq!(
            p.client_ip(ip("127.0.0.1"), ["10.9.9.9, 10.1.1.1"]),
            ip("10.9.9.9")
        );
        // No header: the peer.
        assert_eq!(p.client_ip(ip("127.0.0.1"), []), ip("127.0.0.1"));
        // Garbage stops the walk at the hop that passed it on.
        assert_eq!(
            p.client_ip(ip("127.0.0.1"), ["198.51.100.1, not-an-ip, 10.0.0.5"]),
            ip("10.0.0.5")
        );
        // Ports and IPv4-mapped IPv6 addresses.
        assert_eq!(
            p.client_ip(ip("::ffff:127.0.0.1"), ["198.51.100.2:4711"]),
            ip("198.51.100.2")
        );
        assert_eq!(
            p.client_ip(ip("127.0.0.1"), ["[2001:db8::1]:80"]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn parses_the_setting() {
        assert!("".parse::<TrustedProxies>().unwrap().networks.is_empty());
        assert_eq!(
            "10.0.0.0/33".parse::<TrustedProxies>(),
            Err(InvalidProxy("10.0.0.0/33".into()))
        );
        assert!("::1, 192.168.0.0/16".parse::<TrustedProxies>().is_ok());
    }
}
