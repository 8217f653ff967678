//! The notification dispatcher (seed 004 "Integrações: Notificação").
//!
//! Consumes `users.user.registered`, `users.user.approved` and `users.user.rejected` from its
//! own durable queue (`NOTIFY_QUEUE`) and `POST`s one message per event to `NOTIFY_ENDPOINT`:
//!
//! ```json
//! {"template": "registration_approved", "recipient": {"email": "ana@example.com", "name": "Ana"},
//!  "reason": null, "userId": "…", "registrationId": null, "eventId": "…", "occurredAt": "…"}
//! ```
//!
//! An approval of a user who signed up without a password also carries `passwordSetupUrl`
//! (`<PASSWORD_SETUP_URL>#token=<token>`) and `passwordSetupExpiresAt`: a one-time link made
//! when the message is built (only its hash is stored, `tessera_db::one_time`). A retried
//! attempt makes a new link; every link works until one of them sets the password, which
//! spends them all.
//!
//! Each call has `Idempotency-Key: <event id>` (a retried call after a lost answer is recognisable) and
//! the event's `X-Request-Id`. Any answer but 2xx, a timeout or a refused connection fails the
//! attempt: `tessera_events::Consumer` retries with exponential back-off (`NOTIFY_BACKOFF_MS`,
//! doubled per attempt) and dead-letters to `<queue>.dlq` after `NOTIFY_MAX_ATTEMPTS`, with
//! the last error in `x-last-error`. The status change that caused the event committed long
//! before: a notification outage never fails or loses it.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tessera_events::{ConsumerConfig, EventEnvelope, EventHandler};
use tessera_http::config::ServiceSettings;
use uuid::Uuid;

use crate::db::users;
use crate::domain::{RegistrationId, UserId};
use crate::events::{APPROVED, REGISTERED, REJECTED, Registered, StatusChanged};
use tessera_db::one_time::{self, Purpose};

/// The default durable queue of the dispatcher (`NOTIFY_QUEUE`).
pub use crate::config::DEFAULT_NOTIFY_QUEUE as QUEUE;

/// Template names sent to the notification service.
pub mod templates {
    /// After a sign-up: "we received your registration".
    pub const RECEIVED: &str = "registration_received";
    /// After approval: "you can log in".
    pub const APPROVED: &str = "registration_approved";
    /// After rejection, with the reason.
    pub const REJECTED: &str = "registration_rejected";
}

/// Who receives a notification.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Recipient {
    /// E-mail address.
    pub email: String,
    /// Name to greet.
    pub name: String,
}

/// The body `POST`ed to `NOTIFY_ENDPOINT`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// One of [`templates`].
    pub template: &'static str,
    /// Recipient.
    pub recipient: Recipient,
    /// The rejection reason, if any.
    pub reason: Option<String>,
    /// The user, for approvals and rejections.
    pub user_id: Option<UserId>,
    /// The registration, for sign-ups.
    pub registration_id: Option<RegistrationId>,
    /// The event this notification is for (also the `Idempotency-Key`).
    pub event_id: Uuid,
    /// When the event happened (RFC 3339).
    #[serde(with = "tessera_events::envelope::rfc3339")]
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// For an approval of a user without a password: the one-time set-password link
    /// (`<PASSWORD_SETUP_URL>#token=<token>`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_setup_url: Option<String>,
    /// When that link stops working (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_setup_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where set-password links point and how long they work (`PASSWORD_SETUP_URL`,
/// `PASSWORD_SETUP_TTL_SECONDS`).
#[derive(Debug, Clone)]
pub struct PasswordSetup {
    /// The page's URL; the token goes in its fragment.
    pub url: String,
    /// Lifetime of a link.
    pub ttl: chrono::TimeDelta,
}

/// Calls `NOTIFY_ENDPOINT` for each event.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    client: tessera_telemetry::http::HttpClient,
    endpoint: String,
    token: Option<SecretString>,
    password_setup: PasswordSetup,
}

impl Dispatcher {
    /// A dispatcher for `endpoint` with a per-call `timeout`; approvals of users without a
    /// password get links per `password_setup`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(
        endpoint: &str,
        token: Option<SecretString>,
        timeout: Duration,
        password_setup: PasswordSetup,
    ) -> anyhow::Result<Self> {
        let client = tessera_telemetry::http::traced(
            reqwest::Client::builder()
                .timeout(timeout)
                .user_agent(concat!(
                    "tessera-users-registration/",
                    env!("CARGO_PKG_VERSION")
                ))
                .build()?,
        );
        Ok(Self {
            client,
            endpoint: endpoint.to_owned(),
            token,
            password_setup,
        })
    }

    /// The notification for `event`, reading the recipient of a status change from the users
    /// table; `None` for an event this dispatcher does not notify. For an approval of a user
    /// without a password, stores a new set-password token on `conn` and puts its link in.
    ///
    /// # Errors
    /// Undecodable data, a user that does not exist, or a token that cannot be stored.
    pub async fn notification(
        &self,
        conn: &mut AsyncPgConnection,
        event: &EventEnvelope,
    ) -> anyhow::Result<Option<Notification>> {
        let kind = event.kind.as_str();
        if kind == REGISTERED {
            let data: Registered = serde_json::from_value(event.data.clone())?;
            return Ok(Some(Notification {
                template: templates::RECEIVED,
                recipient: Recipient {
                    email: data.user_candidate.email,
                    name: data.user_candidate.name,
                },
                reason: None,
                user_id: None,
                registration_id: Some(data.registration_id),
                event_id: event.id,
                occurred_at: event.time,
                password_setup_url: None,
                password_setup_expires_at: None,
            }));
        }
        let template = match kind {
            APPROVED => templates::APPROVED,
            REJECTED => templates::REJECTED,
            _ => return Ok(None),
        };
        let data: StatusChanged = serde_json::from_value(event.data.clone())?;
        let user = users::user(conn, data.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("user {} not found", data.user_id))?;
        let link = if template == templates::APPROVED && !users::has_password(conn, user.id).await?
        {
            Some(self.password_setup_link(conn, user.id).await?)
        } else {
            None
        };
        let (password_setup_url, password_setup_expires_at) = link.unzip();
        Ok(Some(Notification {
            template,
            recipient: Recipient {
                email: user.email,
                name: user.name,
            },
            reason: data.reason,
            user_id: Some(data.user_id),
            registration_id: None,
            event_id: event.id,
            occurred_at: event.time,
            password_setup_url,
            password_setup_expires_at,
        }))
    }

    /// A new one-time set-password link for `user_id` (its token's hash stored on `conn`) and
    /// its expiry. The clock is read here: the dispatcher is an entry point.
    async fn password_setup_link(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: UserId,
    ) -> anyhow::Result<(String, chrono::DateTime<chrono::Utc>)> {
        let now = tessera_service::now();
        let expires_at = now + self.password_setup.ttl;
        let token =
            one_time::issue(conn, Purpose::PASSWORD_SETUP, user_id, now, expires_at).await?;
        Ok((
            format!("{}#token={token}", self.password_setup.url),
            expires_at,
        ))
    }

    /// Sends one notification.
    ///
    /// # Errors
    /// A transport error or a non-2xx answer (its status, never its body).
    pub async fn send(
        &self,
        notification: &Notification,
        request_id: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut req = self
            .client
            .post(&self.endpoint)
            .header("Idempotency-Key", notification.event_id.to_string())
            .json(notification);
        if let Some(id) = request_id {
            req = req.header("X-Request-Id", id);
        }
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        let resp = req.send().await.map_err(|e| {
            anyhow::anyhow!(
                "notification endpoint unreachable: {}",
                tessera_telemetry::http::error_text(e)
            )
        })?;
        let status = resp.status();
        if !status.is_success() {
            anyhow::bail!("notification endpoint answered {status}");
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl EventHandler for Dispatcher {
    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &EventEnvelope,
    ) -> anyhow::Result<()> {
        let Some(notification) = self.notification(conn, event).await? else {
            return Ok(());
        };
        self.send(&notification, event.request_id.as_deref())
            .await?;
        tracing::info!(event.id = %event.id, template = notification.template, "notification sent");
        Ok(())
    }
}

/// The dispatcher's consumer configuration: `queue` bound to the three `users.user.*` keys on the
/// service's events exchange ([`tessera_service::consumer_config`]), `max_attempts` tries with
/// `backoff` doubling.
pub fn config(
    base: &ServiceSettings,
    queue: &str,
    max_attempts: u32,
    backoff: Duration,
) -> ConsumerConfig {
    let mut c = tessera_service::consumer_config(
        base,
        queue,
        vec![
            REGISTERED.to_owned(),
            APPROVED.to_owned(),
            REJECTED.to_owned(),
        ],
    );
    c.max_attempts = max_attempts.max(1);
    c.base_backoff = backoff;
    c
}

/// Builds the dispatcher from the configuration; `None` when `NOTIFY_ENDPOINT` is not set.
///
/// # Errors
/// The HTTP client cannot be built.
pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Option<Arc<Dispatcher>>> {
    config
        .notify_url()
        .map(|url| {
            Dispatcher::new(
                url,
                config.notify_token.clone(),
                Duration::from_secs(config.notify_timeout_seconds),
                PasswordSetup {
                    url: config.password_setup_url.clone(),
                    ttl: config.password_setup_ttl(),
                },
            )
            .map(Arc::new)
        })
        .transpose()
}
