//! credential-broker's domain types (STYLE.md §2): the closed sets its rows hold.

tessera_db::wire_enum! {
    /// A binding's status (seed 003): only an `active`, unexpired binding yields tokens (the
    /// rule itself is the database's `token_check`, said once).
    pub enum BindingStatus {
        /// Yields tokens.
        Active = "active",
        /// Suspended, by an operator or because its agent lost its role or was disabled.
        Suspended = "suspended",
        /// Revoked for good.
        Revoked = "revoked",
    }
}

tessera_db::wire_enum! {
    /// How a token request ended, as audited.
    pub enum AuditOutcome {
        /// A token was issued.
        Issued = "issued",
        /// A check refused it (`reason` names which).
        Denied = "denied",
        /// The upstream failed (`reason`: `upstream_error` or `upstream_unavailable`).
        Error = "error",
    }
}

tessera_db::wire_enum! {
    /// Who suspended a binding (`bindings.suspended_by`; issue #20). Only a binding suspended by
    /// role revocations comes back by itself, when the agent has those roles again.
    pub enum SuspendedBy {
        /// An operator (`POST /api/bindings/{sandbox_id}/suspend`); only an operator reactivates.
        Operator = "operator",
        /// `identity.agent.disabled`; identity has no re-enable event, so an operator
        /// reactivates.
        AgentDisabled = "agent_disabled",
        /// `identity.role.revoked` (`suspended_roles` lists which); `identity.role.assigned` of
        /// the last of them reactivates.
        RoleRevoked = "role_revoked",
    }
}
