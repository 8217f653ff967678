//! E-mail verification (seed 001, Laravel's `MustVerifyEmail`): the notice page, the signed
//! link that verifies, and resending it (at most `RESEND_PER_MINUTE` a minute).

use super::*;
use super::{csrf_json, current_or_new, page_ctx, redirect, render};
use crate::db::schema::users;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::RunQueryDsl;
use minijinja::context;
use tessera_http::ApiError;

pub(super) async fn send_verification(
    state: &AppState,
    id: i64,
    name: &str,
    email: &str,
) -> anyhow::Result<()> {
    let expires = tessera_service::now().timestamp() + VERIFY_MINUTES * 60;
    let path = format!("/verify-email/{id}/{}", email_hash(email));
    let link = format!(
        "{}{}",
        state.config.app_url.trim_end_matches('/'),
        super::super::signed::sign(&state.signing_key, &path, expires)
    );
    let body = format!(
        "Hello {name},\n\nConfirm the e-mail address of your Tessera Quotations account by opening \
         this link (valid for {VERIFY_MINUTES} minutes):\n\n{link}\n\nIf you did not create an \
         account, ignore this message.\n"
    );
    state
        .mailer
        .send(email, "Verify your e-mail address", body)
        .await
}

/// `GET /verify-email`: the "check your mail" page.
///
/// # Errors
/// 503 when the database is down.
pub async fn verify_notice(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let s = current_or_new(&state, &req).await?;
    match &s.user {
        None => Ok(redirect("/login")),
        Some(u) if u.email_verified => Ok(redirect("/dashboard")),
        Some(_) => render(
            StatusCode::OK,
            "verify_notice.html",
            page_ctx(&s, context! { minutes => VERIFY_MINUTES }),
        ),
    }
}

/// `?expires=&signature=` of a verification link.
#[derive(Debug, serde::Deserialize)]
pub struct SignedQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// `GET /verify-email/{id}/{hash}`: marks the e-mail verified.
///
/// # Errors
/// 503 when the database is down (a refused link is an HTML 403).
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<SignedQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, hash) = path.into_inner();
    let url_path = format!("/verify-email/{id}/{hash}");
    let s = current_or_new(&state, &req).await?;
    let refuse = |message: &str| {
        render(
            StatusCode::FORBIDDEN,
            "error.html",
            page_ctx(&s, context! { status => 403, message => message }),
        )
    };
    match super::super::signed::verify(
        &state.signing_key,
        &url_path,
        q.expires.as_deref(),
        q.signature.as_deref(),
        tessera_service::now().timestamp(),
    ) {
        Ok(()) => {}
        Err(super::super::signed::Invalid::Expired) => {
            return refuse("This verification link has expired. Log in and ask for a new one.");
        }
        Err(super::super::signed::Invalid::Signature) => return refuse("Invalid signature."),
    }
    let Ok(id) = id.parse::<i64>() else {
        return refuse("Invalid signature.");
    };
    let mut conn = state.pool.get().await?;
    let email: Option<String> = users::table
        .find(id)
        .select(users::email)
        .first(&mut conn)
        .await
        .optional()?;
    if email.as_deref().map(email_hash).as_deref() != Some(hash.as_str()) {
        return refuse("This link is not for this account.");
    }
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified_at.is_null()),
    )
    .set(users::email_verified_at.eq(tessera_service::now()))
    .execute(&mut conn)
    .await?;
    Ok(redirect(if s.user.is_some() {
        "/dashboard/quotations?verified=1"
    } else {
        "/login?verified=1"
    }))
}

/// `POST /email/verification-notification`.
///
/// # Errors
/// 419, 401, 429, 503.
pub async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (s, _) = csrf_json(&state, &req, &raw).await?;
    let Some(user) = s.and_then(|s| s.user) else {
        return Err(ApiError::unauthenticated("Unauthenticated."));
    };
    if user.email_verified {
        return Ok(HttpResponse::Ok()
            .json(serde_json::json!({"message": "Your e-mail address is already verified."})));
    }
    let now = tessera_service::now();
    let sent = {
        let mut conn = state.pool.get().await?;
        crate::throttle::hit(&mut conn, &format!("verify:{}", user.id), now).await?
    };
    if sent > RESEND_PER_MINUTE {
        return Err(ApiError::too_many_requests(
            crate::throttle::seconds_to_next_window(now),
        ));
    }
    send_verification(&state, user.id, &user.name, &user.email)
        .await
        .map_err(|e| ApiError::unavailable(e.into_boxed_dyn_error()))?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"message": "A new verification link has been sent."})))
}
