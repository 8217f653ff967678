#![doc = include_str!("../README.md")]

pub mod keys;
pub mod provider;
pub mod verify;

pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use keys::{KeyError, KeySet, SigningKey, rotate_dir};
pub use verify::{RemoteJwks, Verifier, VerifierConfig, VerifyError};
