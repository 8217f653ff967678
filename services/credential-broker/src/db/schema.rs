// Matches migrations/credential-broker (checked by the integration tests, which run them).

diesel::table! {
    bindings (sandbox_id) {
        sandbox_id -> Text,
        tenant -> Text,
        agent_id -> Uuid,
        status -> Text,
        status_reason -> Nullable<Text>,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        suspended_by -> Nullable<Text>,
        suspended_roles -> Nullable<Array<Text>>,
    }
}

diesel::table! {
    binding_upstreams (sandbox_id, upstream_host) {
        sandbox_id -> Text,
        upstream_host -> Text,
        scopes -> Array<Text>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        request_id -> Nullable<Text>,
        caller -> Text,
        sandbox_id -> Text,
        upstream_host -> Text,
        scopes -> Array<Text>,
        outcome -> Text,
        reason -> Nullable<Text>,
        token_hmac -> Nullable<Bytea>,
    }
}

diesel::table! {
    rate_windows (sandbox_id, window_start) {
        sandbox_id -> Text,
        window_start -> Timestamptz,
        count -> Int4,
    }
}

diesel::joinable!(binding_upstreams -> bindings (sandbox_id));
diesel::allow_tables_to_appear_in_same_query!(
    bindings,
    binding_upstreams,
    audit_log,
    rate_windows,
    wallet_credentials
);

diesel::table! {
    wallet_credentials (agent_id, upstream_host) {
        agent_id -> Uuid,
        upstream_host -> Text,
        refresh_token -> Bytea,
        access_token -> Nullable<Bytea>,
        access_scopes -> Nullable<Text>,
        access_expires_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}
