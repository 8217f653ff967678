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
diesel::allow_tables_to_appear_in_same_query!(quotations, users, personal_access_tokens);

diesel::table! {
    api_throttle (key, window_start) {
        key -> Text,
        window_start -> Timestamptz,
        hits -> Int4,
    }
}
