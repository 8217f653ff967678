//! Auto-collect settings (`auto_collect_settings`, one row): enabled, interval, symbols and
//! provider, edited on the operations dashboard and read by the scheduler.

use super::*;
use crate::config::Config;
use crate::db::schema::auto_collect_settings;
use crate::providers::Provider;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The auto-collect settings (`GET|PUT /dashboard/operations/auto-collect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The scheduler collects.
    pub enabled: bool,
    /// Minutes between collections, 1..59.
    pub interval_minutes: u32,
    /// Symbols collected when a run names none.
    pub symbols: Vec<String>,
    /// The provider asked (not forced), or each type's chain.
    pub provider: Option<Provider>,
}

impl Settings {
    /// The environment's settings (`QUOTATIONS_AUTO_COLLECT_*`), used until the dashboard saves.
    pub fn from_config(config: &Config) -> Self {
        Self {
            enabled: config.quotations_auto_collect_enabled,
            interval_minutes: config.auto_collect_interval(),
            symbols: split_symbols(&config.quotations_auto_collect_symbols),
            provider: config
                .quotations_auto_collect_provider
                .as_deref()
                .and_then(Provider::parse),
        }
    }

    /// The schedule as a cron expression: `*/N * * * *`.
    pub fn cron_expression(&self) -> String {
        format!("*/{} * * * *", self.interval_minutes)
    }

    /// The start of the schedule slot `now` is in: the latest minute `m <= now` with
    /// `m mod interval = 0` within its hour (cron's `*/N`).
    pub fn slot_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let minute = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        let into_hour = i64::from(chrono::Timelike::minute(&minute));
        let n = i64::from(self.interval_minutes.clamp(1, 59));
        minute - TimeDelta::minutes(into_hour % n)
    }
}

/// `"BTC, eth ,"` → `["BTC", "ETH"]` (upper-cased, blanks dropped, duplicates removed).
pub fn split_symbols(csv: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in csv.split(',').map(|s| s.trim().to_ascii_uppercase()) {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The settings in force: the saved row, else the environment's.
///
/// # Errors
/// Database errors.
pub async fn load_settings(
    conn: &mut AsyncPgConnection,
    config: &Config,
) -> Result<Settings, diesel::result::Error> {
    let row: Option<(bool, i32, Vec<String>, Option<String>)> = auto_collect_settings::table
        .select((
            auto_collect_settings::enabled,
            auto_collect_settings::interval_minutes,
            auto_collect_settings::symbols,
            auto_collect_settings::provider,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(match row {
        Some((enabled, interval, symbols, provider)) => Settings {
            enabled,
            interval_minutes: u32::try_from(interval).unwrap_or(1).clamp(1, 59),
            symbols,
            provider: provider.as_deref().and_then(Provider::parse),
        },
        None => Settings::from_config(config),
    })
}

/// Saves the settings (they take effect at every replica's next scheduler tick).
///
/// # Errors
/// Database errors.
pub async fn save_settings(
    conn: &mut AsyncPgConnection,
    s: &Settings,
) -> Result<(), diesel::result::Error> {
    let interval = i32::try_from(s.interval_minutes.clamp(1, 59)).unwrap_or(1);
    let provider = s.provider.map(Provider::as_str);
    diesel::insert_into(auto_collect_settings::table)
        .values((
            auto_collect_settings::id.eq(1),
            auto_collect_settings::enabled.eq(s.enabled),
            auto_collect_settings::interval_minutes.eq(interval),
            auto_collect_settings::symbols.eq(&s.symbols),
            auto_collect_settings::provider.eq(provider),
        ))
        .on_conflict(auto_collect_settings::id)
        .do_update()
        .set((
            auto_collect_settings::enabled.eq(s.enabled),
            auto_collect_settings::interval_minutes.eq(interval),
            auto_collect_settings::symbols.eq(&s.symbols),
            auto_collect_settings::provider.eq(provider),
            auto_collect_settings::updated_at.eq(tessera_service::now()),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}
