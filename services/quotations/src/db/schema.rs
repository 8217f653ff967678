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
