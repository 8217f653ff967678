//! quotations' domain types (STYLE.md §2): the closed sets its rows hold.

tessera_db::wire_enum! {
    /// A stored quotation's status (seed 001): `invalid` marks one `quotations reconcile`
    /// found implausible; lists show `valid` ones unless asked.
    pub enum QuotationStatus {
        /// Listed by default.
        Valid = "valid",
        /// Marked by reconcile, with a reason.
        Invalid = "invalid",
    }
}

tessera_db::wire_enum! {
    /// How a collect run went (`collect_runs.status`).
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
