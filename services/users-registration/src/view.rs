//! The wire models (seed 004 "Modelos", camelCase): `User`, `Registration`, `AuthToken`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tessera_http::ApiError;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::db::registrations::Attachment;
use crate::db::users::UserRow;
use crate::document::{self, DocumentKeys};
use crate::domain::UserStatus;

/// A user profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// E-mail (normalised: lower-case).
    pub email: String,
    /// Role.
    pub role: Role,
    /// Normalised document number; masked (`*********01`) except to analysts.
    pub document_id: String,
    /// `PENDING` | `APPROVED` | `REJECTED`.
    #[schema(example = "PENDING")]
    pub status: UserStatus,
    /// The analyst's reason for the last status change, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Farm data, as submitted or last updated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub farm_data: Option<Value>,
    /// When the user signed up (RFC 3339).
    pub created_at: DateTime<Utc>,
    /// Last change (RFC 3339).
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// The view of `row` for `viewer`: the document in clear only for analysts.
    ///
    /// # Errors
    /// 500 when the sealed document does not open (wrong key, tampered row).
    pub fn of(row: UserRow, viewer: &Principal, keys: &DocumentKeys) -> Result<Self, ApiError> {
        let clear = viewer.role == Role::Analyst;
        let normalised = match (&row.document_id_sealed, &row.document_id) {
            (Some(sealed), _) => keys.reveal(row.id, sealed).map_err(ApiError::internal)?,
            (None, Some(legacy)) => document::normalise(legacy),
            (None, None) => String::new(),
        };
        let role = row.role();
        Ok(Self {
            id: row.id.into(),
            name: row.name,
            email: row.email,
            role,
            document_id: if clear {
                normalised
            } else {
                document::mask(&normalised)
            },
            status: row.status,
            status_reason: row.status_reason,
            farm_data: row.farm_data,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A registration (seed 004 "Registration").
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// Registration id.
    pub id: Uuid,
    /// The user it created (its current status included).
    pub user_candidate: User,
    /// Attachments, in submitted order.
    pub attachments: Vec<Attachment>,
    /// When it was submitted (RFC 3339).
    pub submitted_at: DateTime<Utc>,
}

/// A registration in `GET /registrations` (without its attachments: `GET /registrations/{id}`
/// has them).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationSummary {
    /// Registration id.
    pub id: Uuid,
    /// The user it created (its current status included).
    pub user_candidate: User,
    /// When it was submitted (RFC 3339).
    pub submitted_at: DateTime<Utc>,
}

/// `201` of `POST /registrations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCreated {
    /// The new registration's id.
    pub registration_id: Uuid,
    /// Always `PENDING`.
    #[schema(example = "PENDING")]
    pub status: UserStatus,
}

/// `200` of `POST /auth/login` and `POST /auth/refresh` (seed 004 "AuthToken").
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthToken {
    /// HS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque, single-use: exchange it at `POST /auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Seconds until `accessToken` expires.
    pub expires_in: u64,
    /// Always `Bearer` (RFC 6749 §5.1).
    pub token_type: &'static str,
}
