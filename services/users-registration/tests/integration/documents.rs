//! `documentId` at rest: sealed, blind-indexed, unique, masked, and the `backfill` command.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use tessera_users_registration::auth::Role;
use tessera_users_registration::db::schema::users;
use tessera_users_registration::document::DocumentKeys;
use tessera_users_registration::provision;
use uuid::Uuid;

use crate::helpers::{TestApp, registration, unique};

fn digits(doc: &str) -> String {
    doc.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_column_read_straight_from_postgres_is_not_the_plaintext() {
    let app = TestApp::spawn().await;
    let (_, user, _, doc) = app.producer().await;
    let plain = digits(&doc);
    let (legacy, sealed, index): (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>) = users::table
        .find(user)
        .select((
            users::document_id,
            users::document_id_sealed,
            users::document_id_index,
        ))
        .first(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(legacy, None);
    let (sealed, index) = (sealed.unwrap(), index.unwrap());
    for bytes in [&sealed, &index] {
        assert!(!bytes.windows(plain.len()).any(|w| w == plain.as_bytes()));
        assert!(!String::from_utf8_lossy(bytes).contains(&plain[..6]));
    }
    assert_eq!(index.len(), 32);
    // The whole row as text holds neither form of the document.
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let row: Row = diesel::sql_query("SELECT string_agg(users::text, ' ') AS t FROM users")
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert!(row.t.contains(&user.to_string()), "the dump is the row");
    assert!(
        !row.t.contains(&plain) && !row.t.contains(&doc),
        "{}",
        row.t
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_document_is_refused_whatever_its_punctuation() {
    let app = TestApp::spawn().await;
    let (_, _, _, doc) = app.producer().await;
    let (email2, _) = unique();
    let bare = digits(&doc);
    for variant in [
        doc.clone(),
        bare.clone(),
        format!("{}/{}", &bare[..8], &bare[8..]),
    ] {
        let r = app.register(registration(&email2, &variant), None).await;
        assert_eq!(r.status, 409, "{variant}: {}", r.body);
        assert_eq!(r.body["reason"], "document_already_registered");
    }
    let (_, doc3) = unique();
    let (email1, _) = {
        let mut c = app.conn().await;
        let e: String = users::table
            .select(users::email)
            .first(&mut c)
            .await
            .unwrap();
        (e, ())
    };
    let dup_email = app
        .register(registration(&email1.to_uppercase(), &doc3), None)
        .await;
    assert_eq!(dup_email.status, 409);
    assert_eq!(dup_email.body["reason"], "email_already_registered");
    assert_eq!(app.count("users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_is_clear_only_to_analysts() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let auditor = app.token(&app.staff(Role::Auditor, None).await).await;
    let (user, own, doc) = app.approved_producer(&analyst).await;
    let plain = digits(&doc);
    let path = format!("/users/{user}");
    let clear = app.call(Method::GET, &path, Some(&analyst), None).await;
    assert_eq!(clear.body["documentId"], plain.as_str());
    let masked = format!("*********{}", &plain[9..]);
    for token in [&auditor, &own] {
        let r = app.call(Method::GET, &path, Some(token), None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["documentId"], masked.as_str());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_encrypts_rows_written_before_encryption() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    // Two rows as an older version wrote them: plaintext, no sealed value, no index.
    let mut c = app.conn().await;
    let old: Vec<(Uuid, &str, &str)> = vec![
        (Uuid::new_v4(), "old1@example.com", "111.222.333-44"),
        (Uuid::new_v4(), "old2@example.com", "55566677788"),
    ];
    for (id, email, doc) in &old {
        diesel::insert_into(users::table)
            .values((
                users::id.eq(id),
                users::name.eq("Legacy"),
                users::email.eq(email),
                users::role.eq("producer"),
                users::document_id.eq(doc),
                users::password_hash.eq("$argon2id$legacy"),
                users::status.eq("PENDING"),
            ))
            .execute(&mut c)
            .await
            .unwrap();
    }
    // Before the backfill, a legacy document is already unique.
    let (email, _) = unique();
    let dup = app
        .register(registration(&email, "11122233344"), None)
        .await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    let keys = DocumentKeys::from_base64(secrecy::ExposeSecret::expose_secret(
        &app.config.document_encryption_key,
    ))
    .unwrap();
    let report = provision::backfill(&keys, &mut c, 1).await.unwrap();
    assert_eq!(report.encrypted, 2);
    assert!(report.conflicts.is_empty());
    let left: i64 = users::table
        .filter(users::document_id.is_not_null())
        .count()
        .get_result(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let r = app
        .call(
            Method::GET,
            &format!("/users/{}", old[0].0),
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(r.body["documentId"], "11122233344");
    // After it, the blind index refuses the duplicate.
    let dup = app
        .register(registration(&email, "555.666.777-88"), None)
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["reason"], "document_already_registered");
    // Re-running is a no-op.
    let again = provision::backfill(&keys, &mut c, 100).await.unwrap();
    assert_eq!(again.encrypted, 0);
}
