//! Failed sign-in attempts counted in PostgreSQL, so a limit holds across replicas (issue #17).
//!
//! One row per key in `login_attempts` ([`MIGRATIONS`]): a key is whatever a service counts
//! failures of — an account (`account:<e-mail>`, also for e-mails that do not exist, so the
//! answer never tells them apart) or a client address (`addr:<ip>`, from
//! `tessera_http::client_addr`). [`record_failure`] counts one failure with a single upsert:
//! the `max_failures`-th failure within `window` locks the key for `lockout` and restarts the
//! count. [`locked`] tells whether any of a request's keys is locked and for how long (the
//! `Retry-After` of a 429); [`clear`] forgets a key after a success.
//!
//! Used by users-registration's `POST /auth/login` (account and address) and identity's
//! `POST /tenants/{slug}/login` (address; identity's per-agent lockout lives on the agent row).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Integer, Interval, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The `login_attempts` table; a service that uses this module runs these with its own.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/attempts");

/// How many failures lock a key, counted over what window, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures within `window` that lock the key (at least 1).
    pub max_failures: u32,
    /// The counting window; a failure after it starts a new count.
    pub window: Duration,
    /// How long the key stays locked.
    pub lockout: Duration,
}

impl Policy {
    /// `max_failures` within `lockout` lock the key for `lockout` (the rule both logins use).
    pub fn lockout_after(max_failures: u32, lockout: Duration) -> Self {
        Self {
            max_failures,
            window: lockout,
            lockout,
        }
    }
}

/// The lockout variables both logins read (identity's and users-registration's), as
/// `AUTH_MAX_FAILED_ATTEMPTS`, `AUTH_LOCKOUT_SECONDS` and `AUTH_ADDRESS_MAX_FAILED_ATTEMPTS`:
/// the field names upper-cased, read by `tessera_http::config::from_env` and flattened into the
/// service's `Config` (shown by `config show` under the same names). An unset variable takes its
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct LockoutSettings {
    /// `AUTH_MAX_FAILED_ATTEMPTS`: wrong passwords for one account within
    /// `AUTH_LOCKOUT_SECONDS` that lock it for `AUTH_LOCKOUT_SECONDS` (default 5, at least 1).
    /// Identity counts them on the agent row, and wrong second-factor codes separately with the
    /// same numbers; users-registration counts them per e-mail, known or not.
    pub auth_max_failed_attempts: u32,
    /// `AUTH_LOCKOUT_SECONDS`: how long a lock lasts, and the window failures are counted in
    /// (seconds; default 900).
    pub auth_lockout_seconds: u64,
    /// `AUTH_ADDRESS_MAX_FAILED_ATTEMPTS`: wrong passwords from one client address (any
    /// account, any e-mail) within `AUTH_LOCKOUT_SECONDS` that make that address wait
    /// `AUTH_LOCKOUT_SECONDS`: a 429 with `Retry-After` (default 20, at least 1; issue #17).
    pub auth_address_max_failed_attempts: u32,
}

impl Default for LockoutSettings {
    /// 5 failures per account, 20 per client address, locked for 900 s.
    fn default() -> Self {
        Self {
            auth_max_failed_attempts: 5,
            auth_lockout_seconds: 900,
            auth_address_max_failed_attempts: 20,
        }
    }
}

impl LockoutSettings {
    /// How long a lock lasts (`AUTH_LOCKOUT_SECONDS`).
    pub fn lockout(&self) -> Duration {
        Duration::from_secs(self.auth_lockout_seconds)
    }

    /// The rule for an account key: `AUTH_MAX_FAILED_ATTEMPTS` within the lockout.
    pub fn account_policy(&self) -> Policy {
        Policy::lockout_after(self.auth_max_failed_attempts, self.lockout())
    }

    /// The rule for a client-address key: `AUTH_ADDRESS_MAX_FAILED_ATTEMPTS` within the lockout.
    pub fn address_policy(&self) -> Policy {
        Policy::lockout_after(self.auth_address_max_failed_attempts, self.lockout())
    }

    /// Checks the counts: a limit of 0 would lock every key at its first failure.
    ///
    /// # Errors
    /// One line naming the offending variable.
    pub fn check(&self) -> Result<(), String> {
        if self.auth_max_failed_attempts == 0 {
            return Err(
                "invalid environment variable AUTH_MAX_FAILED_ATTEMPTS: must be > 0".into(),
            );
        }
        if self.auth_address_max_failed_attempts == 0 {
            return Err(
                "invalid environment variable AUTH_ADDRESS_MAX_FAILED_ATTEMPTS: must be > 0".into(),
            );
        }
        Ok(())
    }
}

#[derive(QueryableByName)]
struct LockedUntil {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    locked_until: Option<DateTime<Utc>>,
}

fn interval(d: Duration) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
    )
}

/// Seconds from `now` until `until`, at least 1 (a `Retry-After`).
fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (until - now).num_milliseconds().max(0);
    u64::try_from((ms + 999) / 1000).unwrap_or(u64::MAX).max(1)
}

/// The longest lock among `keys` at `now`, as seconds to wait (`None`: none is locked).
///
/// # Errors
/// Database errors.
pub async fn locked(
    conn: &mut AsyncPgConnection,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<Option<u64>, diesel::result::Error> {
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    let rows: Vec<LockedUntil> = crate::prepared(
        diesel::sql_query(
            "SELECT max(locked_until) AS locked_until FROM login_attempts \
         WHERE key = ANY($1) AND locked_until > $2",
        )
        .bind::<Array<Text>, _>(keys)
        .bind::<Timestamptz, _>(now),
    )
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .find_map(|r| r.locked_until)
        .map(|until| seconds_until(until, now)))
}

/// Counts one failure of `key` at `now` under `policy`; returns the seconds the key is now
/// locked for, when this failure locked it (or it already was).
///
/// # Errors
/// Database errors.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    key: &str,
    policy: Policy,
    now: DateTime<Utc>,
) -> Result<Option<u64>, diesel::result::Error> {
    let max = i32::try_from(policy.max_failures.max(1)).unwrap_or(i32::MAX);
    // One statement: concurrent failures of one key on several replicas all count.
    let row: LockedUntil = diesel::sql_query(
        "INSERT INTO login_attempts AS a (key, failures, window_start, locked_until) \
         VALUES ($1, CASE WHEN $3 <= 1 THEN 0 ELSE 1 END, $2, \
                 CASE WHEN $3 <= 1 THEN $2 + $5 END) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE \
             WHEN a.locked_until > $2 THEN a.failures \
             WHEN a.window_start <= $2 - $4 THEN CASE WHEN $3 <= 1 THEN 0 ELSE 1 END \
             WHEN a.failures + 1 >= $3 THEN 0 \
             ELSE a.failures + 1 END, \
           window_start = CASE \
             WHEN a.locked_until > $2 THEN a.window_start \
             WHEN a.window_start <= $2 - $4 OR a.failures + 1 >= $3 THEN $2 \
             ELSE a.window_start END, \
           locked_until = CASE \
             WHEN a.locked_until > $2 THEN a.locked_until \
             WHEN a.window_start <= $2 - $4 THEN CASE WHEN $3 <= 1 THEN $2 + $5 END \
             WHEN a.failures + 1 >= $3 THEN $2 + $5 \
             ELSE NULL END \
         RETURNING a.locked_until",
    )
    .bind::<Text, _>(key)
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(max)
    .bind::<Interval, _>(interval(policy.window))
    .bind::<Interval, _>(interval(policy.lockout))
    .get_result(conn)
    .await?;
    Ok(row
        .locked_until
        .filter(|u| *u > now)
        .map(|u| seconds_until(u, now)))
}

/// Forgets `key` (a success clears an account's failures).
///
/// # Errors
/// Database errors.
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> Result<(), diesel::result::Error> {
    diesel::sql_query("DELETE FROM login_attempts WHERE key = $1")
        .bind::<Text, _>(key)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes, every hour, the rows whose window started more than a day ago and that are not
/// locked (housekeeping: the table otherwise keeps one row per account and address that ever
/// failed). Each service using this module runs it once, from its `startup::build`.
pub fn spawn_purge(pool: crate::DbPool) {
    let older_than = TimeDelta::days(1);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let Ok(mut conn) = pool.get().await else {
                continue;
            };
            // A background task is an entry point: it reads the clock for each round.
            #[expect(clippy::disallowed_methods, reason = "tessera_db's one clock read")]
            let now = Utc::now();
            if let Err(e) = purge(&mut conn, older_than, now).await {
                tracing::warn!(error = %e, "login_attempts clean-up failed");
            }
        }
    });
}

/// Deletes rows whose window and lock are both over by `now` (a stale row would simply be
/// restarted by the next failure; this only bounds the table).
///
/// # Errors
/// Database errors.
pub async fn purge(
    conn: &mut AsyncPgConnection,
    older_than: TimeDelta,
    now: DateTime<Utc>,
) -> Result<usize, diesel::result::Error> {
    diesel::sql_query(
        "DELETE FROM login_attempts WHERE window_start < $1 \
         AND (locked_until IS NULL OR locked_until < $2)",
    )
    .bind::<Timestamptz, _>(now - older_than)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

/// The keys one sign-in attempt is counted under, each with its policy: the account (also an
/// unknown one) and the client address. Both services' logins use it the same way:
/// [`locked`](Self::locked) before checking the password (429 with `Retry-After` while either
/// key is locked, even for the right password), [`failed`](Self::failed) on a wrong one,
/// [`succeeded`](Self::succeeded) on success (clears the account; the address keeps its count,
/// so one's own good password cannot reset the budget for guessing others').
#[derive(Debug, Clone)]
pub struct SignIn {
    keys: Vec<(String, Policy)>,
    account: Option<String>,
    /// Whether [`locked`](Self::locked) saw a row for the account (so a success has one to clear).
    account_seen: bool,
}

impl SignIn {
    /// No keys yet.
    pub fn new() -> Self {
        Self {
            keys: Vec::new(),
            account: None,
            account_seen: false,
        }
    }

    /// Counts the account `id` (e.g. the normalised e-mail) under `policy`.
    #[must_use]
    pub fn account(mut self, id: &str, policy: Policy) -> Self {
        let key = format!("account:{id}");
        self.account = Some(key.clone());
        self.keys.push((key, policy));
        self
    }

    /// Counts the client address `addr` under `policy` (nothing when the address is unknown,
    /// as for a request without a peer address).
    #[must_use]
    pub fn address(mut self, addr: Option<std::net::IpAddr>, policy: Policy) -> Self {
        if let Some(addr) = addr {
            self.keys.push((format!("addr:{addr}"), policy));
        }
        self
    }

    /// Seconds to wait when any key is locked at `now`; one query, which also notes whether the
    /// account has failures a success must clear.
    ///
    /// # Errors
    /// Database errors.
    pub async fn locked(
        &mut self,
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, diesel::result::Error> {
        #[derive(QueryableByName)]
        struct Gate {
            #[diesel(sql_type = Nullable<Timestamptz>)]
            locked_until: Option<DateTime<Utc>>,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            account_seen: bool,
        }
        let keys: Vec<String> = self.keys.iter().map(|(k, _)| k.clone()).collect();
        let gate: Gate = crate::prepared(
            diesel::sql_query(
                "SELECT max(locked_until) FILTER (WHERE locked_until > $2) AS locked_until, \
                    coalesce(bool_or(key = $3), false) AS account_seen \
             FROM login_attempts WHERE key = ANY($1)",
            )
            .bind::<Array<Text>, _>(keys)
            .bind::<Timestamptz, _>(now)
            .bind::<Text, _>(self.account.clone().unwrap_or_default()),
        )
        .get_result(conn)
        .await?;
        self.account_seen = gate.account_seen;
        Ok(gate.locked_until.map(|until| seconds_until(until, now)))
    }

    /// Counts a failure under every key; the seconds to wait when that locked any of them.
    ///
    /// # Errors
    /// Database errors.
    pub async fn failed(
        &self,
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, diesel::result::Error> {
        let mut wait = None;
        for (key, policy) in &self.keys {
            if let Some(s) = record_failure(conn, key, *policy, now).await? {
                wait = Some(wait.map_or(s, |w: u64| w.max(s)));
            }
        }
        Ok(wait)
    }

    /// Clears the account's failures, when [`locked`](Self::locked) saw any (no query otherwise).
    ///
    /// # Errors
    /// Database errors.
    pub async fn succeeded(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), diesel::result::Error> {
        match &self.account {
            Some(key) if self.account_seen => clear(conn, key).await,
            _ => Ok(()),
        }
    }
}

impl Default for SignIn {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        assert_eq!(seconds_until(now + TimeDelta::milliseconds(1500), now), 2);
        assert_eq!(seconds_until(now, now), 1);
        assert_eq!(seconds_until(now + TimeDelta::seconds(900), now), 900);
    }

    #[test]
    fn lockout_settings_give_both_policies_and_refuse_a_zero_limit_by_name() {
        let s = LockoutSettings {
            auth_max_failed_attempts: 3,
            auth_lockout_seconds: 60,
            auth_address_max_failed_attempts: 7,
        };
        let minute = Duration::from_secs(60);
        assert_eq!(s.account_policy(), Policy::lockout_after(3, minute));
        assert_eq!(s.address_policy(), Policy::lockout_after(7, minute));
        assert_eq!(s.check(), Ok(()));
        let no_account_limit = LockoutSettings {
            auth_max_failed_attempts: 0,
            ..s
        };
        let no_address_limit = LockoutSettings {
            auth_address_max_failed_attempts: 0,
            ..s
        };
        for (bad, variable) in [
            (
                no_account_limit,
                "invalid environment variable AUTH_MAX_FAILED_ATTEMPTS",
            ),
            (
                no_address_limit,
                "invalid environment variable AUTH_ADDRESS_MAX_FAILED_ATTEMPTS",
            ),
        ] {
            let e = bad.check().unwrap_err();
            assert!(e.starts_with(variable), "{e}");
        }
        let d = LockoutSettings::default();
        assert_eq!(
            (
                d.auth_max_failed_attempts,
                d.auth_lockout_seconds,
                d.auth_address_max_failed_attempts
            ),
            (5, 900, 20)
        );
    }
}
