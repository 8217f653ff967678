//! The raw Argon2id rate the login benchmark is compared with (`make bench`).
//!
//! Verifies one password against an OWASP-parameter hash (m=19456 KiB, t=2, p=1, or the
//! `ARGON2_*` variables) in a loop for `SECONDS` (default 10): first on one thread, then on
//! one thread per CPU. Prints one JSON line: `{"m_kib","t","p","cores","single_per_s","all_cores_per_s"}`.

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(argon: &Argon2<'_>, hash: &str, for_how_long: Duration) -> f64 {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < for_how_long {
        let _ = argon.verify_password(b"correct horse battery staple", hash);
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (m, t, p) = (
        env_u32("ARGON2_MEMORY_KIB", 19 * 1024),
        env_u32("ARGON2_ITERATIONS", 2),
        env_u32("ARGON2_PARALLELISM", 1),
    );
    let seconds = std::env::var("SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(m, t, p, None)?,
    );
    let hash = argon
        .hash_password(b"correct horse battery staple")
        .map_err(|e| e.to_string())?
        .to_string();
    let window = Duration::from_secs(seconds);
    let single = run(&argon, &hash, window);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let all: f64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| s.spawn(|| run(&argon, &hash, window)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).sum()
    });
    println!(
        "{{\"m_kib\":{m},\"t\":{t},\"p\":{p},\"cores\":{cores},\"single_per_s\":{single:.2},\"all_cores_per_s\":{all:.2}}}"
    );
    Ok(())
}
