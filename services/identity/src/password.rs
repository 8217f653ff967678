//! Argon2id password hashing (RFC 9106) with OWASP's parameters, off the async executor.
//!
//! Hashing is CPU- and memory-bound (19 MiB, ~tens of ms per hash), so it runs on tokio's
//! blocking pool, never on an HTTP worker: health checks and other requests stay fast while
//! logins saturate the CPU. A semaphore bounds the hashes in flight (`ARGON2_MAX_CONCURRENT`,
//! default the CPU count), so a login flood queues instead of allocating memory without bound.
//!
//! Verifying against an unknown account runs the same computation against a dummy hash made
//! at start-up with the configured parameters, so the response time does not reveal whether
//! an e-mail exists.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::config::Config;

/// Errors of the hasher.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Invalid Argon2 parameters or a malformed stored hash.
    #[error("argon2: {0}")]
    Argon2(String),
    /// The blocking task did not complete (runtime shutting down).
    #[error("hashing task failed")]
    Task,
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    argon: Arc<Argon2<'static>>,
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// The Argon2id parameters `ARGON2_*` name (memory in KiB, iterations, lanes; 32-byte output).
    ///
    /// # Errors
    /// [`HashError::Argon2`] when they are out of Argon2's range.
    pub fn params(cfg: &Config) -> Result<Params, HashError> {
        Params::new(
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
            cfg.argon2_parallelism,
            None,
        )
        .map_err(|e| HashError::Argon2(e.to_string()))
    }

    /// A hasher with the configured parameters; computes the dummy hash (one hash of work).
    ///
    /// # Errors
    /// Invalid parameters.
    pub fn new(cfg: &Config) -> Result<Self, HashError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Self::params(cfg)?);
        let dummy = argon
            .hash_password(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| HashError::Argon2(e.to_string()))?
            .to_string();
        let concurrent = cfg
            .argon2_max_concurrent
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1);
        Ok(Self {
            argon: Arc::new(argon),
            permits: Arc::new(Semaphore::new(concurrent)),
            dummy: dummy.into(),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Task)?;
        let argon = Arc::clone(&self.argon);
        tokio::task::spawn_blocking(move || work(&argon))
            .await
            .map_err(|_| HashError::Task)
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh random salt.
    ///
    /// # Errors
    /// Argon2 refused, or the task failed.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        self.blocking(move |argon| {
            argon
                .hash_password(password.expose_secret().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Argon2(e.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `stored` (a PHC string; its own parameters are used). With
    /// `None` (no such account) the dummy hash is verified instead and the answer is `false`.
    ///
    /// # Errors
    /// Only when the task fails; a malformed stored hash is a mismatch (logged).
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy.to_string());
        let matched = self
            .blocking(move |argon| {
                argon.verify_password(password.expose_secret().as_bytes(), hash.as_str())
            })
            .await?;
        match matched {
            Ok(()) => Ok(real),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => {
                if real {
                    tracing::error!(error = %e, "stored password hash is malformed");
                }
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::for_tests("postgres://unused", "amqp://unused")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_verify_and_differ_by_salt() {
        let h = Hasher::new(&config()).unwrap();
        let a = h.hash(SecretString::from("correct horse")).await.unwrap();
        let b = h.hash(SecretString::from("correct horse")).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(
            h.verify(SecretString::from("correct horse"), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify(SecretString::from("wrong"), Some(a))
                .await
                .unwrap()
        );
        // The dummy never matches, whatever the password.
        assert!(
            !h.verify(SecretString::from("correct horse"), None)
                .await
                .unwrap()
        );
        assert!(
            !h.verify(SecretString::from("x"), Some("not a hash".into()))
                .await
                .unwrap()
        );
    }

    #[test]
    fn default_parameters_are_owasps() {
        let mut cfg = config();
        cfg.argon2_memory_kib = 19 * 1024;
        cfg.argon2_iterations = 2;
        let p = Hasher::params(&cfg).unwrap();
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19456, 2, 1));
        cfg.argon2_memory_kib = 1;
        assert!(Hasher::params(&cfg).is_err());
    }
}
