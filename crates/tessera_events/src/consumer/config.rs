//! A consumer's settings: its queue, retries with back-off and the dead-letter queue.

use std::time::Duration;

/// What the consumer processes and how persistently.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `AMQP_URL`.
    pub amqp_url: String,
    /// The exchange to bind to.
    pub exchange: String,
    /// Durable queue name, e.g. `users-registration.notifications`.
    pub queue: String,
    /// Routing keys to bind (topic patterns allowed).
    pub bindings: Vec<String>,
    /// Consumer name recorded in `processed_events`.
    pub consumer: String,
    /// Attempts before dead-lettering (≥ 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles per attempt.
    pub base_backoff: Duration,
    /// Unacknowledged deliveries in flight.
    pub prefetch: u16,
    /// When set, the broker deletes the queue, its retry queues and its dead-letter queue once
    /// unused for this long (`x-expires`): for throw-away consumers such as a test's, whose
    /// durable queues would otherwise collect every later event. `None` (the default) for a
    /// service's own queues.
    pub expires: Option<Duration>,
}

impl ConsumerConfig {
    /// Defaults: exchange `tessera.events`, 5 attempts, 1 s base back-off, prefetch 16.
    pub fn new(
        amqp_url: impl Into<String>,
        queue: impl Into<String>,
        bindings: Vec<String>,
    ) -> Self {
        let queue = queue.into();
        Self {
            amqp_url: amqp_url.into(),
            exchange: crate::EXCHANGE.to_owned(),
            consumer: queue.clone(),
            queue,
            bindings,
            max_attempts: 5,
            base_backoff: Duration::from_secs(1),
            prefetch: 16,
            expires: None,
        }
    }

    /// `q.retry.<attempt>`.
    pub fn retry_queue(&self, attempt: u32) -> String {
        format!("{}.retry.{attempt}", self.queue)
    }

    /// `q.dlq`.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dlq", self.queue)
    }

    /// The queue arguments every queue of this consumer carries (`x-expires` when [`Self::expires`]
    /// is set).
    pub(super) fn base_arguments(&self) -> lapin::types::FieldTable {
        let mut args = lapin::types::FieldTable::default();
        if let Some(expires) = self.expires {
            let ms = u32::try_from(expires.as_millis())
                .unwrap_or(u32::MAX)
                .max(1);
            args.insert(
                lapin::types::ShortString::from("x-expires"),
                lapin::types::AMQPValue::LongUInt(ms),
            );
        }
        args
    }

    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        self.base_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_throw_away_consumer_sets_x_expires() {
        let mut c = ConsumerConfig::new("amqp://x", "q", vec![]);
        assert!(c.base_arguments().inner().is_empty());
        c.expires = Some(Duration::from_secs(300));
        assert_eq!(
            c.base_arguments()
                .inner()
                .get(&lapin::types::ShortString::from("x-expires")),
            Some(&lapin::types::AMQPValue::LongUInt(300_000))
        );
    }
}
