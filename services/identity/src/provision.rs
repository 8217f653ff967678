//! Bootstrapping tenants and agents (the operator CLI, `make up`'s demo seed, tests).

use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tessera_db::sealed::SealingKey;

use crate::config::Config;
use crate::db::{agents, recovery_codes, role_assignments, tenants};
use crate::domain::AgentId;
use crate::mfa;
use crate::password::Hasher;

/// A created agent, with its second factor when `--mfa` was asked for (shown once).
#[derive(Debug, Serialize)]
pub struct CreatedAgent {
    /// Id.
    pub agent_id: AgentId,
    /// Tenant slug.
    pub tenant: String,
    /// Stored (normalised) e-mail.
    pub email: String,
    /// Role given, if any.
    pub role: Option<String>,
    /// Whether TOTP is on.
    pub mfa_enabled: bool,
    /// `otpauth://` provisioning URI (with MFA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// The TOTP secret in base32 (with MFA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    /// Single-use recovery codes (with MFA).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovery_codes: Vec<String>,
}

/// The active tenant `slug`.
///
/// # Errors
/// No such active tenant, or a database error.
pub async fn tenant(conn: &mut AsyncPgConnection, slug: &str) -> anyhow::Result<tenants::Tenant> {
    tenants::active_tenant(conn, slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no active tenant {slug:?}"))
}

/// Creates an agent of tenant `slug` in one transaction: Argon2id hash, and with `with_mfa` a
/// sealed TOTP secret (enabled at once) and recovery codes, and with `role` its assignment.
///
/// # Errors
/// Unknown tenant or role, a taken e-mail, a database or crypto failure.
pub async fn create_agent(
    config: &Config,
    conn: &mut AsyncPgConnection,
    slug: &str,
    email: &str,
    password: SecretString,
    with_mfa: bool,
    role: Option<String>,
) -> anyhow::Result<CreatedAgent> {
    if let Some(r) = &role {
        anyhow::ensure!(
            config.roles().contains(r),
            "unknown role {r:?}; IDENTITY_ROLES is {}",
            config.identity_roles
        );
    }
    anyhow::ensure!(
        !password.expose_secret().is_empty(),
        "the password must not be empty"
    );
    let tenant = tenant(conn, slug).await?;
    let hash = Hasher::new(&config.argon2)?.hash(password).await?;
    let id = AgentId::now_v7();
    let secret = with_mfa.then(mfa::new_secret);
    let key = SealingKey::from_base64(config.identity_mfa_encryption_key.expose_secret())?;
    let sealed = secret
        .as_ref()
        .map(|s| key.seal(s, id.as_bytes()))
        .transpose()?;
    let codes = if with_mfa {
        mfa::recovery_codes(mfa::RECOVERY_CODES).map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        Vec::new()
    };
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| mfa::recovery_code_hash(c)).collect();
    let now = tessera_service::now();
    let agent = conn
        .transaction::<agents::Agent, diesel::result::Error, _>(async |c| {
            let agent =
                agents::create_agent(c, id, tenant.id, email, Some(&hash), sealed.as_deref())
                    .await?;
            if !hashes.is_empty() {
                recovery_codes::replace_recovery_codes(c, agent.id, &hashes).await?;
            }
            if let Some(r) = &role {
                role_assignments::put_role(c, &agent, r, agent.id, now).await?;
            }
            Ok(agent)
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the agent: {e}"))?;
    let issuer = format!("{} {}", config.totp_issuer, tenant.slug);
    Ok(CreatedAgent {
        agent_id: agent.id,
        tenant: tenant.slug,
        email: agent.email.clone(),
        role,
        mfa_enabled: agent.mfa_enabled,
        otpauth_uri: secret
            .as_ref()
            .map(|s| mfa::provisioning_uri(s, &issuer, &agent.email))
            .transpose()?,
        totp_secret: secret.as_deref().map(mfa::secret_base32),
        recovery_codes: codes,
    })
}
