//! The raw Argon2id rate the login benchmark is compared with (`make bench`).
//!
//! Computes Argon2id with OWASP parameters (m=19456 KiB, t=2, p=1, or the `ARGON2_*`
//! variables) in a loop for `HASH_RATE_SECONDS` (default 10) each: through the library's
//! `verify_password` (allocates its memory per call), then with
//! `hash_password_into_with_memory` reusing one memory area per thread (the fastest the
//! library goes, and what the service does); first on one thread, then on one thread per CPU.
//! Prints one JSON line: `{"m_kib","t","p","cores","verify_single_per_s","single_per_s","all_cores_per_s"}`,
//! where `single_per_s`/`all_cores_per_s` are the reused-memory rates (the reference).

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Block, Params, Version};

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run_reused(argon: &Argon2<'_>, blocks: usize, for_how_long: Duration) -> f64 {
    let mut memory = vec![Block::default(); blocks];
    let mut out = [0u8; 32];
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < for_how_long {
        let _ = argon.hash_password_into_with_memory(
            b"correct horse battery staple",
            b"sixteen byte salt",
            &mut out,
            &mut memory,
        );
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
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
    let seconds = std::env::var("HASH_RATE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let params = Params::new(m, t, p, None)?;
    let blocks = params.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let hash = argon
        .hash_password(b"correct horse battery staple")
        .map_err(|e| e.to_string())?
        .to_string();
    let window = Duration::from_secs(seconds);
    let verify_single = run(&argon, &hash, window);
    let single = run_reused(&argon, blocks, window);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let all: f64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|_| s.spawn(|| run_reused(&argon, blocks, window)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).sum()
    });
    println!(
        "{{\"m_kib\":{m},\"t\":{t},\"p\":{p},\"cores\":{cores},\"verify_single_per_s\":{verify_single:.2},\"single_per_s\":{single:.2},\"all_cores_per_s\":{all:.2}}}"
    );
    Ok(())
}
