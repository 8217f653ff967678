//! Operating a consumer's dead-letter queue `q.dlq` ([`crate::consumer`]): what the services'
//! `dlq list` and `dlq replay` commands run (issue #21), instead of a hand-written shovel.
//!
//! - [`list`] reads up to `limit` dead letters without removing any: each is fetched
//!   unacknowledged and all go back to the queue, in their order, when the channel closes.
//! - [`replay`] moves the chosen dead letters (by event id, or all) back into the consumer's own
//!   queue `q`: each is republished with a broker confirm — body, `message_id` and headers kept,
//!   minus the attempt count and last error, so the consumer starts its attempts afresh — and only
//!   then removed from `q.dlq`. The consumer deduplicates by event id, so an event that was in
//!   fact processed is not processed twice.

use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};

use crate::broker::{BrokerError, Publisher};
use crate::consumer::{ATTEMPT_HEADER, LAST_ERROR_HEADER};

/// Most dead letters one `replay` looks at (a bound on one run, not on the queue).
pub const MAX_SCAN: usize = 100_000;

/// One dead letter, as `dlq list` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    /// The AMQP `message_id`: the event id.
    pub event_id: String,
    /// The event's `type` (its routing key), read from the body when it is an event.
    pub event_type: Option<String>,
    /// Attempts made before it was dead-lettered (`x-attempt`).
    pub attempts: Option<u32>,
    /// The last handler error (`x-last-error`, at most 500 characters).
    pub last_error: Option<String>,
}

/// Which dead letters [`replay`] moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Every one in the queue now.
    All,
    /// Those with these event ids.
    Ids(Vec<String>),
}

fn header_string(headers: &FieldTable, name: &str) -> Option<String> {
    match headers.inner().get(&ShortString::from(name))? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn header_u32(headers: &FieldTable, name: &str) -> Option<u32> {
    match headers.inner().get(&ShortString::from(name))? {
        AMQPValue::LongUInt(n) => Some(*n),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        _ => None,
    }
}

fn describe(delivery: &lapin::message::Delivery) -> DeadLetter {
    let headers = delivery.properties.headers().clone().unwrap_or_default();
    let body: Option<serde_json::Value> = serde_json::from_slice(&delivery.data).ok();
    DeadLetter {
        event_id: delivery
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .or_else(|| {
                body.as_ref()
                    .and_then(|b| b.get("id")?.as_str().map(str::to_owned))
            })
            .unwrap_or_default(),
        event_type: body.and_then(|b| b.get("type")?.as_str().map(str::to_owned)),
        attempts: header_u32(&headers, ATTEMPT_HEADER),
        last_error: header_string(&headers, LAST_ERROR_HEADER),
    }
}

/// Up to `limit` dead letters of `queue`'s dead-letter queue (`queue.dlq`), oldest first;
/// none is removed.
///
/// # Errors
/// [`BrokerError`] when the broker is unreachable or the queue does not exist.
pub async fn list(
    amqp_url: &str,
    queue: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>, BrokerError> {
    let reader = Reader::open(amqp_url, "dlq list", queue).await?;
    let mut found = Vec::new();
    while found.len() < limit {
        let Some(delivery) = reader.next().await? else {
            break;
        };
        found.push(describe(&delivery));
    }
    reader.close().await;
    Ok(found)
}

/// A channel taking the dead letters of one queue, one at a time and unacknowledged: what is
/// not acknowledged goes back, in its order, when the reader closes.
struct Reader {
    connection: lapin::Connection,
    channel: lapin::Channel,
    dlq: String,
}

impl Reader {
    async fn open(amqp_url: &str, name: &str, queue: &str) -> Result<Self, BrokerError> {
        let connection = crate::broker::connect(amqp_url, name).await?;
        let channel = connection.create_channel().await?;
        Ok(Self {
            connection,
            channel,
            dlq: format!("{queue}.dlq"),
        })
    }

    async fn next(&self) -> Result<Option<lapin::message::Delivery>, BrokerError> {
        Ok(self
            .channel
            .basic_get(
                ShortString::from(self.dlq.as_str()),
                BasicGetOptions { no_ack: false },
            )
            .await?
            .map(|m| m.delivery))
    }

    async fn close(self) {
        let _ = self.channel.close(200, ShortString::from("done")).await;
        let _ = self.connection.close(200, ShortString::from("bye")).await;
    }
}

/// Moves the chosen dead letters of `queue.dlq` back into `queue`; returns their event ids.
///
/// # Errors
/// [`BrokerError`] when the broker is unreachable, the queue does not exist, or a republish is
/// not confirmed (that dead letter then stays where it was).
pub async fn replay(
    amqp_url: &str,
    queue: &str,
    which: &Replay,
) -> Result<Vec<String>, BrokerError> {
    let publisher = Publisher::connect(amqp_url, "dlq replay", crate::EXCHANGE).await?;
    let reader = Reader::open(amqp_url, "dlq replay reader", queue).await?;
    let mut replayed = Vec::new();
    for _ in 0..MAX_SCAN {
        let Some(delivery) = reader.next().await? else {
            break;
        };
        let letter = describe(&delivery);
        // An event replayed by this run and already dead-lettered again stays put.
        let chosen = !replayed.contains(&letter.event_id)
            && match which {
                Replay::All => true,
                Replay::Ids(ids) => ids.contains(&letter.event_id),
            };
        if !chosen {
            continue;
        }
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        let mut kept = FieldTable::default();
        for (k, v) in headers.inner() {
            if k.as_str() != ATTEMPT_HEADER && k.as_str() != LAST_ERROR_HEADER {
                kept.insert(k.clone(), v.clone());
            }
        }
        headers = kept;
        publisher
            .publish_confirmed("", queue, &letter.event_id, &delivery.data, headers)
            .await?;
        delivery.ack(BasicAckOptions::default()).await?;
        replayed.push(letter.event_id);
    }
    reader.close().await;
    publisher.close().await;
    Ok(replayed)
}
