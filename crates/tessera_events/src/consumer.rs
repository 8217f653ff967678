//! Idempotent consumers with retries, back-off and a dead-letter queue.
//!
//! Topology for a queue `q` (all durable, on the default exchange unless said otherwise):
//! - `q`, bound to [`crate::EXCHANGE`] with each binding key; rejected messages dead-letter to `q.dlq`;
//! - `q.retry.<n>` for attempt `n` (1-based) with `x-message-ttl = base_backoff × 2^(n-1)`,
//!   dead-lettering back into `q` when the TTL expires;
//! - `q.dlq`, where a message lands after `max_attempts` failures (header `x-last-error`).
//!
//! A delivery is acknowledged only after its outcome is durable: committed (success or
//! duplicate), or republished with a broker confirm (retry or dead letter).

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use tessera_db::DbPool;
use tokio::sync::watch;
use tracing::Instrument;

use crate::broker::{BrokerError, Publisher, declare_exchange};
use crate::envelope::EventEnvelope;
use crate::schema::processed_events;

mod config;
pub use config::*;

/// Header counting delivery attempts (1 on the first delivery).
pub const ATTEMPT_HEADER: &str = "x-attempt";

/// Header on dead letters: the last handler error.
pub const LAST_ERROR_HEADER: &str = "x-last-error";

/// A handler of events; runs inside the transaction that records the event as processed.
/// Implementations are `#[async_trait::async_trait]` impls (the consumer holds the handler as
/// `Arc<dyn EventHandler>`).
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Handles `event`. An `Err` rolls back everything it wrote and schedules a retry.
    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &EventEnvelope,
    ) -> anyhow::Result<()>;
}

/// Runs a consumer until stopped; reconnects on broker failures.
pub struct Consumer {
    pool: DbPool,
    config: ConsumerConfig,
    handler: Arc<dyn EventHandler>,
}

/// What happened to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handler succeeded and the event id was recorded.
    Processed,
    /// The event id was already recorded: acknowledged without running the handler.
    Duplicate,
    /// Handler failed: republished to a retry queue.
    Retried,
    /// Handler failed `max_attempts` times, or the message was not an event: dead-lettered.
    DeadLettered,
}

impl Outcome {
    /// The `outcome` label of `events_consumed_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Duplicate => "duplicate",
            Self::Retried => "retried",
            Self::DeadLettered => "dead_lettered",
        }
    }
}

fn attempt_of(delivery: &Delivery) -> u32 {
    delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(&ShortString::from(ATTEMPT_HEADER)).cloned())
        .and_then(|v| match v {
            AMQPValue::LongUInt(n) => Some(n),
            AMQPValue::LongLongInt(n) => u32::try_from(n).ok(),
            AMQPValue::LongInt(n) => u32::try_from(n).ok(),
            _ => None,
        })
        .unwrap_or(1)
}

impl Consumer {
    /// A consumer of `config.queue` calling `handler`.
    pub fn new(pool: DbPool, config: ConsumerConfig, handler: Arc<dyn EventHandler>) -> Self {
        Self {
            pool,
            config,
            handler,
        }
    }

    /// Declares the queues and bindings of the module docs.
    ///
    /// # Errors
    /// [`BrokerError`].
    pub async fn declare(&self, publisher: &Publisher) -> Result<(), BrokerError> {
        let ch = publisher.channel();
        let cfg = &self.config;
        declare_exchange(ch, &cfg.exchange).await?;
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.queue_declare(
            ShortString::from(cfg.dead_letter_queue()),
            durable,
            cfg.base_arguments(),
        )
        .await?;
        let mut main_args = cfg.base_arguments();
        main_args.insert(
            ShortString::from("x-dead-letter-exchange"),
            AMQPValue::LongString(LongString::from("")),
        );
        main_args.insert(
            ShortString::from("x-dead-letter-routing-key"),
            AMQPValue::LongString(LongString::from(cfg.dead_letter_queue())),
        );
        ch.queue_declare(ShortString::from(cfg.queue.as_str()), durable, main_args)
            .await?;
        for key in &cfg.bindings {
            crate::broker::bind(ch, &cfg.queue, &cfg.exchange, key).await?;
        }
        for attempt in 1..cfg.max_attempts.max(1) {
            let mut args = cfg.base_arguments();
            let ttl = u32::try_from(cfg.backoff(attempt).as_millis()).unwrap_or(u32::MAX);
            args.insert(ShortString::from("x-message-ttl"), AMQPValue::LongUInt(ttl));
            args.insert(
                ShortString::from("x-dead-letter-exchange"),
                AMQPValue::LongString(LongString::from("")),
            );
            args.insert(
                ShortString::from("x-dead-letter-routing-key"),
                AMQPValue::LongString(LongString::from(cfg.queue.as_str())),
            );
            ch.queue_declare(ShortString::from(cfg.retry_queue(attempt)), durable, args)
                .await?;
        }
        Ok(())
    }

    /// Declares the topology now, waiting at most `within`, so events published from now on
    /// reach the queue even before the consumer's first session (a first deployment's relay
    /// may publish before the consumer task connects). Best effort: `false` (logged) when the
    /// broker is not reachable in time; the consumer declares again when it connects.
    pub async fn declare_now(&self, within: Duration) -> bool {
        let attempt = async {
            let name = format!("{}-declare", self.config.consumer);
            let publisher =
                Publisher::connect(&self.config.amqp_url, &name, &self.config.exchange).await?;
            let declared = self.declare(&publisher).await;
            publisher.close().await;
            declared
        };
        match tokio::time::timeout(within, attempt).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(queue = %self.config.queue, error = %e, "queue not declared yet; the consumer will declare it when the broker is reachable");
                false
            }
            Err(_) => {
                tracing::warn!(queue = %self.config.queue, "broker unreachable; the consumer will declare its queue when it connects");
                false
            }
        }
    }

    /// Consumes until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        while !*stop.borrow() {
            match self.session(&mut stop).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, queue = %self.config.queue, "consumer lost the broker; reconnecting");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Starts [`Self::run`] as a task; returns the stop switch and the task.
    pub fn spawn(self) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        crate::metrics::consumer_started(&self.config.queue);
        let (tx, rx) = watch::channel(false);
        (tx, tokio::spawn(self.run(rx)))
    }

    async fn session(&self, stop: &mut watch::Receiver<bool>) -> Result<(), BrokerError> {
        let name = format!("{}-consumer", self.config.consumer);
        let publisher =
            Publisher::connect(&self.config.amqp_url, &name, &self.config.exchange).await?;
        self.declare(&publisher).await?;
        let consume_channel = publisher.channel();
        consume_channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = consume_channel
            .basic_consume(
                ShortString::from(self.config.queue.as_str()),
                ShortString::from(name.as_str()),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue = %self.config.queue, "consumer started");
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    publisher.close().await;
                    return Ok(());
                }
                next = deliveries.next() => {
                    let Some(delivery) = next else {
                        return Err(BrokerError::Amqp("consumer stream ended".to_owned()));
                    };
                    let delivery = delivery?;
                    let outcome = self.process(&publisher, &delivery).await?;
                    tracing::debug!(?outcome, "delivery handled");
                    delivery.ack(BasicAckOptions::default()).await?;
                    crate::metrics::CONSUMED
                        .with_label_values(&[self.config.queue.as_str(), outcome.as_str()])
                        .inc();
                }
            }
        }
    }

    /// Handles one delivery and makes its outcome durable; the caller then acks it.
    async fn process(
        &self,
        publisher: &Publisher,
        delivery: &Delivery,
    ) -> Result<Outcome, BrokerError> {
        let attempt = attempt_of(delivery);
        let event: EventEnvelope = match serde_json::from_slice(&delivery.data) {
            Ok(e) => e,
            Err(e) => {
                self.dead_letter(
                    publisher,
                    delivery,
                    attempt,
                    &format!("not an event envelope: {e}"),
                )
                .await?;
                return Ok(Outcome::DeadLettered);
            }
        };
        let span = tracing::info_span!("consume", event.id = %event.id, event.type = %event.kind,
            request_id = event.request_id.as_deref().unwrap_or(""), attempt,
            otel.name = %format_args!("process {}", self.config.queue), otel.kind = "consumer",
            messaging.system = "rabbitmq", messaging.operation.type = "process",
            messaging.operation.name = "process",
            messaging.destination.name = %self.config.queue, messaging.message.id = %event.id,
            messaging.rabbitmq.destination.routing_key = %event.kind,
            trace_id = tracing::field::Empty, span_id = tracing::field::Empty);
        // The publisher's trace context travels in the message headers (the outbox stores
        // `tessera_telemetry::trace_headers()` with the event): the consume span continues it.
        tessera_telemetry::set_parent_from(&span, &trace_context(delivery));
        tessera_telemetry::record_trace_ids(&span);
        let result = self.handle_once(&event).instrument(span).await;
        match result {
            Ok(true) => Ok(Outcome::Processed),
            Ok(false) => Ok(Outcome::Duplicate),
            Err(e) if attempt < self.config.max_attempts => {
                tracing::warn!(event.id = %event.id, attempt, error = %e, "handler failed; will retry");
                let mut headers = delivery.properties.headers().clone().unwrap_or_default();
                headers.insert(
                    ShortString::from(ATTEMPT_HEADER),
                    AMQPValue::LongUInt(attempt + 1),
                );
                publisher
                    .publish_confirmed(
                        "",
                        &self.config.retry_queue(attempt),
                        &event.id.to_string(),
                        &delivery.data,
                        headers,
                    )
                    .await?;
                Ok(Outcome::Retried)
            }
            Err(e) => {
                tracing::error!(event.id = %event.id, attempt, error = %e, "handler failed; dead-lettering");
                self.dead_letter(publisher, delivery, attempt, &e.to_string())
                    .await?;
                Ok(Outcome::DeadLettered)
            }
        }
    }

    /// `Ok(true)` processed now, `Ok(false)` already processed before.
    async fn handle_once(&self, event: &EventEnvelope) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await?;
        let consumer = self.config.consumer.as_str();
        let handler = Arc::clone(&self.handler);
        AsyncConnection::transaction::<bool, anyhow::Error, _>(
            &mut *conn,
            async move |c: &mut AsyncPgConnection| {
                let inserted = diesel::insert_into(processed_events::table)
                    .values((
                        processed_events::consumer.eq(consumer),
                        processed_events::event_id.eq(event.id),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?;
                if inserted == 0 {
                    return Ok(false);
                }
                handler.handle(c, event).await?;
                Ok(true)
            },
        )
        .await
    }

    async fn dead_letter(
        &self,
        publisher: &Publisher,
        delivery: &Delivery,
        attempt: u32,
        error: &str,
    ) -> Result<(), BrokerError> {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(
            ShortString::from(ATTEMPT_HEADER),
            AMQPValue::LongUInt(attempt),
        );
        let error: String = error.chars().take(500).collect();
        headers.insert(
            ShortString::from(LAST_ERROR_HEADER),
            AMQPValue::LongString(LongString::from(error)),
        );
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        publisher
            .publish_confirmed(
                "",
                &self.config.dead_letter_queue(),
                &id,
                &delivery.data,
                headers,
            )
            .await
    }
}

/// The W3C trace-context headers (`traceparent`, `tracestate`) of a delivery.
fn trace_context(delivery: &Delivery) -> std::collections::HashMap<String, String> {
    let mut carrier = std::collections::HashMap::new();
    if let Some(headers) = delivery.properties.headers() {
        for key in ["traceparent", "tracestate"] {
            if let Some(AMQPValue::LongString(v)) = headers.inner().get(key) {
                carrier.insert(
                    key.to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                );
            }
        }
    }
    carrier
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_attempt() {
        let cfg = ConsumerConfig::new("amqp://x", "q", vec![]);
        assert_eq!(cfg.backoff(1), Duration::from_secs(1));
        assert_eq!(cfg.backoff(2), Duration::from_secs(2));
        assert_eq!(cfg.backoff(4), Duration::from_secs(8));
        assert_eq!(cfg.retry_queue(2), "q.retry.2");
        assert_eq!(cfg.dead_letter_queue(), "q.dlq");
    }
}
