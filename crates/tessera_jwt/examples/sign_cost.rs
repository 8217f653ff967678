//! Measures the cost of signing one peer-token-sized ES256 JWT (`cargo run --release --example sign_cost`).
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use tessera_jwt::{Algorithm, KeySet, SigningKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (key, pem) = SigningKey::generate(Algorithm::ES256)?;
    let set = KeySet::new(vec![key], Duration::ZERO, Duration::from_secs(900));
    let claims = serde_json::json!({"iss": "http://localhost:8081", "sub": "wl-b", "aud": "wl-b", "wlId": "wl-a",
        "client_id": "wl-a", "scopes": ["offers:sync"], "scope": "offers:sync", "iat": 1, "nbf": 1, "exp": 2,
        "jti": "e4ef9a7e-6600-433b-ab30-c61edabff6a6"});
    #[expect(clippy::disallowed_methods, reason = "a benchmark's entry point")]
    let now = chrono::Utc::now();
    let n = 5000u32;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(set.sign("at+jwt", &claims, now)?);
    }
    println!(
        "KeySet::sign (jsonwebtoken::encode): {:?}/token",
        t.elapsed() / n
    );
    let der = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        pem.0
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>(),
    )?;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map_err(|e| e.to_string())?,
        );
    }
    println!("EcdsaKeyPair::from_pkcs8: {:?}/call", t.elapsed() / n);
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
        .map_err(|e| e.to_string())?;
    let rng = SystemRandom::new();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            kp.sign(
                &rng,
                b"0123456789012345678901234567890123456789012345678901234567890123456789",
            )
            .map_err(|e| e.to_string())?,
        );
    }
    println!("EcdsaKeyPair::sign: {:?}/call", t.elapsed() / n);
    Ok(())
}
