//! A jsonwebtoken `CryptoProvider` that keeps parsed ES256 key pairs.
//!
//! jsonwebtoken's aws-lc-rs provider parses the PKCS#8 key on every `encode` (about 19 µs of
//! a 46 µs ES256 signature here, measured by `examples/sign_cost.rs`). This provider is the
//! stock one (`jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER`) with one change, through
//! jsonwebtoken's documented extension point: ES256 signers come from a cache of parsed
//! `EcdsaKeyPair`s keyed by the key's DER. JWS assembly and verification stay jsonwebtoken's;
//! the signature itself is aws-lc-rs's.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, EncodingKey};

/// Most parsed keys kept (a key set holds a handful; rotation adds one at a time).
const MAX_CACHED: usize = 64;

type Cache = RwLock<HashMap<Vec<u8>, Arc<EcdsaKeyPair>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| RwLock::new(HashMap::new()))
}

struct CachedEs256(Arc<EcdsaKeyPair>);

impl jsonwebtoken::signature::Signer<Vec<u8>> for CachedEs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, jsonwebtoken::signature::Error> {
        let signature = self
            .0
            .sign(&SystemRandom::new(), msg)
            .map_err(jsonwebtoken::signature::Error::from_source)?;
        Ok(signature.as_ref().to_vec())
    }
}

impl JwtSigner for CachedEs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

fn es256_pair(der: &[u8]) -> Result<Arc<EcdsaKeyPair>, Error> {
    if let Ok(guard) = cache().read()
        && let Some(pair) = guard.get(der)
    {
        return Ok(Arc::clone(pair));
    }
    let pair = Arc::new(
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| Error::from(ErrorKind::InvalidEcdsaKey))?,
    );
    if let Ok(mut guard) = cache().write() {
        if guard.len() >= MAX_CACHED {
            guard.clear();
        }
        guard.insert(der.to_vec(), Arc::clone(&pair));
    }
    Ok(pair)
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match algorithm {
        Algorithm::ES256 if key.family() == jsonwebtoken::AlgorithmFamily::Ec => {
            Ok(Box::new(CachedEs256(es256_pair(key.as_bytes())?)))
        }
        other => (jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.signer_factory)(other, key),
    }
}

/// Installs the caching provider process-wide, once. If jsonwebtoken already chose its
/// default (some code signed or verified first), that one stays: correct, only slower.
pub fn install() {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let provider = PROVIDER.get_or_init(|| CryptoProvider {
            signer_factory: signer,
            ..jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.clone()
        });
        let _ = provider.install_default();
    });
}
