//! Collecting quotes for a list of symbols (seed 001 "Coleta automatica"): the engine behind
//! `quotations collect`, the dashboard's run-now and the scheduler, the auto-collect settings,
//! and the run history.
//!
//! A run resolves every symbol (an invalid one is a failed symbol, not an aborted run), asks
//! the providers symbol by symbol, and — unless it is a dry run — stores each quote with the
//! deduplication and the `quotations.quotation.collected` event of `POST /api/quotation/{symbol}`.
//!
//! Providers: an explicit provider that is *forced* (`--provider`, or the dashboard's
//! `force_provider=true`) is asked alone for every symbol (fail-fast, seed 001). A provider that
//! is not forced (the settings' provider, or the dashboard's without `force_provider`) is asked
//! for the symbols whose type it quotes; the others use their type's fallback chain, with
//! `auto_fallback_applied=true` and a warning per symbol. `effective_provider` is the provider
//! when it served every symbol, otherwise `null` (the chains).
//!
//! Exit code (seed 001 rules 4–5): 0 when every symbol succeeded; 1 when any failed, unless
//! `allow_partial_success` and at least one succeeded; 1 when there is nothing to collect.
//! A run that is not a dry run is recorded in `collect_runs` (status `running`, then
//! `success|partial|failed`); a dry run persists nothing at all.

use std::fmt::Write as _;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tessera_db::DbPool;
use uuid::Uuid;

use crate::config::Config;
use crate::db::schema::{auto_collect_settings, collect_runs};
use crate::market::MarketData;
use crate::providers::{Provider, Providers};
use crate::quote::QuoteFailure;

/// At most this many symbols per run or in the settings.
pub const MAX_SYMBOLS: usize = 50;

/// Who started a run (`--trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// `quotations collect` by hand (the default).
    Manual,
    /// The dashboard's run-now.
    Dashboard,
    /// The scheduler (in-process, or a CronJob running `collect --trigger=scheduler`).
    Scheduler,
}

impl Trigger {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Dashboard => "dashboard",
            Self::Scheduler => "scheduler",
        }
    }
}

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

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// Symbols as given (resolved during the run).
    pub symbols: Vec<String>,
    /// The provider asked, if any.
    pub provider: Option<Provider>,
    /// Ask `provider` for every symbol, even of a type it does not quote.
    pub force_provider: bool,
    /// Fetch only: store nothing, record nothing.
    pub dry_run: bool,
    /// Exit 0 when at least one symbol succeeded.
    pub allow_partial_success: bool,
    /// Who started it.
    pub trigger: Trigger,
}

impl Request {
    /// The equivalent command line (the history's command metadata; `requested_provider` is
    /// recorded beside it).
    pub fn command_line(&self) -> String {
        let mut c = String::from("quotations collect");
        for s in &self.symbols {
            let _ = write!(c, " --symbol={s}");
        }
        // Only a forced provider has a flag; a settings provider is the command's default.
        if let Some(p) = self.provider.filter(|_| self.force_provider) {
            let _ = write!(c, " --provider={}", p.as_str());
        }
        if self.dry_run {
            c.push_str(" --dry-run");
        }
        if self.allow_partial_success {
            c.push_str(" --allow-partial-success");
        }
        let _ = write!(c, " --trigger={}", self.trigger.as_str());
        c
    }
}

/// The outcome of one symbol.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SymbolResult {
    /// The symbol as given.
    pub symbol: String,
    /// `created`, `deduplicated`, `fetched` (dry run) or `failed`.
    pub outcome: &'static str,
    /// The provider that answered.
    pub provider: Option<&'static str>,
    /// The price (decimal text).
    pub price: Option<String>,
    /// On failure: `invalid_symbol`, `quote_not_found`, `provider_rate_limited`,
    /// `provider_unavailable` or `internal_error`.
    pub error_code: Option<&'static str>,
}

impl SymbolResult {
    fn succeeded(&self) -> bool {
        self.outcome != "failed"
    }

    /// One line of the run's output.
    pub fn line(&self) -> String {
        match (self.outcome, self.error_code) {
            ("failed", code) => format!("{}: failed ({})", self.symbol, code.unwrap_or("error")),
            (outcome, _) => format!(
                "{}: {} {} via {}",
                self.symbol,
                outcome,
                self.price.as_deref().unwrap_or("?"),
                self.provider.unwrap_or("?")
            ),
        }
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Summary {
    /// Symbols in the run.
    pub total: usize,
    /// Symbols with a quote.
    pub succeeded: usize,
    /// Symbols without.
    pub failed: usize,
    /// New quotations stored.
    pub created: usize,
    /// Quotes equal to a stored one.
    pub deduplicated: usize,
}

/// A finished run (the dashboard's run-now response, the CLI's summary).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The history id (`null` for a dry run, which is not recorded).
    pub run_id: Option<Uuid>,
    /// Who started it.
    #[schema(value_type = String)]
    pub trigger: Trigger,
    /// Nothing was stored.
    pub dry_run: bool,
    /// 0 or 1 per the module rules.
    pub exit_code: i32,
    /// `success`, `partial` or `failed`.
    pub status: &'static str,
    /// Counts.
    pub summary: Summary,
    /// The command's output, one line per symbol and a summary line.
    pub output: String,
    /// The provider asked.
    pub requested_provider: Option<&'static str>,
    /// The provider that served every symbol, or `null` when the type chains did.
    pub effective_provider: Option<&'static str>,
    /// Some symbols used their type's chain instead of the requested provider.
    pub auto_fallback_applied: bool,
    /// Human-readable warnings (fallbacks applied).
    pub warnings: Vec<String>,
    /// Per symbol.
    pub results: Vec<SymbolResult>,
    /// Start (RFC 3339).
    pub started_at: DateTime<Utc>,
    /// End (RFC 3339).
    pub finished_at: DateTime<Utc>,
}

/// What a run needs.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    /// The database.
    pub pool: &'a DbPool,
    /// Provider clients.
    pub providers: &'a Providers,
    /// Symbol lists.
    pub market: &'a MarketData,
    /// Wakes the outbox relay of this process, if it runs one.
    pub relay_wake: Option<&'a tokio::sync::Notify>,
}

/// Records a run as `running` (the start of a run that is not a dry run).
///
/// # Errors
/// Database errors.
pub async fn insert_run(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(collect_runs::table)
        .values((
            collect_runs::run_id.eq(run_id),
            collect_runs::trigger.eq(req.trigger.as_str()),
            collect_runs::status.eq("running"),
            collect_runs::started_at.eq(now),
            collect_runs::symbols.eq(&req.symbols),
            collect_runs::requested_provider.eq(req.provider.map(Provider::as_str)),
            collect_runs::command.eq(req.command_line()),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

fn failure_code(f: QuoteFailure) -> &'static str {
    match f {
        QuoteFailure::NotFound => "quote_not_found",
        QuoteFailure::RateLimited => "provider_rate_limited",
        QuoteFailure::Unavailable => "provider_unavailable",
    }
}

/// Runs a collection. `claimed` is a run already recorded as `running` (the scheduler's claim);
/// otherwise a run that is not a dry run is recorded here. `progress` sees each symbol's
/// result as it comes (`index` from 0, `total`).
///
/// # Errors
/// The history could not be written (the quotes stored so far stay stored).
pub async fn run(
    deps: Deps<'_>,
    req: &Request,
    claimed: Option<Uuid>,
    mut progress: impl FnMut(usize, usize, &SymbolResult),
) -> anyhow::Result<Report> {
    let started_at = tessera_service::now();
    let run_id = match (claimed, req.dry_run) {
        (Some(id), _) => Some(id),
        (None, true) => None,
        (None, false) => {
            let id = Uuid::now_v7();
            let mut conn = deps.pool.get().await?;
            insert_run(&mut conn, id, req, started_at).await?;
            Some(id)
        }
    };
    let mut warnings = Vec::new();
    let mut fallback = false;
    let mut results = Vec::with_capacity(req.symbols.len());
    for (i, raw) in req.symbols.iter().enumerate() {
        let result = match deps.market.resolve(raw, None) {
            Err(_) => SymbolResult {
                symbol: raw.clone(),
                outcome: "failed",
                provider: None,
                price: None,
                error_code: Some("invalid_symbol"),
            },
            Ok(symbol) => {
                let provider = match req.provider {
                    Some(p) if req.force_provider || p.supports(symbol.kind) => Some(p),
                    Some(p) => {
                        fallback = true;
                        warnings.push(format!(
                            "{} does not quote {} symbols: {} used the {} fallback chain.",
                            p.as_str(),
                            symbol.kind.as_str(),
                            symbol.symbol,
                            symbol.kind.as_str()
                        ));
                        None
                    }
                    None => None,
                };
                collect_one(deps, raw, &symbol, provider, req.dry_run).await
            }
        };
        progress(i, req.symbols.len(), &result);
        results.push(result);
    }
    let summary = Summary {
        total: results.len(),
        succeeded: results.iter().filter(|r| r.succeeded()).count(),
        failed: results.iter().filter(|r| !r.succeeded()).count(),
        created: results.iter().filter(|r| r.outcome == "created").count(),
        deduplicated: results
            .iter()
            .filter(|r| r.outcome == "deduplicated")
            .count(),
    };
    let exit_code =
        i32::from(!(summary.succeeded > 0 && (summary.failed == 0 || req.allow_partial_success)));
    let status = match (summary.succeeded, summary.failed) {
        (s, 0) if s > 0 => "success",
        (0, _) => "failed",
        _ => "partial",
    };
    let mut output: Vec<String> = results.iter().map(SymbolResult::line).collect();
    if results.is_empty() {
        output.push("No symbols to collect.".to_owned());
    }
    output.push(format!(
        "{} symbol(s): {} succeeded ({} created, {} deduplicated), {} failed{}; exit code {exit_code}.",
        summary.total,
        summary.succeeded,
        summary.created,
        summary.deduplicated,
        summary.failed,
        if req.dry_run { " [dry run: nothing stored]" } else { "" },
    ));
    let requested = req.provider.map(Provider::as_str);
    let report = Report {
        run_id,
        trigger: req.trigger,
        dry_run: req.dry_run,
        exit_code,
        status,
        summary,
        output: output.join("\n"),
        requested_provider: requested,
        effective_provider: if fallback { None } else { requested },
        auto_fallback_applied: fallback,
        warnings,
        results,
        started_at,
        finished_at: tessera_service::now(),
    };
    if let Some(id) = run_id {
        let mut conn = deps.pool.get().await?;
        diesel::update(collect_runs::table.find(id))
            .set((
                collect_runs::status.eq(report.status),
                collect_runs::finished_at.eq(report.finished_at),
                collect_runs::summary.eq(serde_json::to_value(&report.summary)?),
                collect_runs::exit_code.eq(report.exit_code),
                collect_runs::effective_provider.eq(report.effective_provider),
            ))
            .execute(&mut conn)
            .await?;
    }
    Ok(report)
}

async fn collect_one(
    deps: Deps<'_>,
    raw: &str,
    symbol: &crate::market::Symbol,
    provider: Option<Provider>,
    dry_run: bool,
) -> SymbolResult {
    let failed = |code| SymbolResult {
        symbol: raw.to_owned(),
        outcome: "failed",
        provider: None,
        price: None,
        error_code: Some(code),
    };
    let quote = match crate::quote::current(deps.providers, symbol, provider).await {
        Ok(q) => q,
        Err(e) => return failed(failure_code(e.failure)),
    };
    if dry_run {
        return SymbolResult {
            symbol: raw.to_owned(),
            outcome: "fetched",
            provider: Some(quote.source.as_str()),
            price: Some(quote.price.to_string()),
            error_code: None,
        };
    }
    let stored = async {
        let mut conn = deps.pool.get().await?;
        let now = tessera_service::now();
        let r = conn
            .transaction::<_, diesel::result::Error, _>(async |c| {
                let (row, created) = crate::store::insert_dedup(c, &quote).await?;
                if created {
                    crate::events::collected(c, &row, now).await?;
                }
                Ok((row, created))
            })
            .await?;
        anyhow::Ok(r)
    }
    .await;
    match stored {
        Ok((row, created)) => {
            if created && let Some(wake) = deps.relay_wake {
                wake.notify_one();
            }
            SymbolResult {
                symbol: raw.to_owned(),
                outcome: if created { "created" } else { "deduplicated" },
                provider: Some(quote.source.as_str()),
                price: Some(crate::store::trim_price(&row.price).to_owned()),
                error_code: None,
            }
        }
        Err(e) => {
            tracing::error!(symbol = raw, error = %e, "storing a collected quote failed");
            failed("internal_error")
        }
    }
}

/// A recorded run (`GET /dashboard/operations/auto-collect/history`).
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct RunEntry {
    /// Id.
    pub run_id: Uuid,
    /// `manual|dashboard|scheduler`.
    pub trigger: String,
    /// `running|success|partial|failed`.
    pub status: String,
    /// RFC 3339.
    pub started_at: DateTime<Utc>,
    /// RFC 3339; `null` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// [`Summary`]; `null` while running.
    #[schema(value_type = Option<Object>)]
    pub summary: Option<serde_json::Value>,
    /// `null` while running.
    pub exit_code: Option<i32>,
    /// Symbols asked.
    pub symbols: Vec<String>,
    /// Provider asked.
    pub requested_provider: Option<String>,
    /// Provider that served every symbol.
    pub effective_provider: Option<String>,
    /// The equivalent command line.
    pub command: String,
}

/// The latest `limit` runs, newest first.
///
/// # Errors
/// Database errors.
pub async fn history(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<RunEntry>, diesel::result::Error> {
    collect_runs::table
        .order((collect_runs::started_at.desc(), collect_runs::run_id.desc()))
        .limit(limit)
        .select((
            collect_runs::run_id,
            collect_runs::trigger,
            collect_runs::status,
            collect_runs::started_at,
            collect_runs::finished_at,
            collect_runs::summary,
            collect_runs::exit_code,
            collect_runs::symbols,
            collect_runs::requested_provider,
            collect_runs::effective_provider,
            collect_runs::command,
        ))
        .load(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(n: u32) -> Settings {
        Settings {
            enabled: true,
            interval_minutes: n,
            symbols: vec![],
            provider: None,
        }
    }

    #[test]
    fn slots_follow_cron_step_minutes() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc));
        let now = at("2026-11-22T10:37:42Z").ok();
        let slot = now.map(|n| settings(15).slot_start(n));
        assert_eq!(slot, at("2026-11-22T10:30:00Z").ok());
        let slot = now.map(|n| settings(7).slot_start(n));
        assert_eq!(slot, at("2026-11-22T10:35:00Z").ok());
        let slot = now.map(|n| settings(1).slot_start(n));
        assert_eq!(slot, at("2026-11-22T10:37:00Z").ok());
        assert_eq!(settings(15).cron_expression(), "*/15 * * * *");
    }

    #[test]
    fn symbols_split_from_csv() {
        assert_eq!(
            split_symbols(" btc,ETH, ,btc,usd-brl "),
            ["BTC", "ETH", "USD-BRL"]
        );
    }
}
