//! Writing events to the transactional outbox.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{Array, Jsonb, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tessera_db::DbPool;
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;

use crate::envelope::EventEnvelope;

/// AMQP header carrying the request id (ARCHITECTURE.md §2 "Request ids").
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// One event ready for the outbox: the serialised envelope plus message headers.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    /// The event id (AMQP `message_id`).
    pub id: Uuid,
    /// Routing key (= envelope `type`).
    pub routing_key: String,
    /// The envelope as JSON, published byte for byte.
    pub body: String,
    /// Message headers: W3C trace context and `x-request-id`.
    pub headers: serde_json::Value,
}

impl OutboxMessage {
    /// Serialises `envelope`; `trace_headers` are the W3C headers of the current span
    /// (`tessera_telemetry::trace_headers()`); the request id is added from the envelope.
    ///
    /// # Errors
    /// When `data` cannot be serialised.
    pub fn new<T: Serialize>(
        envelope: &EventEnvelope<T>,
        trace_headers: HashMap<String, String>,
    ) -> Result<Self, serde_json::Error> {
        let mut headers: serde_json::Map<String, serde_json::Value> = trace_headers
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        if let Some(rid) = &envelope.request_id {
            headers.insert(
                REQUEST_ID_HEADER.to_owned(),
                serde_json::Value::String(rid.clone()),
            );
        }
        Ok(Self {
            id: envelope.id,
            routing_key: envelope.kind.clone(),
            body: serde_json::to_string(envelope)?,
            headers: serde_json::Value::Object(headers),
        })
    }
}

diesel::define_sql_function! {
    /// `outbox_enqueue(ids, routing_keys, bodies, headers) → rows inserted`: the rows' columns as
    /// four arrays of equal length (migration `2026-11-22-000000-0000_outbox_enqueue`).
    fn outbox_enqueue(
        ids: Array<diesel::sql_types::Uuid>,
        routing_keys: Array<Text>,
        bodies: Array<Text>,
        headers: Array<Jsonb>,
    ) -> Integer;
}

/// Inserts `messages` using `conn`; call it inside the transaction of the business change.
///
/// One statement of fixed text whatever the number of rows (`outbox_enqueue`), so it stays a
/// cached prepared statement: one round trip, no parsing or planning per call.
///
/// # Errors
/// Database errors (the caller's transaction then rolls back as a whole).
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    messages: &[OutboxMessage],
) -> QueryResult<usize> {
    if messages.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
    let routing_keys: Vec<&str> = messages.iter().map(|m| m.routing_key.as_str()).collect();
    let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    let headers: Vec<&serde_json::Value> = messages.iter().map(|m| &m.headers).collect();
    let inserted: i32 = diesel::select(outbox_enqueue(ids, routing_keys, bodies, headers))
        .get_result(conn)
        .await?;
    Ok(usize::try_from(inserted).unwrap_or_default())
}

/// Why a group-committed write failed. The event was not stored; the caller must fail its request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboxError {
    /// The database refused or was unreachable.
    #[error("outbox unavailable: {0}")]
    Unavailable(String),
    /// The writer task has stopped (shutdown).
    #[error("outbox writer stopped")]
    Closed,
}

struct Pending<T> {
    item: T,
    done: oneshot::Sender<Result<(), OutboxError>>,
}

/// What a [`GroupCommit`] writer does with the rows it took: store all of them in one commit
/// (one WAL flush for the whole batch), or none.
pub trait BatchWrite: Send + Sync + 'static {
    /// One waiting row (e.g. an [`OutboxMessage`], or an audit row with its event).
    type Item: Send + 'static;

    /// Stores `items` in one transaction (a single statement is one).
    ///
    /// # Errors
    /// Database errors: nothing of the batch is stored.
    fn write(
        &self,
        conn: &mut AsyncPgConnection,
        items: &[Self::Item],
    ) -> impl std::future::Future<Output = QueryResult<()>> + Send;
}

/// The outbox's own batch: events only ([`enqueue`]: one `outbox_enqueue` statement).
#[derive(Debug, Clone, Copy, Default)]
pub struct Events;

impl BatchWrite for Events {
    type Item = OutboxMessage;

    async fn write(
        &self,
        conn: &mut AsyncPgConnection,
        items: &[OutboxMessage],
    ) -> QueryResult<()> {
        enqueue(conn, items).await.map(|_| ())
    }
}

/// Group commit for hot paths whose durable write is small and independent of the request's
/// other work (module docs of the crate): requests queue their row and wait; a writer task
/// takes every row waiting (up to `max_batch`) into one commit, and answers each request once
/// that commit is durable — so a request never returns before its row is stored, and N
/// requests share one WAL flush.
///
/// Cheap to clone; all clones feed the same writer tasks.
pub struct GroupCommit<W: BatchWrite> {
    tx: mpsc::Sender<Pending<W::Item>>,
}

impl<W: BatchWrite> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<W: BatchWrite> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

/// Group commit of outbox events (the control-plane's peer-token path).
pub type OutboxWriter = GroupCommit<Events>;

impl OutboxWriter {
    /// [`GroupCommit::start`] with the outbox's own batch ([`Events`]).
    pub fn spawn(pool: DbPool, wake: Arc<Notify>, max_batch: usize, writers: usize) -> Self {
        GroupCommit::start(pool, Arc::new(Events), wake, max_batch, writers)
    }
}

impl<W: BatchWrite> GroupCommit<W> {
    /// Starts `writers` writer tasks: each takes up to `max_batch` waiting rows into one
    /// [`BatchWrite::write`], so several commits (and their WAL flushes) overlap; `wake` is
    /// notified after each commit (pass the relay's notifier so events go out at once).
    pub fn start(
        pool: DbPool,
        batch: Arc<W>,
        wake: Arc<Notify>,
        max_batch: usize,
        writers: usize,
    ) -> Self {
        let max_batch = max_batch.max(1);
        let (tx, rx) = mpsc::channel::<Pending<W::Item>>(max_batch * 8);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let rx = Arc::clone(&rx);
            let pool = pool.clone();
            let wake = Arc::clone(&wake);
            let batch_writer = Arc::clone(&batch);
            tokio::spawn(async move {
                let mut batch: Vec<Pending<W::Item>> = Vec::with_capacity(max_batch);
                loop {
                    // Hold the receiver only while taking a batch, never across the insert.
                    let mut receiver = rx.lock().await;
                    if receiver.recv_many(&mut batch, max_batch).await == 0 {
                        break;
                    }
                    // Let the other tasks that are ready on this thread (requests about to write
                    // their row) run once, then take what they queued: larger batches, fewer
                    // commits, at no added latency.
                    if batch.len() < max_batch {
                        tokio::task::yield_now().await;
                        while batch.len() < max_batch {
                            match receiver.try_recv() {
                                Ok(p) => batch.push(p),
                                Err(_) => break,
                            }
                        }
                    }
                    drop(receiver);
                    let (items, waiting): (Vec<W::Item>, Vec<_>) =
                        batch.drain(..).map(|p| (p.item, p.done)).unzip();
                    let result = match pool.get().await {
                        Ok(mut conn) => batch_writer
                            .write(&mut conn, &items)
                            .await
                            .map_err(|e| OutboxError::Unavailable(e.to_string())),
                        Err(e) => Err(OutboxError::Unavailable(e.to_string())),
                    };
                    if let Err(e) = &result {
                        tracing::error!(error = %e, rows = items.len(), "group commit failed");
                    } else {
                        wake.notify_one();
                    }
                    for done in waiting {
                        let _ = done.send(result.clone());
                    }
                }
            });
        }
        Self { tx }
    }

    /// Stores `item`; returns once its batch is committed.
    ///
    /// # Errors
    /// [`OutboxError`] when the batch could not be committed (nothing of it was stored).
    pub async fn write(&self, item: W::Item) -> Result<(), OutboxError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending { item, done })
            .await
            .map_err(|_| OutboxError::Closed)?;
        wait.await.map_err(|_| OutboxError::Closed)?
    }
}

/// Makes one [`GroupCommit`] per HTTP worker, each with its own small pool.
///
/// A tokio-postgres connection is driven by the runtime that opened it. actix runs one runtime
/// per worker thread, so a writer (and its connections) created on the worker's thread keeps a
/// request, its batch insert and the connection's I/O on that thread, with no cross-thread hops
/// on the hot path. Call [`GroupCommitFactory::spawn`] inside `HttpServer::new`'s app factory,
/// which actix runs once on each worker's thread.
pub struct GroupCommitFactory<W: BatchWrite> {
    database_url: String,
    batch: Arc<W>,
    wake: Arc<Notify>,
    max_batch: usize,
    writers: usize,
    fallback: DbPool,
}

impl<W: BatchWrite> Clone for GroupCommitFactory<W> {
    fn clone(&self) -> Self {
        Self {
            database_url: self.database_url.clone(),
            batch: Arc::clone(&self.batch),
            wake: Arc::clone(&self.wake),
            max_batch: self.max_batch,
            writers: self.writers,
            fallback: self.fallback.clone(),
        }
    }
}

impl<W: BatchWrite> std::fmt::Debug for GroupCommitFactory<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommitFactory")
            .field("writers", &self.writers)
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

/// One outbox [`OutboxWriter`] per HTTP worker.
pub type OutboxWriterFactory = GroupCommitFactory<Events>;

impl OutboxWriterFactory {
    /// [`GroupCommitFactory::with_batch`] with the outbox's own batch ([`Events`]).
    ///
    /// # Errors
    /// When the pool configuration is invalid (checked once, here).
    pub fn new(
        database_url: &str,
        wake: Arc<Notify>,
        max_batch: usize,
        writers: usize,
    ) -> anyhow::Result<Self> {
        Self::with_batch(database_url, Arc::new(Events), wake, max_batch, writers)
    }
}

impl<W: BatchWrite> GroupCommitFactory<W> {
    /// `writers` writer tasks per worker (each with its own connection), batches of up to
    /// `max_batch` rows stored by `batch`, `wake` notified after each commit (the relay's
    /// notifier).
    ///
    /// # Errors
    /// When the pool configuration is invalid (checked once, here).
    pub fn with_batch(
        database_url: &str,
        batch: Arc<W>,
        wake: Arc<Notify>,
        max_batch: usize,
        writers: usize,
    ) -> anyhow::Result<Self> {
        let writers = writers.max(1);
        let fallback = tessera_db::build_pool(database_url, Self::settings(writers))?;
        Ok(Self {
            database_url: database_url.to_owned(),
            batch,
            wake,
            max_batch,
            writers,
            fallback,
        })
    }

    fn settings(writers: usize) -> tessera_db::PoolSettings {
        tessera_db::PoolSettings {
            max_size: writers,
            ..Default::default()
        }
    }

    /// A writer for the calling thread's runtime.
    pub fn spawn(&self) -> GroupCommit<W> {
        // The configuration was validated in `with_batch`, so this does not fail; the fallback
        // keeps the function total.
        let pool = tessera_db::build_pool(&self.database_url, Self::settings(self.writers))
            .unwrap_or_else(|_| self.fallback.clone());
        GroupCommit::start(
            pool,
            Arc::clone(&self.batch),
            Arc::clone(&self.wake),
            self.max_batch,
            self.writers,
        )
    }
}

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    events: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    oldest_age_seconds: f64,
}

/// The outbox backlog: how many events are unpublished, and the age in seconds of the oldest
/// (by the database's clock; 0 when there is none). One index-only aggregate.
///
/// # Errors
/// Database errors.
pub async fn backlog(conn: &mut AsyncPgConnection) -> QueryResult<(i64, f64)> {
    let row: Backlog = diesel::sql_query(
        "SELECT count(*) AS events, \
         COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds \
         FROM outbox",
    )
    .get_result(conn)
    .await?;
    Ok((row.events, row.oldest_age_seconds))
}
