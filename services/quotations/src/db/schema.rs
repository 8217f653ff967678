// Matches migrations/quotations (checked by the integration tests, which run them).

diesel::table! {
    quotations (id) {
        id -> Int8,
        symbol -> Text,
        #[sql_name = "type"]
        kind -> Text,
        source -> Text,
        price -> Numeric,
        currency -> Nullable<Text>,
        quoted_at -> Timestamptz,
        status -> Text,
        invalid_reason -> Nullable<Text>,
        raw -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        permissions -> Jsonb,
        email_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    personal_access_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        name -> Text,
        token_hash -> Bytea,
        abilities -> Jsonb,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(personal_access_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    quotations,
    users,
    personal_access_tokens,
    web_sessions
);

diesel::table! {
    api_throttle (key, window_start) {
        key -> Text,
        window_start -> Timestamptz,
        hits -> Int4,
    }
}

diesel::table! {
    web_sessions (id_hash) {
        id_hash -> Bytea,
        user_id -> Nullable<Int8>,
        csrf_token -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    password_reset_tokens (email) {
        email -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    auto_collect_settings (id) {
        id -> Int2,
        enabled -> Bool,
        interval_minutes -> Int4,
        symbols -> Array<Text>,
        provider -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    collect_runs (run_id) {
        run_id -> Uuid,
        trigger -> Text,
        status -> Text,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        summary -> Nullable<Jsonb>,
        exit_code -> Nullable<Int4>,
        symbols -> Array<Text>,
        requested_provider -> Nullable<Text>,
        effective_provider -> Nullable<Text>,
        command -> Text,
    }
}

diesel::joinable!(web_sessions -> users (user_id));
