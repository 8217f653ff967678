//! A key directory and the key set it holds: PKCS#8 PEM keys with an optional `keys.json`
//! schedule (`valid_from`), loaded, reloaded and rotated (publish first, sign later).

use super::*;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// A set of keys with the rotation rules of the module docs.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub(super) keys: Vec<SigningKey>,
    pub(super) publish_lead: Duration,
    pub(super) max_token_ttl: Duration,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub(super) keys: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ManifestEntry {
    pub(super) file: String,
    pub(super) activates_at: DateTime<Utc>,
    #[serde(default)]
    pub(super) retires_at: Option<DateTime<Utc>>,
}

/// The schedule file inside a key directory.
pub const MANIFEST_FILE: &str = "keys.json";

pub(super) fn chrono_dur(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

impl KeySet {
    /// A set of `keys`; `publish_lead` = how long before activation a key is in the JWKS;
    /// `max_token_ttl` = longest lifetime of a token it signs (retired keys stay that long).
    pub fn new(keys: Vec<SigningKey>, publish_lead: Duration, max_token_ttl: Duration) -> Self {
        crate::provider::install();
        Self {
            keys,
            publish_lead,
            max_token_ttl,
        }
    }

    /// All keys, in load order.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The key that signs at `now`: the newest `activates_at` among keys active at `now`
    /// (later in the set wins a tie).
    ///
    /// # Errors
    /// [`KeyError::NoActiveKey`].
    pub fn signing_key(&self, now: DateTime<Utc>) -> Result<&SigningKey, KeyError> {
        self.keys
            .iter()
            .filter(|k| k.signs_at(now))
            .max_by_key(|k| k.activates_at)
            .ok_or(KeyError::NoActiveKey)
    }

    /// The JWKS at `now`: every public key from `activates_at - publish_lead` until
    /// `retires_at + max_token_ttl` (RFC 7517 §5).
    pub fn jwks(&self, now: DateTime<Utc>) -> JwkSet {
        let lead = chrono_dur(self.publish_lead);
        let ttl = chrono_dur(self.max_token_ttl);
        let keys = self
            .keys
            .iter()
            .filter(|k| now >= k.activates_at - lead)
            .filter(|k| k.retires_at.is_none_or(|r| now < r + ttl))
            .filter_map(|k| k.public_jwk.clone())
            .collect();
        JwkSet { keys }
    }

    /// Signs `claims` with the current key; header `alg`, `kid` and `typ` (e.g. `at+jwt`, RFC 9068 §2.1).
    ///
    /// # Errors
    /// No active key, or serialisation failure.
    pub fn sign<C: Serialize>(
        &self,
        typ: &str,
        claims: &C,
        now: DateTime<Utc>,
    ) -> Result<String, KeyError> {
        let key = self.signing_key(now)?;
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.to_owned());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// Loads a key directory (module docs).
    ///
    /// # Errors
    /// I/O, a malformed manifest or PEM, or a directory with no key.
    pub fn load_dir(
        dir: &Path,
        publish_lead: Duration,
        max_token_ttl: Duration,
    ) -> Result<Self, KeyError> {
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest: Option<Manifest> = if manifest_path.exists() {
            Some(serde_json::from_slice(&std::fs::read(&manifest_path)?)?)
        } else {
            None
        };
        let mut files: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".pem"))
            .collect();
        files.sort();
        let mut keys = Vec::with_capacity(files.len());
        for file in files {
            let pem = std::fs::read(dir.join(&file))?;
            let key = SigningKey::from_pem(&pem, &file)?;
            let entry = manifest
                .as_ref()
                .and_then(|m| m.keys.iter().find(|e| e.file == file));
            keys.push(match entry {
                Some(e) => key.with_schedule(e.activates_at, e.retires_at),
                None => key,
            });
        }
        if keys.is_empty() {
            return Err(KeyError::Unsupported(format!(
                "no *.pem key in {}",
                dir.display()
            )));
        }
        Ok(Self::new(keys, publish_lead, max_token_ttl))
    }
}

/// Rotates a key directory: writes a new `alg` key activating at `now + publish_lead`,
/// schedules every unretired key to retire at that moment, and rewrites `keys.json`.
/// Returns the new key's `kid`. Services reload the directory and follow the schedule.
///
/// # Errors
/// I/O, manifest or generation failures.
pub fn rotate_dir(
    dir: &Path,
    alg: Algorithm,
    now: DateTime<Utc>,
    publish_lead: Duration,
) -> Result<String, KeyError> {
    std::fs::create_dir_all(dir)?;
    let manifest_path = dir.join(MANIFEST_FILE);
    let mut manifest: Manifest = if manifest_path.exists() {
        serde_json::from_slice(&std::fs::read(&manifest_path)?)?
    } else {
        Manifest::default()
    };
    let activates_at = now + chrono_dur(publish_lead);
    // Files without a manifest entry were active from the epoch.
    for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.ends_with(".pem") && !manifest.keys.iter().any(|e| e.file == name) {
            manifest.keys.push(ManifestEntry {
                file: name,
                activates_at: DateTime::<Utc>::UNIX_EPOCH,
                retires_at: None,
            });
        }
    }
    for e in &mut manifest.keys {
        if e.retires_at.is_none() {
            e.retires_at = Some(activates_at);
        }
    }
    let (key, pem) = SigningKey::generate(alg)?;
    let file = format!("{}.pem", activates_at.format("%Y%m%dT%H%M%SZ"));
    write_private(&dir.join(&file), pem.0.as_bytes())?;
    manifest.keys.push(ManifestEntry {
        file,
        activates_at,
        retires_at: None,
    });
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;
    Ok(key.kid)
}

/// Writes a private key readable by its owner only.
///
/// # Errors
/// I/O failures.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}
