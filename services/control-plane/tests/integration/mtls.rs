//! The service terminating TLS itself and authenticating WLs by client certificate (mTLS).

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use serde_json::json;
use tessera_control_plane::config::Config;
use tessera_control_plane::startup::build;

use crate::helpers::{TestApp, segment};

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    ca: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Tessera test CA");
        let key = KeyPair::generate().unwrap();
        let ca_pem = params.self_signed(&key).unwrap().pem();
        Self {
            dir: tempfile::tempdir().unwrap(),
            ca_pem,
            ca: Issuer::new(params, key),
        }
    }

    /// A certificate signed by this CA: `(cert PEM, key PEM, cert DER)`.
    fn issue(&self, cn: &str, sans: Vec<SanType>) -> (String, String, Vec<u8>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.subject_alt_names = sans;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }

    fn write(&self, name: &str, content: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_certificate_authenticates_the_wl_and_binds_the_token() {
    let pki = Pki::new();
    let (server_cert, server_key, _) = pki.issue(
        "localhost",
        vec![SanType::DnsName("localhost".try_into().unwrap())],
    );
    let spiffe = "spiffe://tessera/wl/wl-a".to_owned();
    let (client_cert, client_key, client_der) =
        pki.issue("ignored", vec![SanType::URI(spiffe.try_into().unwrap())]);
    let (other_cert, other_key, _) = pki.issue("wl-b", vec![]);

    // Seed over plain HTTP, then serve the same database over HTTPS with client CAs.
    let seeding = TestApp::spawn().await;
    seeding.seed().await;
    let mut config =
        Config::for_tests(seeding._db.url(), &tessera_events::testing::amqp_url()).unwrap();
    config.tls_cert_file = Some(pki.write("server.pem", &server_cert));
    config.tls_key_file = Some(pki.write("server.key", &server_key));
    config.tls_client_ca_file = Some(pki.write("ca.pem", &pki.ca_pem));
    let app = build(config).await.unwrap();
    let base = format!("https://localhost:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
    let client = |identity: Option<(&str, &str)>| {
        let mut b = reqwest::Client::builder().tls_certs_only([ca.clone()]);
        if let Some((cert, key)) = identity {
            b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
        }
        b.build().unwrap()
    };
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});

    let r = client(Some((&client_cert, &client_key)))
        .post(format!("{base}/wls/wl-a/peer-token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    let claims = segment(v["accessToken"].as_str().unwrap(), 1);
    use aws_lc_rs::digest;
    use base64::Engine;
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(digest::digest(&digest::SHA256, &client_der));
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        expected.as_str(),
        "bound to the certificate (RFC 8705)"
    );
    assert_eq!(claims["wlId"], "wl-a");

    // A certificate naming wl-b (by CN) is wl-b: not the importer.
    let r = client(Some((&other_cert, &other_key)))
        .post(format!("{base}/wls/wl-a/peer-token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["reason"], "caller_not_importer");

    // No certificate and no key: 401 (TLS itself lets the connection in).
    let r = client(None)
        .post(format!("{base}/wls/wl-a/peer-token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A certificate from another CA is refused by the TLS handshake.
    let stranger = Pki::new();
    let (s_cert, s_key, _) = stranger.issue("wl-a", vec![]);
    let refused = client(Some((&s_cert, &s_key)))
        .post(format!("{base}/wls/wl-a/peer-token"))
        .json(&body)
        .send()
        .await;
    assert!(
        refused.is_err() || refused.is_ok_and(|r| r.status() == 401),
        "an unknown CA never authenticates"
    );
}

/// A gateway that terminates mTLS forwards the verified certificate as XFCC `Cert="<URL-encoded
/// PEM>"` (nginx's `$ssl_client_escaped_cert`); with `CP_TRUST_FORWARDED_CLIENT_CERT=true` and
/// the gateway secret, the WL and the binding come from that certificate itself.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_forwarded_as_pem_by_an_mtls_gateway_binds_the_token() {
    let pki = Pki::new();
    let spiffe = "spiffe://tessera/wl/wl-a".to_owned();
    let (client_cert, _, client_der) =
        pki.issue("ignored", vec![SanType::URI(spiffe.try_into().unwrap())]);
    let app = TestApp::spawn_with(|c| {
        c.base.gateway_secret = Some("gw-secret".into());
        c.cp_trust_forwarded_client_cert = true;
    })
    .await;
    app.seed().await;
    let escaped =
        percent_encoding::utf8_percent_encode(&client_cert, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let body = json!({"targetWlId": "wl-b", "scopes": ["offers:sync"]});
    let call = |xfcc: String| {
        let (app, body) = (&app, body.clone());
        async move {
            app.call(
                reqwest::Method::POST,
                "/wls/wl-a/peer-token",
                None,
                Some(body),
                &[
                    ("x-gateway-secret", "gw-secret"),
                    ("x-forwarded-client-cert", &xfcc),
                ],
            )
            .await
        }
    };
    let r = call(format!("Cert=\"{escaped}\"")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    use aws_lc_rs::digest;
    use base64::Engine;
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(digest::digest(&digest::SHA256, &client_der));
    let claims = segment(r.body["accessToken"].as_str().unwrap(), 1);
    assert_eq!(claims["cnf"]["x5t#S256"], expected.as_str());
    assert_eq!(claims["wlId"], "wl-a");
    // A Hash beside it that is not the certificate's: refused.
    let wrong = "00".repeat(32);
    let r = call(format!("Hash={wrong};Cert=\"{escaped}\"")).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Garbage in Cert: refused, never a fallback to the other fields.
    let r = call("Cert=\"not-a-pem\";URI=spiffe://tessera/wl/wl-a".to_owned()).await;
    assert_eq!(r.status, 401, "{}", r.body);
}
