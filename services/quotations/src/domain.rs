//! quotations' domain types (STYLE.md §2): the closed sets its rows hold.

use serde::{Deserialize, Serialize};

tessera_db::text_enum! {
    /// A stored quotation's status (seed 001): `invalid` marks one `quotations reconcile`
    /// found implausible; lists show `valid` ones unless asked.
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum QuotationStatus {
        /// Listed by default.
        Valid = "valid",
        /// Marked by reconcile, with a reason.
        Invalid = "invalid",
    }
}

tessera_db::text_enum! {
    /// How a collect run went (`collect_runs.status`).
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum RunStatus {
        /// Still collecting (or its process died; the scheduler marks it failed later).
        Running = "running",
        /// Every symbol collected.
        Success = "success",
        /// Some symbols collected, some failed.
        Partial = "partial",
        /// No symbol collected.
        Failed = "failed",
    }
}
