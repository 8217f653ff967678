//! The in-process auto-collect scheduler (seed 001 "Coleta automatica", issue #7).
//!
//! Every replica runs the loop; every `QUOTATIONS_SCHEDULER_TICK_SECONDS` it reads the settings
//! in force (so a dashboard change applies at the next tick, without a restart) and, when they
//! are enabled, tries to claim the current slot of `*/N * * * *`:
//!
//! 1. in one transaction, `pg_try_advisory_xact_lock` on a fixed key — a replica that does not
//!    get it skips this tick;
//! 2. under the lock, the slot is due when no scheduler run started at or after the slot's start
//!    and no scheduler run is still `running` (started within the last hour);
//! 3. if due, the run is inserted as `running` in the same transaction, which commits and
//!    releases the lock — so the next replica to get the lock sees the run and skips.
//!
//! The collection itself runs outside the lock. Hence two replicas never run the same slot, and
//! a run that outlasts its interval delays the next one instead of overlapping it.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::dsl::{exists, max};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use tessera_db::DbPool;
use uuid::Uuid;

use crate::collect::{self, Deps, Request, Trigger};
use crate::config::Config;
use crate::db::schema::collect_runs;
use crate::domain::RunStatus;
use crate::market::MarketData;
use crate::providers::Providers;

/// The advisory-lock key of the scheduler (`pg_try_advisory_xact_lock`).
pub const LOCK_KEY: i64 = 0x7465_7373_6572_6131; // "tessera1"

/// A `running` run older than this lost its process: it no longer blocks the schedule and the
/// next claim records it as `failed` (`summary.error` says why).
pub const STALE_RUN: TimeDelta = TimeDelta::hours(1);

/// What the scheduler needs (cheap clones).
#[derive(Clone)]
pub struct Scheduler {
    /// The database.
    pub pool: DbPool,
    /// Provider clients.
    pub providers: Providers,
    /// Symbol lists.
    pub market: Arc<MarketData>,
    /// Settings (the environment's auto-collect defaults and the tick).
    pub config: Arc<Config>,
    /// Wakes this replica's outbox relay.
    pub relay_wake: Arc<tokio::sync::Notify>,
}

impl Scheduler {
    /// Starts the loop on the runtime.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let every = std::time::Duration::from_secs(
                self.config.quotations_scheduler_tick_seconds.clamp(1, 59),
            );
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.tick(tessera_service::now()).await {
                    tracing::warn!(error = %e, "auto-collect scheduler tick failed");
                }
            }
        });
    }

    /// One tick at `now`: claims the slot if it is due and runs the collection. Returns the
    /// report of the run it made, if any.
    ///
    /// # Errors
    /// Database errors (the tick is skipped; the next one tries again).
    pub async fn tick(&self, now: DateTime<Utc>) -> anyhow::Result<Option<collect::Report>> {
        let mut conn = self.pool.get().await?;
        let settings = collect::load_settings(&mut conn, &self.config).await?;
        if !settings.enabled {
            return Ok(None);
        }
        let req = Request {
            symbols: settings.symbols.clone(),
            provider: settings.provider,
            force_provider: false,
            dry_run: false,
            allow_partial_success: false,
            trigger: Trigger::Scheduler,
        };
        let slot = settings.slot_start(now);
        let claimed = conn
            .transaction::<_, diesel::result::Error, _>(async |c| {
                let locked: bool = diesel::select(pg_try_advisory_xact_lock(LOCK_KEY))
                    .get_result(c)
                    .await?;
                if !locked {
                    return Ok(None);
                }
                // A run still `running` after STALE_RUN lost its process: record it as failed.
                diesel::update(
                    collect_runs::table
                        .filter(collect_runs::status.eq(RunStatus::Running))
                        .filter(collect_runs::started_at.le(now - STALE_RUN)),
                )
                .set((
                    collect_runs::status.eq(RunStatus::Failed),
                    collect_runs::finished_at.eq(now),
                    collect_runs::exit_code.eq(1),
                    collect_runs::summary.eq(serde_json::json!({"error": "abandoned: the run did not finish within an hour"})),
                ))
                .execute(c)
                .await?;
                let last: Option<DateTime<Utc>> = collect_runs::table
                    .filter(collect_runs::trigger.eq(Trigger::Scheduler))
                    .select(max(collect_runs::started_at))
                    .get_result(c)
                    .await?;
                let running: bool = diesel::select(exists(
                    collect_runs::table
                        .filter(collect_runs::trigger.eq(Trigger::Scheduler))
                        .filter(collect_runs::status.eq(RunStatus::Running))
                        .filter(collect_runs::started_at.gt(now - STALE_RUN)),
                ))
                .get_result(c)
                .await?;
                if running || last.is_some_and(|l| l >= slot) {
                    return Ok(None);
                }
                let id = Uuid::now_v7();
                collect::insert_run(c, id, &req, now).await?;
                Ok(Some(id))
            })
            .await?;
        drop(conn);
        let Some(run_id) = claimed else {
            return Ok(None);
        };
        tracing::info!(%run_id, symbols = req.symbols.len(), "auto-collect run started");
        let deps = Deps {
            pool: &self.pool,
            providers: &self.providers,
            market: &self.market,
            relay_wake: Some(&self.relay_wake),
        };
        let report = collect::run(deps, &req, Some(run_id), |_, _, _| {}).await?;
        tracing::info!(%run_id, status = %report.status, exit_code = report.exit_code, "auto-collect run finished");
        Ok(Some(report))
    }
}

diesel::define_sql_function! {
    /// PostgreSQL's `pg_try_advisory_xact_lock(bigint)`: a lock held until the transaction ends.
    fn pg_try_advisory_xact_lock(key: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}
