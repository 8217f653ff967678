// Matches migrations/identity (checked by the integration tests, which run the migrations).

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    agents (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        email -> Text,
        password_hash -> Nullable<Text>,
        status -> Text,
        mfa_secret -> Nullable<Bytea>,
        mfa_enabled -> Bool,
        failed_password_count -> Int4,
        failed_code_count -> Int4,
        locked_until -> Nullable<Timestamptz>,
        totp_last_step -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        agent_id -> Uuid,
        aal -> Int2,
        mfa_pending -> Bool,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    role_assignments (agent_id) {
        agent_id -> Uuid,
        tenant_id -> Uuid,
        role -> Text,
        assigned_at -> Timestamptz,
        assigned_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    recovery_codes (agent_id, code_hash) {
        agent_id -> Uuid,
        code_hash -> Bytea,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(agents -> tenants (tenant_id));
diesel::joinable!(sessions -> agents (agent_id));
diesel::joinable!(role_assignments -> agents (agent_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    agents,
    sessions,
    role_assignments,
    recovery_codes
);
