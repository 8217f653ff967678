//! Who is calling: a WL ([`Caller`]) or an operator ([`Admin`]).
//!
//! A WL authenticates with one of
//! - `Authorization: Bearer cpk_…`, a CP-issued API key (stored as SHA-256);
//! - a client certificate verified by this service when it terminates TLS (`crate::tls`);
//! - a client certificate verified by the gateway and forwarded in Envoy's
//!   `X-Forwarded-Client-Cert` header: `Cert="<URL-encoded PEM>"` (what an nginx gateway sets
//!   from `$ssl_client_escaped_cert`), or `Hash=<hex SHA-256 of the DER>` with
//!   `URI=spiffe://<trust-domain>/wl/<id>` or `Subject="CN=<id>"` (Envoy's own). It is read
//!   **only** when the deployment says the gateway terminates mTLS
//!   (`CP_TRUST_FORWARDED_CLIENT_CERT=true`, default false) **and** the request carries a valid
//!   gateway secret; the gateways strip any client-sent copy (`docs/gateway.md`). The token is
//!   then bound to that certificate (`cnf.x5t#S256`, RFC 8705 §3.1).
//!
//! Precedence, when several are present: API key, then the direct certificate, then the
//! forwarded one (an explicit credential beats an ambient one).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::LocalBoxFuture;
use tessera_http::{ApiError, GatewayTrust, bearer_matches, bearer_token};

use crate::domain::WlId;
use crate::state::AppState;

/// Envoy's forwarded-client-certificate header.
pub const XFCC_HEADER: &str = "x-forwarded-client-cert";

/// How the caller proved its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A WL API key.
    ApiKey,
    /// A client certificate (mTLS at the ingress).
    Mtls,
}

/// An authenticated WL.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The WL's id.
    pub wl_id: String,
    /// How it authenticated.
    pub method: AuthMethod,
    /// base64url SHA-256 of the client certificate (for `cnf.x5t#S256`), with mTLS.
    pub cert_thumbprint: Option<String>,
}

/// A certificate identity from an XFCC element: WL id and base64url SHA-256 of the DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedCert {
    /// The WL the certificate names.
    pub wl_id: String,
    /// `x5t#S256` value.
    pub thumbprint: String,
}

/// Splits `s` on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(s.get(start..i).unwrap_or_default());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// The certificate of an XFCC `Cert` value: URL-encoded PEM (Envoy's encoding, and nginx's
/// `$ssl_client_escaped_cert`).
fn forwarded_pem(value: &str) -> Option<crate::tls::PeerCertificate> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let pem = percent_encoding::percent_decode_str(value).collect::<Vec<u8>>();
    let der = CertificateDer::from_pem_slice(&pem).ok()?;
    Some(crate::tls::PeerCertificate(der.to_vec()))
}

/// Parses the last element of an XFCC header (the one the nearest trusted proxy added).
///
/// With `Cert` (the URL-encoded PEM), the WL id and the thumbprint come from the certificate
/// itself (a `Hash` beside it must match). Otherwise the WL id comes from
/// `URI=spiffe://<trust_domain>/wl/<id>`, else from the subject's `CN`, and `Hash` (hex SHA-256
/// of the certificate) is required for the token binding.
pub fn parse_xfcc(value: &str, trust_domain: &str) -> Option<ForwardedCert> {
    let element = split_unquoted(value, ',').into_iter().last()?;
    let mut hash = None;
    let mut uri_id = None;
    let mut cn = None;
    let mut cert = None;
    let spiffe_prefix = format!("spiffe://{trust_domain}/wl/");
    for pair in split_unquoted(element, ';') {
        let Some((k, v)) = pair.trim().split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "hash" => hash = hex_decode(v).filter(|b| b.len() == 32),
            "cert" => cert = Some(forwarded_pem(v)?),
            "uri" => uri_id = v.strip_prefix(&spiffe_prefix).map(str::to_owned),
            "subject" => {
                cn = split_unquoted(v, ',')
                    .into_iter()
                    .find_map(|rdn| rdn.trim().strip_prefix("CN=").map(str::to_owned));
            }
            _ => {}
        }
    }
    if let Some(cert) = cert {
        let thumbprint = cert.thumbprint();
        if hash.is_some_and(|h| URL_SAFE_NO_PAD.encode(h) != thumbprint) {
            return None;
        }
        return Some(ForwardedCert {
            wl_id: cert.wl_id(trust_domain)?,
            thumbprint,
        });
    }
    let wl_id = uri_id.or(cn).filter(|id| WlId::is_valid(id))?;
    Some(ForwardedCert {
        wl_id,
        thumbprint: URL_SAFE_NO_PAD.encode(hash?),
    })
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let key = bearer_token(req);
        let direct_cert = req.conn_data::<crate::tls::PeerCertificate>().cloned();
        let trusted = req
            .extensions()
            .get::<GatewayTrust>()
            .is_some_and(|t| t.trusted);
        let gateway_terminates_mtls = state
            .as_ref()
            .is_some_and(|s| s.config.cp_trust_forwarded_client_cert);
        let forwarded = if trusted && gateway_terminates_mtls {
            req.headers()
                .get(XFCC_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        } else {
            None
        };
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::internal(std::io::Error::other("state missing")))?;
            if let Some(key) = key {
                return match state.registry.authenticate(&key).await {
                    Ok(Some(wl_id)) => Ok(Self {
                        wl_id,
                        method: AuthMethod::ApiKey,
                        cert_thumbprint: None,
                    }),
                    Ok(None) => {
                        state.metrics.denied("invalid_credentials");
                        Err(ApiError::unauthenticated("Invalid credentials.").into())
                    }
                    Err(e) => {
                        Err(ApiError::unavailable(std::io::Error::other(e.to_string())).into())
                    }
                };
            }
            if let Some(cert) = direct_cert {
                return match cert.wl_id(&state.config.mtls_trust_domain) {
                    Some(wl_id) => Ok(Self {
                        wl_id,
                        method: AuthMethod::Mtls,
                        cert_thumbprint: Some(cert.thumbprint()),
                    }),
                    None => {
                        state.metrics.denied("invalid_credentials");
                        Err(ApiError::unauthenticated(
                            "The client certificate does not name a white label.",
                        )
                        .into())
                    }
                };
            }
            if let Some(header) = forwarded {
                return match parse_xfcc(&header, &state.config.mtls_trust_domain) {
                    Some(cert) => Ok(Self {
                        wl_id: cert.wl_id,
                        method: AuthMethod::Mtls,
                        cert_thumbprint: Some(cert.thumbprint),
                    }),
                    None => {
                        state.metrics.denied("invalid_credentials");
                        Err(ApiError::unauthenticated(
                            "The client certificate does not name a white label.",
                        )
                        .into())
                    }
                };
            }
            state.metrics.denied("missing_credentials");
            Err(ApiError::unauthenticated(
                "Authentication required: a WL API key or client certificate.",
            )
            .into())
        })
    }
}

/// An operator holding `CP_ADMIN_TOKEN`.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequest for Admin {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let expected = req
            .app_data::<web::Data<AppState>>()
            .and_then(|s| s.config.cp_admin_token.clone())
            .filter(|t| !t.is_empty());
        let ok = expected.is_some_and(|e| bearer_matches(req, &e));
        std::future::ready(if ok {
            Ok(Self)
        } else {
            Err(ApiError::unauthenticated("Operator credential required.").into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "8f2f6a36c3b2a0f2b1e4f5d6c7b8a9012345678901234567890abcdefabcdef0";

    #[test]
    fn parses_spiffe_uri_and_hash() {
        let v = format!(
            "By=spiffe://tessera/ns/cp;Hash={HASH};Subject=\"CN=ignored,O=X\";URI=spiffe://tessera/wl/wl-a"
        );
        let c = parse_xfcc(&v, "tessera").unwrap();
        assert_eq!(c.wl_id, "wl-a");
        assert_eq!(c.thumbprint.len(), 43);
    }

    #[test]
    fn falls_back_to_the_subject_cn_and_takes_the_last_element() {
        let v = format!(
            "Hash={HASH};URI=spiffe://tessera/wl/first,Hash={HASH};Subject=\"CN=wl-b,OU=trading,O=Tessera\""
        );
        assert_eq!(parse_xfcc(&v, "tessera").unwrap().wl_id, "wl-b");
    }

    #[test]
    fn refuses_other_trust_domains_missing_hash_and_bad_ids() {
        let other = format!("Hash={HASH};URI=spiffe://evil/wl/wl-a");
        assert!(parse_xfcc(&other, "tessera").is_none());
        assert!(parse_xfcc("URI=spiffe://tessera/wl/wl-a", "tessera").is_none());
        let bad = format!("Hash={HASH};Subject=\"CN=Not A Wl\"");
        assert!(parse_xfcc(&bad, "tessera").is_none());
    }
}
