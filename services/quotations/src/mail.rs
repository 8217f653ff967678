//! Outgoing e-mail (issue #7): SMTP through lettre, or — the local default — the log.
//!
//! Settings are the `MAIL_*` variables (Laravel's names): `MAIL_MAILER=log|smtp|file`, `MAIL_HOST`,
//! `MAIL_PORT`, `MAIL_USERNAME`, `MAIL_PASSWORD`, `MAIL_ENCRYPTION=starttls|tls|none`,
//! `MAIL_FROM_ADDRESS`, `MAIL_FROM_NAME`. With `log`, each message is written to the service's
//! log at `INFO` (target `quotations::mail`) with its recipient, subject and text body — links
//! included, which is what a developer on `make up` clicks. With `file`, lettre's file transport
//! writes each message as `<uuid>.eml` into `MAIL_FILE_DIR` (tests read them). Outside `local`/`testing`,
//! `MAIL_MAILER` must be set explicitly.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// `MAIL_MAILER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailerKind {
    /// Write messages to the log.
    Log,
    /// Send through the SMTP server at `MAIL_HOST:MAIL_PORT`.
    Smtp,
    /// Write `.eml` files into `MAIL_FILE_DIR`.
    File,
}

/// `MAIL_ENCRYPTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// STARTTLS required (port 587).
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
    /// Plain text (a local relay or a development catcher only).
    None,
}

fn default_port() -> u16 {
    587
}
fn default_from() -> String {
    "no-reply@quotations.test".to_owned()
}
fn default_from_name() -> String {
    "Tessera Quotations".to_owned()
}

/// The `MAIL_*` settings (each field is the variable without its `MAIL_` prefix).
#[derive(Clone, Deserialize, serde::Serialize)]
pub struct MailSettings {
    /// `MAIL_MAILER` (`log` when unset in `local`/`testing`; required elsewhere).
    #[serde(default, rename(serialize = "mail_mailer"))]
    pub mailer: Option<MailerKind>,
    /// `MAIL_HOST` (required with `smtp`).
    #[serde(default, rename(serialize = "mail_host"))]
    pub host: Option<String>,
    /// `MAIL_PORT` (default 587).
    #[serde(default = "default_port", rename(serialize = "mail_port"))]
    pub port: u16,
    /// `MAIL_USERNAME` (SMTP AUTH when set).
    #[serde(default, rename(serialize = "mail_username"))]
    pub username: Option<String>,
    /// `MAIL_PASSWORD`.
    #[serde(
        default,
        serialize_with = "tessera_http::config::show::secret_if_set",
        rename(serialize = "mail_password")
    )]
    pub password: Option<SecretString>,
    /// `MAIL_ENCRYPTION` (default `starttls`).
    #[serde(default, rename(serialize = "mail_encryption"))]
    pub encryption: Encryption,
    /// `MAIL_FROM_ADDRESS` (default `no-reply@quotations.test`).
    #[serde(default = "default_from", rename(serialize = "mail_from_address"))]
    pub from_address: String,
    /// `MAIL_FROM_NAME` (default `Tessera Quotations`).
    #[serde(default = "default_from_name", rename(serialize = "mail_from_name"))]
    pub from_name: String,
    /// `MAIL_FILE_DIR` (required with `file`).
    #[serde(default, rename(serialize = "mail_file_dir"))]
    pub file_dir: Option<std::path::PathBuf>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            mailer: None,
            host: None,
            port: default_port(),
            username: None,
            password: None,
            encryption: Encryption::default(),
            from_address: default_from(),
            from_name: default_from_name(),
            file_dir: None,
        }
    }
}

impl MailSettings {
    /// Checks what can be checked without the environment's `APP_ENV`.
    ///
    /// # Errors
    /// One line naming the bad variable.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.mailer == Some(MailerKind::Smtp) && self.host.as_deref().unwrap_or("").is_empty() {
            anyhow::bail!("missing environment variable MAIL_HOST (MAIL_MAILER=smtp)");
        }
        if self.mailer == Some(MailerKind::File) && self.file_dir.is_none() {
            anyhow::bail!("missing environment variable MAIL_FILE_DIR (MAIL_MAILER=file)");
        }
        self.from()?;
        Ok(())
    }

    fn from(&self) -> anyhow::Result<Mailbox> {
        let address = self
            .from_address
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid environment variable MAIL_FROM_ADDRESS: {e}"))?;
        Ok(Mailbox::new(Some(self.from_name.clone()), address))
    }
}

#[derive(Clone)]
enum Transport {
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// Sends e-mails.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.transport {
            Transport::Log => "log",
            Transport::Smtp(_) => "smtp",
            Transport::File(_) => "file",
        };
        f.debug_struct("Mailer")
            .field("transport", &kind)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the mailer; `local_default` says whether an unset `MAIL_MAILER` means `log`.
    ///
    /// # Errors
    /// `MAIL_MAILER` unset where it must be set, or a bad SMTP setting.
    pub fn new(settings: &MailSettings, local_default: bool) -> anyhow::Result<Self> {
        let kind = match settings.mailer {
            Some(k) => k,
            None if local_default => MailerKind::Log,
            None => anyhow::bail!("missing environment variable MAIL_MAILER (log or smtp)"),
        };
        let transport = match kind {
            MailerKind::Log => Transport::Log,
            MailerKind::File => {
                let dir = settings.file_dir.clone().unwrap_or_default();
                std::fs::create_dir_all(&dir).map_err(|e| {
                    anyhow::anyhow!("invalid environment variable MAIL_FILE_DIR: {e}")
                })?;
                Transport::File(AsyncFileTransport::new(dir))
            }
            MailerKind::Smtp => {
                let host = settings.host.clone().unwrap_or_default();
                let mut builder = match settings.encryption {
                    Encryption::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?
                    }
                    Encryption::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?,
                    Encryption::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                    }
                }
                .port(settings.port)
                .timeout(Some(std::time::Duration::from_secs(10)));
                if let Some(user) = &settings.username {
                    let password = settings
                        .password
                        .as_ref()
                        .map(|p| p.expose_secret().to_owned())
                        .unwrap_or_default();
                    builder = builder.credentials(Credentials::new(user.clone(), password));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Self {
            from: settings.from()?,
            transport,
        })
    }

    /// Sends a plain-text message to `to`.
    ///
    /// # Errors
    /// A bad recipient address, or the SMTP server refused or could not be reached.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> anyhow::Result<()> {
        // lettre picks the transfer encoding (quoted-printable for lines over 78 characters).
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.parse()?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.clone())?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
                tracing::info!(target: "quotations::mail", subject, "mail sent over SMTP");
            }
            Transport::File(file) => {
                let id = file.send(message).await?;
                tracing::info!(target: "quotations::mail", subject, %id, "mail written to MAIL_FILE_DIR");
            }
            Transport::Log => {
                tracing::info!(target: "quotations::mail", to, subject, body = %body, "mail (log mailer)");
            }
        }
        Ok(())
    }
}
