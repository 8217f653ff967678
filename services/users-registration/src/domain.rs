//! users-registration's domain types (STYLE.md §2): the closed sets its rows and bodies hold.
//! A user's role is [`crate::auth::Role`] (it carries the scope rules).

use serde::{Deserialize, Serialize};

tessera_db::text_enum! {
    /// A user's status (seed 004 "User.status"): a sign-up waits as `PENDING` until an analyst
    /// approves or rejects it; only `APPROVED` users sign in.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "UPPERCASE")]
    pub enum UserStatus {
        /// Submitted, waiting for an analyst.
        Pending = "PENDING",
        /// May log in.
        Approved = "APPROVED",
        /// Refused, with a reason.
        Rejected = "REJECTED",
    }
}
