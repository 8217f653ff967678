//! identity's domain types (STYLE.md §2): its ids, and the closed sets its rows and bodies hold.
//!
//! The ids are the tables' `UUID` keys as types of their own (`tessera_db::uuid_id!`): a query
//! that takes a tenant and an agent cannot be called with the two swapped. Bodies and events
//! carry them as the same UUID strings as before.
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

tessera_db::uuid_id! {
    /// A tenant's id (`tenants.id`; `tenant_id` in `agents` and `sessions`).
    pub struct TenantId;
}

tessera_db::uuid_id! {
    /// An agent's id (`agents.id`; `agent_id` elsewhere; the `sub` of its access tokens).
    pub struct AgentId;
}

tessera_db::uuid_id! {
    /// A session's id (`sessions.id`; the `sid` of its access tokens).
    pub struct SessionId;
}
