//! Seed 004's Gherkin scenarios, one test each, against the real server, PostgreSQL and
//! RabbitMQ (the notification service is a wiremock stub speaking HTTP).

use std::time::Duration;

use crate::helpers::{
    EventTap, PASSWORD, TestApp, app_with_notifications, notification_stub, received, registration,
    unique,
};
use reqwest::Method;
use serde_json::json;
use tessera_users_registration::auth::{ADMIN_USERS, Role, USERS_READ};

/// Feature: Solicitar Cadastro — Scenario: Produtor preenche e envia cadastro válido.
#[tokio::test(flavor = "multi_thread")]
async fn a_valid_form_is_201_and_publishes_user_registered() {
    let mut tap = EventTap::bind("users.user.registered").await.unwrap();
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    let r = app.register(registration(&email, &doc), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "PENDING");
    let id = r.body["registrationId"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("/registrations/{id}")
    );
    let (event, props) = tap
        .next_matching(Duration::from_secs(10), |e| {
            e["data"]["registrationId"] == id
        })
        .await
        .expect("users.user.registered published");
    assert_eq!(event["type"], "users.user.registered");
    assert_eq!(event["source"], "users-registration");
    assert_eq!(
        props.message_id().as_ref().unwrap().as_str(),
        event["id"].as_str().unwrap()
    );
    let candidate = &event["data"]["userCandidate"];
    assert_eq!(candidate["name"], "Ana Produtora");
    assert_eq!(candidate["email"], email.as_str());
    assert_eq!(candidate["role"], "producer");
    let digits: String = doc.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(
        candidate["documentId"],
        format!("*********{}", &digits[9..])
    );
    assert!(
        event["data"]["submittedAt"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("user_attachments").await, 2);
}

/// Scenario: Produtor tenta enviar cadastro com dados incompletos.
#[tokio::test(flavor = "multi_thread")]
async fn missing_fields_are_400_naming_each_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let r = app
        .register(
            json!({"name": "Ana", "role": "producer"}),
            Some("incomplete-1"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error_code"], "validation_error");
    // `password` is optional since issue #20 (seed 004's own payload has none).
    assert!(r.body["errors"].get("password").is_none(), "{}", r.body);
    for field in ["email", "documentId"] {
        assert_eq!(
            r.body["errors"][field][0],
            format!("The {field} field is required."),
            "{}",
            r.body
        );
    }
    assert!(r.body["errors"].get("name").is_none());
    for table in [
        "users",
        "registrations",
        "user_events",
        "idempotency_keys",
        "outbox",
    ] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
}

/// Scenario: Analista aprova cadastro pendente.
#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_approves_a_pending_registration() {
    let mut tap = EventTap::bind("users.user.approved").await.unwrap();
    let stub = notification_stub().await;
    let app = app_with_notifications(&stub).await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let (_, user, email, _) = app.producer().await;
    let r = app
        .set_status(&analyst, user, json!({"status": "APPROVED"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "APPROVED");
    assert_eq!(r.body["id"], user.to_string());
    let (event, _) = tap
        .next_matching(Duration::from_secs(10), |e| {
            e["data"]["userId"] == user.to_string()
        })
        .await
        .expect("users.user.approved published");
    assert_eq!(event["data"]["status"], "APPROVED");
    assert!(event["data"].get("reason").is_none());
    assert!(event["data"]["timestamp"].is_string());
    let sent = received(&stub, "registration_approved", &email).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient"]["email"], email.as_str());
    assert_eq!(sent[0]["userId"], user.to_string());
    assert_eq!(sent[0]["eventId"], event["id"]);
}

/// Scenario: Analista rejeita cadastro com motivo.
#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_rejects_with_a_reason_and_the_reason_is_sent() {
    let mut tap = EventTap::bind("users.user.rejected").await.unwrap();
    let stub = notification_stub().await;
    let app = app_with_notifications(&stub).await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let (_, user, email, _) = app.producer().await;
    let reason = "CAR document is illegible";
    let r = app
        .set_status(
            &analyst,
            user,
            json!({"status": "REJECTED", "reason": reason}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "REJECTED");
    assert_eq!(r.body["statusReason"], reason);
    let (event, _) = tap
        .next_matching(Duration::from_secs(10), |e| {
            e["data"]["userId"] == user.to_string()
        })
        .await
        .expect("users.user.rejected published");
    assert_eq!(event["data"]["status"], "REJECTED");
    assert_eq!(event["data"]["reason"], reason);
    let sent = received(&stub, "registration_rejected", &email).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient"]["email"], email.as_str());
    assert_eq!(sent[0]["reason"], reason);
    // A rejected user cannot log in, even with the right password.
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, 403);
    assert_eq!(login.body["reason"], "user_rejected");
}

/// Scenario: Analista sem permissão tenta aprovar ⇒ 403 (and producers, auditors too).
#[tokio::test(flavor = "multi_thread")]
async fn approving_without_admin_users_is_403_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let trainee = app
        .token(&app.staff(Role::Analyst, Some(&[USERS_READ])).await)
        .await;
    let auditor = app.token(&app.staff(Role::Auditor, None).await).await;
    let (producer, producer_token, _) = app.approved_producer(&analyst).await;
    let (_, pending, _, _) = app.producer().await;
    for token in [&trainee, &auditor, &producer_token] {
        for target in [pending, producer] {
            let r = app
                .set_status(token, target, json!({"status": "APPROVED"}))
                .await;
            assert_eq!(r.status, 403, "{}", r.body);
            assert_eq!(r.body["error_code"], "forbidden");
            assert_eq!(r.body["reason"], "missing_scope");
            assert!(r.body["message"].as_str().unwrap().contains(ADMIN_USERS));
        }
    }
    let still = app
        .call(
            Method::GET,
            &format!("/users/{pending}"),
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(still.body["status"], "PENDING");
    assert_eq!(
        app.count("user_events WHERE kind IN ('registered', 'approved', 'rejected')")
            .await,
        3,
        "two registrations and one approval, no other decision"
    );
}

/// Scenario: acessar /users/{id} sem token ⇒ 401.
#[tokio::test(flavor = "multi_thread")]
async fn reading_a_user_without_a_token_is_401() {
    let app = TestApp::spawn().await;
    let (_, user, _, _) = app.producer().await;
    for bearer in [
        None,
        Some("not-a-jwt"),
        Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
    ] {
        let r = app
            .call(Method::GET, &format!("/users/{user}"), bearer, None)
            .await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body["error_code"], "unauthenticated");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
    }
}

/// Scenario: re-submissão idempotente ⇒ mesmo registrationId, sem duplicata.
#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_resubmission_returns_the_same_registration() {
    let app = TestApp::spawn().await;
    let (email, doc) = unique();
    let body = registration(&email, &doc);
    let first = app.register(body.clone(), Some("resubmit-7f1c")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = app.register(body, Some("resubmit-7f1c")).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(app.count("users").await, 1);
    assert_eq!(app.count("registrations").await, 1);
    assert_eq!(app.count("user_events").await, 1);
}

/// End to end: registration → approval → event → notification, then the producer logs in.
#[tokio::test(flavor = "multi_thread")]
async fn registration_to_approval_to_notification_end_to_end() {
    let stub = notification_stub().await;
    let app = app_with_notifications(&stub).await;
    let (email, doc) = unique();
    let r = app
        .register(registration(&email, &doc), Some("e2e-1"))
        .await;
    assert_eq!(r.status, 201);
    let registration_id = r.body["registrationId"].as_str().unwrap().to_owned();
    let received_mail = received(&stub, "registration_received", &email).await;
    assert_eq!(received_mail.len(), 1);
    assert_eq!(received_mail[0]["registrationId"], registration_id.as_str());
    // Not approved yet: no login.
    let early = app.login(&email, PASSWORD).await;
    assert_eq!(early.status, 403);
    assert_eq!(early.body["reason"], "user_pending");
    let analyst = app.token(&app.staff(Role::Analyst, None).await).await;
    let reg = app
        .call(
            Method::GET,
            &format!("/registrations/{registration_id}"),
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(reg.status, 200, "{}", reg.body);
    assert_eq!(reg.body["attachments"][1]["type"], "ccir");
    let user = reg.body["userCandidate"]["id"].as_str().unwrap().to_owned();
    let ok = app
        .call(
            Method::PATCH,
            &format!("/users/{user}/status"),
            Some(&analyst),
            Some(json!({"status": "APPROVED"})),
        )
        .await;
    assert_eq!(ok.status, 200);
    let approved = received(&stub, "registration_approved", &email).await;
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["recipient"]["email"], email.as_str());
    let token = app.token(&email).await;
    let me = app
        .call(Method::GET, &format!("/users/{user}"), Some(&token), None)
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["status"], "APPROVED");
    // Every call to the stub carried the event id as its Idempotency-Key.
    for req in stub.received_requests().await.unwrap() {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            req.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap(),
            body["eventId"].as_str().unwrap()
        );
    }
}
