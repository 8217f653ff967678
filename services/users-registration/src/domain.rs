//! users-registration's domain types (STYLE.md §2): its ids, and the closed sets its rows and
//! bodies hold. The ids are the tables' `UUID` keys as types of their own
//! (`tessera_db::uuid_id!`): a query that takes a session and a user cannot be called with the
//! two swapped; bodies and events carry them as the same UUID strings as before.
//! Roles carry the scope rules (seed 004 "Políticas de segurança e autorização"); the
//! authenticated caller of a request is a [`Principal`] (extracted by `crate::auth`).

use tessera_http::ApiError;

tessera_db::uuid_id! {
    /// A user's id (`users.id`; `user_id` elsewhere; the `sub` of its access tokens).
    pub struct UserId;
}

tessera_db::uuid_id! {
    /// A login session's id (`sessions.id`; the `sid` of its access tokens).
    pub struct SessionId;
}

tessera_db::uuid_id! {
    /// A registration's id (`registrations.id`).
    pub struct RegistrationId;
}

tessera_db::wire_enum! {
    /// A user's status (seed 004 "User.status"): a sign-up waits as `PENDING` until an analyst
    /// approves or rejects it; only `APPROVED` users sign in.
    pub enum UserStatus {
        /// Submitted, waiting for an analyst.
        Pending = "PENDING",
        /// May log in.
        Approved = "APPROVED",
        /// Refused, with a reason.
        Rejected = "REJECTED",
    }
}

/// Read user profiles (own, or any for analysts and auditors).
pub const USERS_READ: &str = "users:read";
/// Change profile fields (own, or any for analysts).
pub const USERS_WRITE: &str = "users:write";
/// Submit registrations.
pub const REGISTRATIONS_WRITE: &str = "registrations:write";
/// Approve or reject users.
pub const ADMIN_USERS: &str = "admin:users";
/// Every scope the service knows.
pub const SCOPES: [&str; 4] = [USERS_READ, USERS_WRITE, REGISTRATIONS_WRITE, ADMIN_USERS];

tessera_db::wire_enum! {
    /// A user's role (seed 004 "User.role").
    pub enum Role {
        /// A rural producer: own data only.
        Producer = "producer",
        /// Reviews registrations (`admin:users`).
        Analyst = "analyst",
        /// Reads everything, changes nothing.
        Auditor = "auditor",
    }
}

impl Role {
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The role's scopes when the user has no explicit ones: producer ⇒ `users:read`,
    /// `users:write`, `registrations:write` (own data); analyst ⇒ `users:read`, `users:write`,
    /// `admin:users`; auditor ⇒ `users:read`.
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Self::Producer => &[USERS_READ, USERS_WRITE, REGISTRATIONS_WRITE],
            Self::Analyst => &[USERS_READ, USERS_WRITE, ADMIN_USERS],
            Self::Auditor => &[USERS_READ],
        }
    }

    /// Whether the role may see other users' data (analysts and auditors).
    pub fn sees_everyone(self) -> bool {
        self != Self::Producer
    }
}

/// The user's effective scopes: the explicit ones, else the role's defaults.
pub fn effective_scopes(role: Role, explicit: Option<&[String]>) -> Vec<String> {
    match explicit {
        Some(s) => s.to_vec(),
        None => role
            .default_scopes()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

/// The authenticated caller of a protected endpoint, as of this request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id.
    pub user_id: UserId,
    /// The login session.
    pub session_id: SessionId,
    /// Current role.
    pub role: Role,
    /// Current effective scopes.
    pub scopes: Vec<String>,
}

impl Principal {
    /// Whether the caller has `scope`.
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// 403 `forbidden` with `reason` = `missing_scope` unless the caller has `scope`.
    ///
    /// # Errors
    /// The 403.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "missing_scope",
                format!("This action requires the {scope} scope."),
            ))
        }
    }

    /// Whether the caller may read the data of user `owner`: its own (with `users:read`), or
    /// anyone's for analysts and auditors.
    pub fn may_read(&self, owner: UserId) -> bool {
        self.has(USERS_READ) && (owner == self.user_id || self.role.sees_everyone())
    }
}
