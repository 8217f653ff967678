//! The event envelope (ARCHITECTURE.md §2 "Events").

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `{"id", "type", "source", "time", "request_id", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope<T = serde_json::Value> {
    /// Unique event id (UUID v7, time-ordered); also the AMQP `message_id`.
    pub id: Uuid,
    /// The routing key, `<service>.<aggregate>.<event>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The publishing service.
    pub source: String,
    /// When the event happened (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub time: DateTime<Utc>,
    /// The request that caused it, if any.
    pub request_id: Option<String>,
    /// The event's payload.
    pub data: T,
}

impl<T: Serialize> EventEnvelope<T> {
    /// A new event with a fresh UUID v7 id; `time` is kept to the millisecond, as on the wire.
    pub fn new(
        source: &str,
        kind: &str,
        data: T,
        request_id: Option<String>,
        time: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind: kind.to_owned(),
            source: source.to_owned(),
            time: time.trunc_subsecs(3),
            request_id,
            data,
        }
    }
}

/// `#[serde(with = "tessera_events::envelope::rfc3339")]`: an instant as RFC 3339 with
/// milliseconds and `Z` ([`format_time`]), the platform's wire format.
pub mod rfc3339 {
    use super::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `t` as RFC 3339 (milliseconds, `Z`).
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    /// Reads any RFC 3339 instant.
    ///
    /// # Errors
    /// Not a string, or not RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// RFC 3339 with milliseconds and `Z`, the platform's wire format for instants.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_the_contract_field_names() {
        let t = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = EventEnvelope::new(
            "control-plane",
            "control-plane.peer_token.issued",
            serde_json::json!({"a": 1}),
            Some("r1".into()),
            t,
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "control-plane.peer_token.issued");
        assert_eq!(v["source"], "control-plane");
        assert_eq!(v["time"], "2026-11-21T10:00:00.000Z");
        assert_eq!(v["request_id"], "r1");
        assert_eq!(v["data"]["a"], 1);
        let back: EventEnvelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
