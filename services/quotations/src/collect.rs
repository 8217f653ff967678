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

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tessera_db::DbPool;
use uuid::Uuid;

use crate::db::schema::collect_runs;
use crate::domain::RunStatus;
use crate::market::MarketData;
use crate::providers::{Provider, Providers};
use crate::quote::QuoteFailure;

mod request;
pub use request::*;

mod settings;
pub use settings::*;

mod history;
pub use history::*;

/// At most this many symbols per run or in the settings.
pub const MAX_SYMBOLS: usize = 50;

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
    pub status: RunStatus,
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
            collect_runs::status.eq(RunStatus::Running),
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
        (s, 0) if s > 0 => RunStatus::Success,
        (0, _) => RunStatus::Failed,
        _ => RunStatus::Partial,
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
                let (row, created) = crate::db::quotations::insert_dedup(c, &quote).await?;
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
                price: Some(crate::db::quotations::trim_price(&row.price).to_owned()),
                error_code: None,
            }
        }
        Err(e) => {
            tracing::error!(symbol = raw, error = %e, "storing a collected quote failed");
            failed("internal_error")
        }
    }
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
