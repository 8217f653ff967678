//! The events users-registration publishes (seed 004 "Eventos"; ARCHITECTURE.md §2 event
//! table), written to the outbox in the transaction of the change that causes them.

use crate::auth::Role;
use crate::domain::{RegistrationId, UserId, UserStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_service::EventSource;

/// users-registration as the `source` of its events; [`EventSource::enqueue`] writes them.
pub const OUTBOX: EventSource = EventSource("users-registration");
/// `users.user.registered`: after a successful `POST /registrations`.
pub const REGISTERED: &str = "users.user.registered";
/// `users.user.approved`: after `PATCH /users/{id}/status` to `APPROVED`.
pub const APPROVED: &str = "users.user.approved";
/// `users.user.rejected`: after `PATCH /users/{id}/status` to `REJECTED`.
pub const REJECTED: &str = "users.user.rejected";

/// The candidate inside `users.user.registered`. `documentId` is masked (`*********01`): the
/// document is encrypted at rest and events are not the place to leak it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCandidate {
    /// Name.
    pub name: String,
    /// E-mail (normalised).
    pub email: String,
    /// Masked document.
    pub document_id: String,
    /// Role.
    pub role: Role,
}

/// `users.user.registered` data: `{registrationId, userCandidate:{name,email,documentId,role},
/// submittedAt}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    /// The registration id.
    pub registration_id: RegistrationId,
    /// The candidate.
    pub user_candidate: UserCandidate,
    /// RFC 3339.
    #[serde(with = "tessera_events::envelope::rfc3339")]
    pub submitted_at: DateTime<Utc>,
}

/// `users.user.approved` / `users.user.rejected` data: `{userId, status, reason?, timestamp}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChanged {
    /// The user id.
    pub user_id: UserId,
    /// `APPROVED` | `REJECTED`.
    pub status: UserStatus,
    /// The analyst's reason (always present for a rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// RFC 3339.
    #[serde(with = "tessera_events::envelope::rfc3339")]
    pub timestamp: DateTime<Utc>,
}
