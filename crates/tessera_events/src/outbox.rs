//! Writing events to the transactional outbox.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tessera_db::DbPool;
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;

use crate::envelope::EventEnvelope;
use crate::schema::outbox;

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

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewRow<'a> {
    id: Uuid,
    routing_key: &'a str,
    body: &'a str,
    headers: &'a serde_json::Value,
}

/// Inserts `messages` using `conn`; call it inside the transaction of the business change.
///
/// # Errors
/// Database errors (the caller's transaction then rolls back as a whole).
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    messages: &[OutboxMessage],
) -> QueryResult<usize> {
    let rows: Vec<NewRow<'_>> = messages
        .iter()
        .map(|m| NewRow {
            id: m.id,
            routing_key: &m.routing_key,
            body: &m.body,
            headers: &m.headers,
        })
        .collect();
    diesel::insert_into(outbox::table)
        .values(&rows)
        .execute(conn)
        .await
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

struct Pending {
    message: OutboxMessage,
    done: oneshot::Sender<Result<(), OutboxError>>,
}

/// Group commit for hot paths whose only write is the event (module docs of the crate).
///
/// Cheap to clone; all clones feed one writer task.
#[derive(Clone)]
pub struct OutboxWriter {
    tx: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for OutboxWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboxWriter")
    }
}

impl OutboxWriter {
    /// Starts `writers` writer tasks: each takes up to `max_batch` waiting rows into one
    /// `INSERT`, so several commits (and their WAL flushes) overlap; `wake` is notified after each
    /// commit (pass the relay's notifier so events go out at once).
    pub fn spawn(pool: DbPool, wake: Arc<Notify>, max_batch: usize, writers: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (tx, rx) = mpsc::channel::<Pending>(max_batch * 8);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let rx = Arc::clone(&rx);
            let pool = pool.clone();
            let wake = Arc::clone(&wake);
            tokio::spawn(async move {
                let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
                loop {
                    // Hold the receiver only while taking a batch, never across the insert.
                    let mut receiver = rx.lock().await;
                    if receiver.recv_many(&mut batch, max_batch).await == 0 {
                        break;
                    }
                    // Let the other tasks that are ready on this thread (requests about to write
                    // their event) run once, then take what they queued: larger batches, fewer
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
                    let (messages, waiting): (Vec<OutboxMessage>, Vec<_>) =
                        batch.drain(..).map(|p| (p.message, p.done)).unzip();
                    let result = match pool.get().await {
                        Ok(mut conn) => enqueue(&mut conn, &messages)
                            .await
                            .map(|_| ())
                            .map_err(|e| OutboxError::Unavailable(e.to_string())),
                        Err(e) => Err(OutboxError::Unavailable(e.to_string())),
                    };
                    if let Err(e) = &result {
                        tracing::error!(error = %e, rows = messages.len(), "outbox batch insert failed");
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

    /// Stores `message`; returns once its row is committed.
    ///
    /// # Errors
    /// [`OutboxError`] when the row could not be committed.
    pub async fn write(&self, message: OutboxMessage) -> Result<(), OutboxError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending { message, done })
            .await
            .map_err(|_| OutboxError::Closed)?;
        wait.await.map_err(|_| OutboxError::Closed)?
    }
}

/// Makes one [`OutboxWriter`] per HTTP worker, each with its own small pool.
///
/// A tokio-postgres connection is driven by the runtime that opened it. actix runs one runtime
/// per worker thread, so a writer (and its connections) created on the worker's thread keeps a
/// request, its batch insert and the connection's I/O on that thread, with no cross-thread hops
/// on the hot path. Call [`OutboxWriterFactory::spawn`] inside `HttpServer::new`'s app factory,
/// which actix runs once on each worker's thread.
#[derive(Clone)]
pub struct OutboxWriterFactory {
    database_url: String,
    wake: Arc<Notify>,
    max_batch: usize,
    writers: usize,
    fallback: DbPool,
}

impl std::fmt::Debug for OutboxWriterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWriterFactory")
            .field("writers", &self.writers)
            .finish_non_exhaustive()
    }
}

impl OutboxWriterFactory {
    /// `writers` writer tasks per worker (each with its own connection), batches of up to
    /// `max_batch` rows, `wake` notified after each commit (the relay's notifier).
    ///
    /// # Errors
    /// When the pool configuration is invalid (checked once, here).
    pub fn new(
        database_url: &str,
        wake: Arc<Notify>,
        max_batch: usize,
        writers: usize,
    ) -> anyhow::Result<Self> {
        let writers = writers.max(1);
        let fallback = tessera_db::build_pool(database_url, Self::settings(writers))?;
        Ok(Self {
            database_url: database_url.to_owned(),
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
    pub fn spawn(&self) -> OutboxWriter {
        // The configuration was validated in `new`, so this does not fail; the fallback keeps
        // the function total.
        let pool = tessera_db::build_pool(&self.database_url, Self::settings(self.writers))
            .unwrap_or_else(|_| self.fallback.clone());
        OutboxWriter::spawn(pool, Arc::clone(&self.wake), self.max_batch, self.writers)
    }
}
