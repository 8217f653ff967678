//! TLS termination by the service itself, with optional client certificates (mTLS).
//!
//! With `TLS_CERT_FILE` and `TLS_KEY_FILE` the service serves HTTPS (rustls, aws-lc-rs). With
//! `TLS_CLIENT_CA_FILE` as well it asks for a client certificate and verifies it against that CA
//! (a certificate is optional at the TLS layer, so API-key callers still connect; the endpoint
//! decides). A verified certificate names its WL through a URI SAN
//! `spiffe://<MTLS_TRUST_DOMAIN>/wl/<id>`, else its subject CN (seed 000 T1, RFC 8705).

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Extensions;
use anyhow::Context;
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::extensions::GeneralName;

use crate::domain::WlId;

/// The DER of the client certificate rustls verified on this connection.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Vec<u8>);

impl PeerCertificate {
    /// `x5t#S256`: base64url SHA-256 of the DER (RFC 8705 §3.1).
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &self.0))
    }

    /// The WL the certificate names, if any (module docs).
    pub fn wl_id(&self, trust_domain: &str) -> Option<String> {
        let (_, cert) = x509_parser::parse_x509_certificate(&self.0).ok()?;
        let prefix = format!("spiffe://{trust_domain}/wl/");
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::URI(uri) = name
                    && let Some(id) = uri.strip_prefix(&prefix)
                    && WlId::is_valid(id)
                {
                    return Some(id.to_owned());
                }
            }
        }
        let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
        WlId::is_valid(cn).then(|| cn.to_owned())
    }
}

fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", path.display()))
}

/// The rustls server configuration for the given files.
///
/// # Errors
/// Unreadable or invalid PEM files, or a CA file without certificates.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
    client_ca: Option<&Path>,
) -> anyhow::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain = certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("reading {}", key_file.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca)? {
                roots.add(cert)?;
            }
            anyhow::ensure!(!roots.is_empty(), "TLS_CLIENT_CA_FILE holds no certificate");
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `HttpServer::on_connect` hook: keeps the verified client certificate with the connection.
pub fn on_connect(connection: &dyn Any, extensions: &mut Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    if let Some(tls) = connection.downcast_ref::<Tls>() {
        let (_, session) = tls.get_ref();
        if let Some(cert) = session.peer_certificates().and_then(<[_]>::first) {
            extensions.insert(PeerCertificate(cert.to_vec()));
        }
    }
}
