ALTER TABLE bindings
    DROP CONSTRAINT bindings_roles_iff_role_revoked,
    DROP CONSTRAINT bindings_suspender_iff_suspended,
    DROP COLUMN suspended_roles,
    DROP COLUMN suspended_by;
