#![doc = include_str!("../README.md")]

#[cfg(feature = "cli")]
pub mod cli;
pub mod keys;
pub mod provider;
pub mod settings;
pub mod store;
pub mod verify;

pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use keys::{KeyError, KeySet, SigningKey, rotate_dir};
pub use settings::KeySettings;
pub use store::KeyStore;
pub use verify::{RemoteJwks, Verifier, VerifierConfig, VerifyError};
