// @generated automatically by Diesel CLI.

diesel::table! {
    white_labels (id) {
        id -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    wl_credentials (id) {
        id -> Uuid,
        wl_id -> Text,
        kind -> Text,
        secret_hash -> Bytea,
        key_prefix -> Text,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    wl_relationships (importer_id, target_id) {
        importer_id -> Text,
        target_id -> Text,
        scopes -> Array<Text>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(wl_credentials -> white_labels (wl_id));

diesel::allow_tables_to_appear_in_same_query!(white_labels, wl_credentials, wl_relationships,);
