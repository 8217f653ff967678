#![doc = include_str!("../README.md")]

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::BasicAckOptions;
use serde_json::Value;

/// A decoded HTTP response.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON, or a JSON string holding the raw text when it is not JSON.
    pub body: Value,
}

impl Reply {
    /// The error envelope without its `request_id` (which differs per request), for comparing
    /// two refusals byte for byte.
    pub fn envelope_sans_request_id(&self) -> Value {
        let mut b = self.body.clone();
        if let Some(map) = b.as_object_mut() {
            map.remove("request_id");
        }
        b
    }
}

/// An HTTP client for one service under test.
#[derive(Debug, Clone)]
pub struct Api {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The client (keep-alive).
    pub client: reqwest::Client,
}

impl Api {
    /// A client for `base`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            client: reqwest::Client::new(),
        }
    }

    /// Sends one request: optional bearer token, JSON body and extra headers.
    ///
    /// # Panics
    /// When the request cannot be sent (the server is not there): a test failure.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => unreachable_server(&self.base, &e),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }
}

#[expect(clippy::panic, reason = "test support: a failed send is a failed test")]
fn unreachable_server(base: &str, e: &reqwest::Error) -> ! {
    panic!("request to {base} not sent: {e}")
}

/// A queue bound to one routing key on `tessera.events`, on the real broker.
pub struct EventTap {
    _conn: lapin::Connection,
    consumer: lapin::Consumer,
}

impl std::fmt::Debug for EventTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventTap")
    }
}

impl EventTap {
    /// Binds a fresh exclusive queue to `routing_key` (`TEST_AMQP_URL` or the local broker).
    ///
    /// # Errors
    /// The broker is unreachable.
    pub async fn bind(routing_key: &str) -> Result<Self, tessera_events::broker::BrokerError> {
        let (conn, consumer) =
            tessera_events::testing::tap(&tessera_events::testing::amqp_url(), routing_key).await?;
        Ok(Self {
            _conn: conn,
            consumer,
        })
    }

    /// The first event (envelope JSON) for which `matches` holds, with its AMQP properties,
    /// within `within`; others are acknowledged and skipped.
    pub async fn next_matching(
        &mut self,
        within: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<(Value, lapin::BasicProperties)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            let delivery = tokio::time::timeout(left, self.consumer.next())
                .await
                .ok()??
                .ok()?;
            let _ = delivery.ack(BasicAckOptions::default()).await;
            let body: Value = serde_json::from_slice(&delivery.data).ok()?;
            if matches(&body) {
                return Some((body, delivery.properties));
            }
        }
    }
}

/// Segment `i` of a compact JWT (0 = header, 1 = payload) decoded as JSON, without verifying;
/// `Value::Null` when it is not there or not base64url JSON.
pub fn jwt_segment(token: &str, i: usize) -> Value {
    use base64::Engine;
    token
        .split('.')
        .nth(i)
        .and_then(|part| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}
