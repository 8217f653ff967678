//! Configuration from the environment (ARCHITECTURE.md §2 "Configuration").

use secrecy::SecretString;
use serde::Deserialize;
use serde_inline_default::serde_inline_default;

fn default_amqp() -> String {
    tessera_http::config::DEFAULT_AMQP_URL.to_owned()
}

/// One trusted issuer family: identity's tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// `iss` = this prefix + a tenant slug (e.g. `http://localhost:8083/tenants/`).
    pub issuer_prefix: String,
    /// Where that tenant's JWKS is fetched: this prefix + slug + `/.well-known/jwks.json`
    /// (e.g. the in-cluster `http://identity:8083/tenants/`).
    pub jwks_prefix: String,
}

/// The settings. Variable names are the field names upper-cased.
#[serde_inline_default]
#[derive(Clone, Deserialize, serde::Serialize, derive_more::Debug)]
pub struct Config {
    /// `APP_HOST` (default 127.0.0.1).
    #[serde_inline_default("127.0.0.1".to_owned())]
    #[debug(skip)]
    pub app_host: String,
    /// `APP_PORT` (default 8079).
    #[serde_inline_default(8079)]
    pub app_port: u16,
    /// `GATEWAY_TRUSTED_ISSUERS` (required): comma-separated `issuer_prefix` or
    /// `issuer_prefix=jwks_prefix` (the JWKS prefix defaults to the issuer prefix), e.g.
    /// `http://localhost:8083/tenants/=http://127.0.0.1:8083/tenants/`.
    pub gateway_trusted_issuers: String,
    /// `GATEWAY_AUDIENCE`: the `aud` required of identity's access tokens (default `tessera`,
    /// identity's `ACCESS_TOKEN_AUDIENCE` default).
    #[serde_inline_default("tessera".to_owned())]
    pub gateway_audience: String,
    /// `GATEWAY_MAX_TENANTS`: most tenants whose key sets are cached (default 1024); a tenant
    /// enters the cache only once its key set was fetched and valid, and the least valuable
    /// entry is evicted when it is full (moka's TinyLFU), so strangers cannot fill it.
    #[serde_inline_default(1024)]
    #[debug(skip)]
    pub gateway_max_tenants: usize,
    /// `GATEWAY_NEGATIVE_CACHE_SECONDS`: how long an issuer whose key set answered 404 (an
    /// unknown tenant) is refused without asking identity again (default 30).
    #[serde_inline_default(30)]
    #[debug(skip)]
    pub gateway_negative_cache_seconds: u64,
    /// `AMQP_URL`: the broker carrying `identity.session.revoked` (default the local RabbitMQ).
    #[serde(
        default = "default_amqp",
        serialize_with = "tessera_http::config::show::url"
    )]
    #[debug(skip)]
    pub amqp_url: String,
    /// `GATEWAY_REVOCATION_FEED`: consume revocations from `AMQP_URL` (default true). Off, every
    /// identity token is checked with identity (`GET /tenants/{slug}/session`), its answer kept
    /// 5 s: correct, but one call to identity per token every 5 s.
    #[serde_inline_default(true)]
    pub gateway_revocation_feed: bool,
    /// `GATEWAY_METRICS_PORT`: when set, `/metrics` is also served on this port of `APP_HOST`,
    /// so a scraper can be let in on it (Kubernetes NetworkPolicy) without reaching `/verify`,
    /// whose answers carry the gateway secret (default unset).
    #[serde(default)]
    #[debug(skip)]
    pub gateway_metrics_port: Option<u16>,
    /// `GATEWAY_SECRET`: when set, every 200 from `/verify` also carries `X-Gateway-Secret`, for
    /// gateways that copy auth-response headers onto the forwarded request instead of holding
    /// the secret themselves (the Kubernetes Ingress: `auth-response-headers`).
    #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
    #[debug("{:?}", gateway_secret.as_ref().map(|_| "[redacted]"))]
    pub gateway_secret: Option<SecretString>,
    /// `GATEWAY_DOCS`: comma-separated names of the services whose API reference the gateway
    /// forwards at `/docs/<name>/`; `GET /docs` links each (default none: an empty index).
    #[serde(default)]
    #[debug(skip)]
    pub gateway_docs: String,
}

impl Config {
    /// Reads and checks the environment.
    ///
    /// # Errors
    /// One line naming the missing or invalid variable.
    pub fn from_environment() -> anyhow::Result<Self> {
        let cfg: Self = tessera_http::config::from_env().map_err(anyhow::Error::msg)?;
        let issuers = cfg.trusted_issuers();
        if issuers.is_empty() {
            anyhow::bail!("invalid environment variable GATEWAY_TRUSTED_ISSUERS: no issuer");
        }
        if let Some(bad) = issuers.iter().find(|t| {
            !(t.issuer_prefix.starts_with("http://") || t.issuer_prefix.starts_with("https://"))
                || !t.issuer_prefix.ends_with('/')
                || !t.jwks_prefix.ends_with('/')
        }) {
            anyhow::bail!(
                "invalid environment variable GATEWAY_TRUSTED_ISSUERS: {:?} must be an http(s) URL prefix ending in '/'",
                bad.issuer_prefix
            );
        }
        if let Some(bad) = cfg
            .docs()
            .into_iter()
            .find(|s| !tessera_http::docs::is_service_name(s))
        {
            anyhow::bail!(
                "invalid environment variable GATEWAY_DOCS: {bad:?} is not a service name (a-z, 0-9, -)"
            );
        }
        Ok(cfg)
    }

    /// `GATEWAY_DOCS`, parsed.
    pub fn docs(&self) -> Vec<String> {
        self.gateway_docs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `GATEWAY_TRUSTED_ISSUERS`, parsed.
    pub fn trusted_issuers(&self) -> Vec<TrustedIssuer> {
        self.gateway_trusted_issuers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| match entry.split_once('=') {
                Some((iss, jwks)) => TrustedIssuer {
                    issuer_prefix: iss.trim().to_owned(),
                    jwks_prefix: jwks.trim().to_owned(),
                },
                None => TrustedIssuer {
                    issuer_prefix: entry.to_owned(),
                    jwks_prefix: entry.to_owned(),
                },
            })
            .collect()
    }
}
