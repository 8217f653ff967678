-- Who suspended a binding (issue #20): an operator, the agent's disablement, or the revocation
-- of roles. A binding suspended by role revocations comes back when the agent has every one of
-- those roles again (suspended_roles empties); the others stay suspended until an operator
-- reactivates them.
ALTER TABLE bindings
    ADD COLUMN suspended_by TEXT CHECK (suspended_by IN ('operator', 'agent_disabled', 'role_revoked')),
    ADD COLUMN suspended_roles TEXT[];

-- Rows suspended before this migration: the event kind is at the start of status_reason; the
-- role is unknown, so a role-revoked one waits for an operator.
UPDATE bindings SET suspended_by = CASE
        WHEN status_reason LIKE 'identity.agent.disabled%' THEN 'agent_disabled'
        WHEN status_reason LIKE 'identity.role.revoked%' THEN 'role_revoked'
        ELSE 'operator'
    END,
    suspended_roles = CASE WHEN status_reason LIKE 'identity.role.revoked%' THEN '{}'::text[] END
WHERE status = 'suspended';
-- An unknown role can never come back on its own: treat those as an operator's.
UPDATE bindings SET suspended_by = 'operator', suspended_roles = NULL
WHERE suspended_by = 'role_revoked' AND cardinality(suspended_roles) = 0;

ALTER TABLE bindings
    -- A suspender only on a suspended row; a suspended row without one (written by hand) is
    -- treated as an operator's: only an operator reactivates it.
    ADD CONSTRAINT bindings_suspender_iff_suspended
        CHECK (suspended_by IS NULL OR status = 'suspended'),
    ADD CONSTRAINT bindings_roles_iff_role_revoked
        CHECK ((suspended_by = 'role_revoked') = (suspended_roles IS NOT NULL AND cardinality(suspended_roles) > 0)
               OR (suspended_by IS NULL AND suspended_roles IS NULL));
