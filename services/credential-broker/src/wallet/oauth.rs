//! The `oauth` wallet backend: each agent's refresh token per upstream, sealed at rest,
//! exchanged at the upstream's token endpoint (RFC 6749 §6) for access tokens cached until
//! `REFRESH_MARGIN_SECONDS` before they expire.

use super::*;
use crate::db::schema::wallet_credentials;
use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_db::DbPool;
use tessera_db::sealed::SealingKey;
use uuid::Uuid;

/// The `oauth` backend.
pub struct OAuthWallet {
    pub(super) pool: DbPool,
    pub(super) key: Arc<SealingKey>,
    pub(super) clients: BTreeMap<String, OAuthClient>,
    pub(super) http: tessera_telemetry::http::HttpClient,
    pub(super) flights: Mutex<HashMap<FlightKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Access tokens this process fetched or read, by (agent, host, scope set): served without
    /// a database read while more than the margin from expiry.
    pub(super) memory: Mutex<Remembered>,
    /// How long a remembered token is served without looking at the database (0: never).
    pub(super) memory_ttl: TimeDelta,
}

#[derive(Queryable)]
pub(super) struct Row {
    pub(super) refresh_token: Vec<u8>,
    pub(super) access_token: Option<Vec<u8>>,
    pub(super) access_scopes: Option<String>,
    pub(super) access_expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
pub(super) struct TokenEndpointResponse {
    pub(super) access_token: String,
    pub(super) expires_in: Option<i64>,
    pub(super) refresh_token: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct TokenEndpointError {
    pub(super) error: String,
}

pub(super) fn aad(agent_id: Uuid, host: &str, column: &str) -> Vec<u8> {
    format!("{agent_id}/{host}/{column}").into_bytes()
}

/// The canonical form of a scope set (sorted, space-separated, RFC 6749 §3.3).
pub(super) fn scope_key(scopes: &[String]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.dedup();
    s.join(" ")
}

impl OAuthWallet {
    /// A wallet over `pool`, sealing with `key`, with one client per upstream host.
    pub fn new(pool: DbPool, key: Arc<SealingKey>, clients: BTreeMap<String, OAuthClient>) -> Self {
        Self {
            pool,
            key,
            clients,
            http: tessera_telemetry::http::traced(
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
            ),
            flights: Mutex::new(HashMap::new()),
            memory: Mutex::new(HashMap::new()),
            memory_ttl: TimeDelta::seconds(30),
        }
    }

    /// Sets how long a token this process already has is served from memory before the
    /// database is consulted again (`WALLET_MEMORY_CACHE_SECONDS`, default 30; 0 disables).
    #[must_use]
    pub fn with_memory_ttl(mut self, ttl: Duration) -> Self {
        self.memory_ttl = TimeDelta::from_std(ttl).unwrap_or(TimeDelta::zero());
        self
    }

    /// Stores (or replaces) the user's refresh token for `host`, dropping any cached access token.
    ///
    /// # Errors
    /// Storage or sealing failures.
    pub async fn put_refresh_token(
        &self,
        conn: &mut AsyncPgConnection,
        agent_id: Uuid,
        host: &str,
        refresh_token: &SecretString,
    ) -> Result<(), WalletError> {
        let sealed = self
            .key
            .seal(
                refresh_token.expose_secret().as_bytes(),
                &aad(agent_id, host, "refresh"),
            )
            .map_err(|e| WalletError::Storage(e.to_string()))?;
        diesel::insert_into(wallet_credentials::table)
            .values((
                wallet_credentials::agent_id.eq(agent_id),
                wallet_credentials::upstream_host.eq(host),
                wallet_credentials::refresh_token.eq(&sealed),
            ))
            .on_conflict((
                wallet_credentials::agent_id,
                wallet_credentials::upstream_host,
            ))
            .do_update()
            .set((
                wallet_credentials::refresh_token.eq(&sealed),
                wallet_credentials::access_token.eq(None::<Vec<u8>>),
                wallet_credentials::access_scopes.eq(None::<String>),
                wallet_credentials::access_expires_at.eq(None::<DateTime<Utc>>),
                wallet_credentials::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if let Ok(mut m) = self.memory.lock() {
            m.retain(|(a, h, _), _| !(*a == agent_id && h == host));
        }
        Ok(())
    }

    fn remember(&self, agent_id: Uuid, host: &str, scope: &str, token: &UpstreamToken) {
        if let Ok(mut m) = self.memory.lock() {
            // Forget what may no longer be served, so the map holds live entries only.
            let now = tessera_service::now();
            m.retain(|_, (_, _, until)| *until > now);
            m.insert(
                (agent_id, host.to_owned(), scope.to_owned()),
                (
                    token.value.clone(),
                    token.expires_at,
                    tessera_service::now() + self.memory_ttl,
                ),
            );
        }
    }

    fn remembered(
        &self,
        agent_id: Uuid,
        host: &str,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Option<UpstreamToken> {
        let m = self.memory.lock().ok()?;
        let (value, exp, until) = m.get(&(agent_id, host.to_owned(), scope.to_owned()))?;
        (*until > now && *exp - TimeDelta::seconds(REFRESH_MARGIN_SECONDS) > now).then(|| {
            UpstreamToken {
                value: value.clone(),
                expires_at: *exp,
            }
        })
    }

    fn cached(
        &self,
        agent_id: Uuid,
        host: &str,
        row: &Row,
        scopes: &str,
        now: DateTime<Utc>,
    ) -> Option<UpstreamToken> {
        let (Some(sealed), Some(exp)) = (&row.access_token, row.access_expires_at) else {
            return None;
        };
        if row.access_scopes.as_deref() != Some(scopes)
            || exp - TimeDelta::seconds(REFRESH_MARGIN_SECONDS) <= now
        {
            return None;
        }
        let plain = self.key.open(sealed, &aad(agent_id, host, "access")).ok()?;
        let value = String::from_utf8(plain).ok()?;
        Some(UpstreamToken {
            value: SecretString::from(value),
            expires_at: exp,
        })
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        agent_id: Uuid,
        host: &str,
        lock: bool,
    ) -> Result<Option<Row>, WalletError> {
        let q = wallet_credentials::table
            .filter(wallet_credentials::agent_id.eq(agent_id))
            .filter(wallet_credentials::upstream_host.eq(host))
            .select((
                wallet_credentials::refresh_token,
                wallet_credentials::access_token,
                wallet_credentials::access_scopes,
                wallet_credentials::access_expires_at,
            ));
        let row = if lock {
            q.for_update().first::<Row>(conn).await.optional()?
        } else {
            q.first::<Row>(conn).await.optional()?
        };
        Ok(row)
    }

    pub(super) async fn token(
        &self,
        agent_id: Uuid,
        host: &str,
        scopes: &[String],
        now: DateTime<Utc>,
    ) -> Result<UpstreamToken, WalletError> {
        let client = self.clients.get(host).ok_or(WalletError::NoCredential)?;
        let scope = scope_key(scopes);
        if let Some(t) = self.remembered(agent_id, host, &scope, now) {
            return Ok(t);
        }
        let pool_err = |e: tessera_db::PoolError| WalletError::Storage(e.to_string());
        {
            let mut conn = self.pool.get().await.map_err(pool_err)?;
            let row = Self::load(&mut conn, agent_id, host, false)
                .await?
                .ok_or(WalletError::NoCredential)?;
            if let Some(t) = self.cached(agent_id, host, &row, &scope, now) {
                self.remember(agent_id, host, &scope, &t);
                return Ok(t);
            }
        }
        // One refresh per credential in this process…
        let flight = {
            let mut map = self
                .flights
                .lock()
                .map_err(|_| WalletError::Storage("flight map poisoned".into()))?;
            Arc::clone(map.entry((agent_id, host.to_owned())).or_default())
        };
        let guard = flight.lock().await;
        let mut conn = self.pool.get().await.map_err(pool_err)?;
        // …and across replicas: the row stays locked during the exchange.
        let result = conn.transaction::<UpstreamToken, WalletError, _>(async |c| {
                let row = Self::load(c, agent_id, host, true).await?.ok_or(WalletError::NoCredential)?;
                let now = tessera_service::now();
                if let Some(t) = self.cached(agent_id, host, &row, &scope, now) {
                    return Ok(t);
                }
                let refresh = self
                    .key
                    .open(&row.refresh_token, &aad(agent_id, host, "refresh"))
                    .map_err(|e| WalletError::Storage(e.to_string()))?;
                let refresh = String::from_utf8(refresh).map_err(|e| WalletError::Storage(e.to_string()))?;
                let fresh = self.exchange(client, &refresh, &scope).await?;
                let expires_at = now + TimeDelta::seconds(fresh.expires_in.unwrap_or(3600).max(1));
                let sealed_access = self
                    .key
                    .seal(fresh.access_token.as_bytes(), &aad(agent_id, host, "access"))
                    .map_err(|e| WalletError::Storage(e.to_string()))?;
                let sealed_refresh = match &fresh.refresh_token {
                    Some(r) => self
                        .key
                        .seal(r.as_bytes(), &aad(agent_id, host, "refresh"))
                        .map_err(|e| WalletError::Storage(e.to_string()))?,
                    None => row.refresh_token.clone(),
                };
                diesel::update(
                    wallet_credentials::table
                        .filter(wallet_credentials::agent_id.eq(agent_id))
                        .filter(wallet_credentials::upstream_host.eq(host)),
                )
                .set((
                    wallet_credentials::refresh_token.eq(&sealed_refresh),
                    wallet_credentials::access_token.eq(Some(&sealed_access)),
                    wallet_credentials::access_scopes.eq(Some(&scope)),
                    wallet_credentials::access_expires_at.eq(Some(expires_at)),
                    wallet_credentials::updated_at.eq(diesel::dsl::now),
                ))
                .execute(c)
                .await?;
                tracing::info!(agent_id = %agent_id, upstream_host = %host, rotated = fresh.refresh_token.is_some(), "upstream token refreshed");
                Ok(UpstreamToken {
                    value: SecretString::from(fresh.access_token),
                    expires_at,
                })
            })
            .await;
        drop(guard);
        self.end_flight(agent_id, host, &flight);
        let token = result?;
        self.remember(agent_id, host, &scope, &token);
        Ok(token)
    }

    /// Drops the credential's flight mutex once nobody else holds or waits on it, so the map
    /// does not grow with every credential ever refreshed.
    fn end_flight(&self, agent_id: Uuid, host: &str, flight: &Arc<tokio::sync::Mutex<()>>) {
        if let Ok(mut map) = self.flights.lock()
            && Arc::strong_count(flight) <= 2
        {
            map.remove(&(agent_id, host.to_owned()));
        }
    }

    /// The refresh_token grant (RFC 6749 §6), client credentials in the body (§2.3.1).
    async fn exchange(
        &self,
        client: &OAuthClient,
        refresh_token: &str,
        scope: &str,
    ) -> Result<TokenEndpointResponse, WalletError> {
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token)
                .append_pair("client_id", &client.client_id)
                .append_pair("client_secret", client.client_secret.expose_secret());
            if !scope.is_empty() {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let resp = self
            .http
            .post(&client.token_endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| WalletError::Unavailable(tessera_telemetry::http::error_text(e)))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| WalletError::Unavailable(e.without_url().to_string()))?;
        if status.is_server_error() {
            return Err(WalletError::Unavailable(format!(
                "HTTP {}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            // Only the standard error code is kept (RFC 6749 §5.2); descriptions may echo input.
            let code = serde_json::from_slice::<TokenEndpointError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| format!("HTTP {}", status.as_u16()));
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(WalletError::Upstream(code));
        }
        serde_json::from_slice::<TokenEndpointResponse>(&body)
            .map_err(|_| WalletError::Upstream("malformed token response".into()))
    }
}
