#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! Argon2id password hashing (RFC 9106) with OWASP's parameters, off the async executor.
//!
//! Hashing is CPU- and memory-bound (19 MiB, ~20 ms per hash), so it never runs on an HTTP
//! worker: it runs on `ARGON2_MAX_CONCURRENT` dedicated hashing threads (default: the CPU
//! count), fed by a bounded queue. Health checks and other requests stay fast while logins
//! saturate the CPU, and a login flood queues instead of allocating memory without bound.
//!
//! Each hashing thread keeps one Argon2 memory area and reuses it for every verification
//! (`Argon2::hash_password_into_with_memory`): allocating 19 MiB per hash made the kernel
//! fault in and zero every page each time (measured under a login flood: ~4,900 page faults
//! and ~15 ms of system time per login, 40 % of the CPU). Dedicated long-lived threads rather
//! than tokio's `spawn_blocking` keep those areas few and warm; memory stays bounded by
//! `ARGON2_MAX_CONCURRENT` × `ARGON2_MEMORY_KIB`. The comparison with the stored hash is
//! constant-time (`phc::Output`'s equality).
//!
//! Verifying against an unknown account runs the same computation against a dummy hash made
//! at start-up with the configured parameters, so the response time does not reveal whether
//! an e-mail exists.

use std::sync::{Arc, Mutex};

use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use prometheus::IntCounter;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

/// Hashes waiting for a thread, per thread, before callers wait to enqueue.
const QUEUE_PER_THREAD: usize = 256;

type Job = Box<dyn FnOnce(&Argon2<'static>, &mut Vec<Block>) + Send>;

/// The Argon2id cost settings. A service reads them from the `ARGON2_*` variables
/// (`envy::prefixed("ARGON2_")`: `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS`, `ARGON2_PARALLELISM`,
/// `ARGON2_MAX_CONCURRENT`); an unset one takes OWASP's value. Serialised under the variables'
/// names (`argon2_memory_kib` …), so a service's configuration can flatten it for `config show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct HashSettings {
    /// `ARGON2_MEMORY_KIB`: memory cost in KiB (OWASP: 19456 = 19 MiB).
    #[serde(rename(serialize = "argon2_memory_kib"))]
    pub memory_kib: u32,
    /// `ARGON2_ITERATIONS`: time cost (OWASP: 2).
    #[serde(rename(serialize = "argon2_iterations"))]
    pub iterations: u32,
    /// `ARGON2_PARALLELISM`: lanes (OWASP: 1).
    #[serde(rename(serialize = "argon2_parallelism"))]
    pub parallelism: u32,
    /// `ARGON2_MAX_CONCURRENT`: hashing threads (default: the CPU count). Bounds the memory a
    /// login flood can take: each thread holds `memory_kib`.
    #[serde(rename(serialize = "argon2_max_concurrent"))]
    pub max_concurrent: Option<usize>,
}

impl Default for HashSettings {
    /// OWASP's Argon2id recommendation: m = 19 MiB, t = 2, p = 1; one thread per CPU.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: None,
        }
    }
}

impl HashSettings {
    /// Checks the costs are within Argon2's range.
    ///
    /// # Errors
    /// One line naming the variables (`ARGON2_MEMORY_KIB/ARGON2_ITERATIONS/ARGON2_PARALLELISM`).
    pub fn check(&self) -> Result<(), String> {
        Hasher::params(self).map(|_| ()).map_err(|e| {
            format!(
                "invalid environment variable ARGON2_MEMORY_KIB/ARGON2_ITERATIONS/ARGON2_PARALLELISM: {e}"
            )
        })
    }

    /// OWASP's cost on one hashing thread: for a test that needs a hash to take a while (about
    /// a second in a debug build) and requests to queue for the hasher.
    pub fn owasp_on_one_thread() -> Self {
        Self {
            max_concurrent: Some(1),
            ..Self::default()
        }
    }

    /// Cheap parameters for tests (1 MiB, t = 1, two threads); `make bench` measures the real ones.
    pub fn for_tests() -> Self {
        Self {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: Some(2),
        }
    }
}

/// Errors of the hasher.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Invalid Argon2 parameters or a malformed stored hash.
    #[error("argon2: {0}")]
    Argon2(String),
    /// The hashing threads are gone (shutting down) or a job panicked.
    #[error("hashing task failed")]
    Task,
    /// A hashing thread could not be started.
    #[error("starting a hashing thread: {0}")]
    Spawn(String),
}

/// Hashes and verifies passwords; cheap to clone.
///
/// The hashing threads end when the last clone is dropped.
#[derive(Clone)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
    threads: usize,
    dummy: Arc<str>,
    verifications: IntCounter,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    /// The Argon2id parameters of `cfg` (memory in KiB, iterations, lanes; 32-byte output).
    ///
    /// # Errors
    /// [`HashError::Argon2`] when they are out of Argon2's range.
    pub fn params(cfg: &HashSettings) -> Result<Params, HashError> {
        Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
            .map_err(|e| HashError::Argon2(e.to_string()))
    }

    /// A hasher with the configured parameters: starts the hashing threads and computes the
    /// dummy hash (one hash of work).
    ///
    /// # Errors
    /// Invalid parameters, or a thread that cannot be started.
    pub fn new(cfg: &HashSettings) -> Result<Self, HashError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Self::params(cfg)?);
        let dummy = argon
            .hash_password(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| HashError::Argon2(e.to_string()))?
            .to_string();
        let threads = cfg
            .max_concurrent
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1);
        let (tx, rx) = mpsc::channel::<Job>(threads * QUEUE_PER_THREAD);
        let rx = Arc::new(Mutex::new(rx));
        let argon = Arc::new(argon);
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let argon = Arc::clone(&argon);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        // Hold the lock only to take one job.
                        let job = match rx.lock() {
                            Ok(mut r) => r.blocking_recv(),
                            Err(_) => None,
                        };
                        let Some(job) = job else { break };
                        job(&argon, &mut memory);
                    }
                })
                .map_err(|e| HashError::Spawn(e.to_string()))?;
        }
        let verifications = IntCounter::new(
            "password_verifications_total",
            "Argon2id verifications computed, including those against the dummy hash for unknown e-mails.",
        )
        .map_err(|e| HashError::Argon2(e.to_string()))?;
        Ok(Self {
            jobs: tx,
            threads,
            dummy: dummy.into(),
            verifications,
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>, &mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |argon, memory| {
            let _ = done.send(work(argon, memory));
        });
        self.jobs.send(job).await.map_err(|_| HashError::Task)?;
        result.await.map_err(|_| HashError::Task)
    }

    /// The `password_verifications_total` counter, for registering on `/metrics`: every
    /// verification counts once, whether against a stored or the dummy hash (so it shows that an
    /// unknown e-mail costs a real hash).
    pub fn verifications(&self) -> IntCounter {
        self.verifications.clone()
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh random 16-byte salt,
    /// computed in the hashing thread's reused memory area (like [`Hasher::verify`]).
    ///
    /// # Errors
    /// Argon2 refused, or the task failed.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        self.blocking(move |argon, memory| {
            hash_in(argon, memory, password.expose_secret().as_bytes())
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
        self.verifications.inc();
        let matched = self
            .blocking(move |_, memory| {
                verify_in(memory, password.expose_secret().as_bytes(), &hash)
            })
            .await?;
        match matched {
            Ok(true) => Ok(real),
            Ok(false) => Ok(false),
            Err(e) => {
                if real {
                    tracing::error!(error = %e, "stored password hash is malformed");
                }
                Ok(false)
            }
        }
    }
}

/// The first `params.block_count()` blocks of `memory`, grown once to that size, then reused.
fn area<'m>(
    memory: &'m mut Vec<Block>,
    params: &Params,
) -> Result<&'m mut [Block], argon2::password_hash::Error> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    memory
        .get_mut(..blocks)
        .ok_or(argon2::password_hash::Error::OutputSize)
}

/// Hashes `password` with `argon`'s parameters and a fresh salt, computing in `memory`.
fn hash_in(
    argon: &Argon2<'static>,
    memory: &mut Vec<Block>,
    password: &[u8],
) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::phc::{Output, ParamsString, Salt};
    let params = argon.params().clone();
    let salt = Salt::generate();
    let area = area(memory, &params)?;
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    argon.hash_password_into_with_memory(password, &salt, &mut out, area)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Verifies `password` against the PHC string `stored` (its own algorithm, version, parameters
/// and salt), computing in `memory` (grown once to the parameters' block count, then reused).
fn verify_in(
    memory: &mut Vec<Block>,
    password: &[u8],
    stored: &str,
) -> Result<bool, argon2::password_hash::Error> {
    let parsed = PasswordHash::new(stored)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str())?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let area = area(memory, &params)?;
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, area)?;
    let computed = argon2::password_hash::phc::Output::new(&out)?;
    // `Output`'s equality is constant-time.
    Ok(&computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HashSettings {
        HashSettings::for_tests()
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
        let mut cfg = HashSettings::default();
        let p = Hasher::params(&cfg).unwrap();
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19456, 2, 1));
        cfg.memory_kib = 1;
        assert!(Hasher::params(&cfg).is_err());
    }
}
