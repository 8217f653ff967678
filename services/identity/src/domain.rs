//! identity's domain types (STYLE.md §2): the closed sets its rows and bodies hold.
//!
//! Roles stay text: which roles exist is configuration (`IDENTITY_ROLES`), not code.

tessera_db::wire_enum! {
    /// An agent's status (seed 002): a disabled agent cannot sign in and its sessions are
    /// revoked.
    pub enum AgentStatus {
        /// May sign in.
        Active = "active",
        /// May not sign in; sessions revoked.
        Disabled = "disabled",
    }
}

tessera_db::text_enum! {
    /// A tenant's status: a disabled tenant's agents cannot sign in.
    pub enum TenantStatus {
        /// In use.
        Active = "active",
        /// Switched off.
        Disabled = "disabled",
    }
}
