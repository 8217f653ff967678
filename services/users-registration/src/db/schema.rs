// Matches migrations/users-registration (checked by the integration tests, which run them).

diesel::table! {
    users (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        role -> Text,
        document_id -> Nullable<Text>,
        document_id_sealed -> Nullable<Bytea>,
        document_id_index -> Nullable<Bytea>,
        password_hash -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        scopes -> Nullable<Array<Text>>,
        farm_data -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    registrations (id) {
        id -> Uuid,
        user_id -> Uuid,
        submitted_at -> Timestamptz,
    }
}

diesel::table! {
    user_attachments (id) {
        id -> Int8,
        registration_id -> Uuid,
        position -> Int2,
        #[sql_name = "type"]
        kind -> Text,
        url -> Text,
    }
}

diesel::table! {
    user_events (id) {
        id -> Int8,
        user_id -> Uuid,
        kind -> Text,
        actor_id -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (key) {
        key -> Text,
        fingerprint -> Bytea,
        response_status -> Int2,
        response_body -> Jsonb,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(registrations -> users (user_id));
diesel::joinable!(user_attachments -> registrations (registration_id));
diesel::joinable!(user_events -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    registrations,
    user_attachments,
    user_events,
    idempotency_keys,
    sessions,
    refresh_tokens,
);
