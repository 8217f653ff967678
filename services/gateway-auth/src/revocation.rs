//! What the gateway knows of revoked identity sessions (issue #17).
//!
//! identity publishes `identity.session.revoked` (`{tenant, agentId, reason, sessions:
//! [{sessionId, expiresAt}]}`) in the transaction of a logout, an agent's disabling, or a role
//! change that makes the tokens' `roles` stale. [`spawn_feed`] consumes it from RabbitMQ on an
//! exclusive queue of this instance (every replica sees every event) into a [`Revocations`]
//! set, where each session id stays until its `expiresAt` — after that every token of the
//! session is expired anyway.
//!
//! The set only knows what arrived while the feed was connected. [`Revocations::judge`] says
//! [`Judgement::Unknown`] for a token the feed cannot vouch for: issued before the feed was
//! live (plus [`CLOCK_MARGIN`]), or any token while the feed is down. The gateway then asks
//! identity about that one token (`GET /tenants/{slug}/session`), and keeps the answer only
//! as long as it stays true: while the feed stays up since before the answer, or
//! [`UNFED_ANSWER_TTL`] when it is down.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use lapin::options::BasicAckOptions;
use serde::Deserialize;
use uuid::Uuid;

/// The routing key consumed.
pub const SESSION_REVOKED: &str = "identity.session.revoked";

/// Clocks of identity and the gateway may disagree by this much: a token is judged by the feed
/// only when issued at least this long after the feed became live.
pub const CLOCK_MARGIN: i64 = 5;

/// How long an answer of identity is kept while the feed is down: the revocation bound then.
pub const UNFED_ANSWER_TTL: Duration = Duration::from_secs(5);

/// Sentinel of [`Revocations::live_since`]: the feed is not connected.
const NOT_LIVE: i64 = i64::MIN;

/// The payload of `identity.session.revoked` (the fields the gateway reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRevoked {
    /// The revoked sessions.
    pub sessions: Vec<RevokedSession>,
}

/// One revoked session.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedSession {
    /// The tokens' `sid`.
    pub session_id: Uuid,
    /// When its tokens expire anyway.
    pub expires_at: DateTime<Utc>,
}

/// The feed's verdict on one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Its session was revoked.
    Revoked,
    /// Nothing revoked it, and the feed would have said so.
    Clear,
    /// The feed cannot tell (token older than the feed, or the feed is down): ask identity.
    Unknown,
}

/// The revoked sessions and the feed's liveness.
#[derive(Debug)]
pub struct Revocations {
    /// session id → expiry (Unix seconds).
    sessions: Mutex<HashMap<Uuid, i64>>,
    /// Unix seconds since which the feed has been continuously connected, or [`NOT_LIVE`].
    live_since: AtomicI64,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            live_since: AtomicI64::new(NOT_LIVE),
        }
    }
}

impl Revocations {
    /// Records the sessions of one event; forgets those already expired at `now`.
    pub fn revoke(&self, revoked: &SessionRevoked, now: DateTime<Utc>) {
        let now = now.timestamp();
        let Ok(mut map) = self.sessions.lock() else {
            return;
        };
        map.retain(|_, exp| *exp > now);
        for s in &revoked.sessions {
            let exp = s.expires_at.timestamp();
            if exp > now {
                map.insert(s.session_id, exp);
            }
        }
    }

    /// How many revoked sessions are held.
    pub fn len(&self) -> usize {
        self.sessions.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether session `sid` is known revoked.
    pub fn is_revoked(&self, sid: Uuid) -> bool {
        self.sessions
            .lock()
            .map(|m| m.contains_key(&sid))
            .unwrap_or(true)
    }

    /// Marks the feed connected (from `now`) or lost.
    pub fn set_live(&self, now: Option<DateTime<Utc>>) {
        self.live_since
            .store(now.map_or(NOT_LIVE, |t| t.timestamp()), Ordering::SeqCst);
    }

    /// Unix seconds since which the feed has been live, if it is.
    pub fn live_since(&self) -> Option<i64> {
        Some(self.live_since.load(Ordering::SeqCst)).filter(|t| *t != NOT_LIVE)
    }

    /// The verdict on a token of session `sid` issued at `iat` (Unix seconds).
    pub fn judge(&self, sid: Uuid, iat: i64) -> Judgement {
        if self.is_revoked(sid) {
            return Judgement::Revoked;
        }
        match self.live_since() {
            Some(since) if iat >= since.saturating_add(CLOCK_MARGIN) => Judgement::Clear,
            _ => Judgement::Unknown,
        }
    }

    /// Whether an answer identity gave at `checked_at` still holds at `now`: the feed has been
    /// live since before it (any later revocation would have arrived), or it is younger than
    /// [`UNFED_ANSWER_TTL`].
    pub fn answer_holds(&self, checked_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let fed = self
            .live_since()
            .is_some_and(|since| checked_at.timestamp() >= since);
        let young = (now - checked_at)
            .to_std()
            .is_ok_and(|age| age < UNFED_ANSWER_TTL);
        fed || young
    }
}

/// Consumes `identity.session.revoked` into `revocations` for as long as the process runs,
/// reconnecting (1 s, doubling to 30 s) whenever the broker is lost; the feed counts as live
/// only once its queue is bound.
pub fn spawn_feed(
    amqp_url: String,
    revocations: std::sync::Arc<Revocations>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            let result = consume(&amqp_url, &revocations).await;
            let was_live = revocations.live_since().is_some();
            revocations.set_live(None);
            if was_live {
                backoff = Duration::from_secs(1);
            }
            match result {
                Ok(()) => tracing::warn!("revocation feed closed by the broker; reconnecting"),
                Err(e) => tracing::warn!(
                    error = %e,
                    retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                    "revocation feed unavailable: tokens are checked with identity until it is back"
                ),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    })
}

async fn consume(amqp_url: &str, revocations: &Revocations) -> anyhow::Result<()> {
    let (_connection, mut deliveries) = tessera_events::broker::private_consumer(
        amqp_url,
        "gateway-auth revocations",
        SESSION_REVOKED,
    )
    .await?;
    revocations.set_live(Some(tessera_service::now()));
    tracing::info!("revocation feed live");
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        match serde_json::from_slice::<tessera_events::EventEnvelope<SessionRevoked>>(
            &delivery.data,
        ) {
            Ok(event) => {
                revocations.revoke(&event.data, tessera_service::now());
                tracing::info!(
                    event_id = %event.id,
                    sessions = event.data.sessions.len(),
                    "identity sessions revoked at the gateway"
                );
            }
            Err(e) => tracing::warn!(error = %e, "unreadable identity.session.revoked skipped"),
        }
        delivery.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_900_000_000 + s, 0).single().unwrap()
    }

    #[test]
    fn judges_by_the_feed_only_what_the_feed_could_have_seen() {
        let r = Revocations::default();
        let sid = Uuid::new_v4();
        assert_eq!(
            r.judge(sid, t(0).timestamp()),
            Judgement::Unknown,
            "feed down"
        );
        r.set_live(Some(t(100)));
        assert_eq!(
            r.judge(sid, t(50).timestamp()),
            Judgement::Unknown,
            "older than the feed"
        );
        assert_eq!(
            r.judge(sid, t(103).timestamp()),
            Judgement::Unknown,
            "within the margin"
        );
        assert_eq!(r.judge(sid, t(105).timestamp()), Judgement::Clear);
        r.revoke(
            &SessionRevoked {
                sessions: vec![RevokedSession {
                    session_id: sid,
                    expires_at: t(200),
                }],
            },
            t(110),
        );
        assert_eq!(r.judge(sid, t(105).timestamp()), Judgement::Revoked);
        assert_eq!(r.len(), 1);
        // Expired entries are dropped at the next event.
        r.revoke(&SessionRevoked { sessions: vec![] }, t(201));
        assert!(r.is_empty());
    }

    #[test]
    fn an_answer_of_identity_holds_while_the_feed_covers_it_or_briefly() {
        let r = Revocations::default();
        assert!(r.answer_holds(t(0), t(4)));
        assert!(!r.answer_holds(t(0), t(5)), "feed down: 5 s at most");
        r.set_live(Some(t(10)));
        assert!(
            r.answer_holds(t(12), t(1000)),
            "checked after the feed went live"
        );
        assert!(
            !r.answer_holds(t(8), t(1000)),
            "checked before: not covered"
        );
        r.set_live(None);
        assert!(!r.answer_holds(t(12), t(1000)), "the feed was lost");
    }
}
