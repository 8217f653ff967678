//! What a service binary is ([`Service`]) and the subcommands every one has
//! ([`ServiceCommand`]: `serve`, `migrate` and its `status`/`revert`, `openapi`, `config show`,
//! `completions`).

use super::*;
use diesel_migrations::EmbeddedMigrations;

/// The `serve` subcommand of every service: reads the configuration with `config`, starts
/// telemetry (JSON logs, OTLP when configured) as `service`, builds the service with `build`
/// and runs it until SIGTERM, then flushes telemetry.
///
/// # Errors
/// The configuration, telemetry set-up, build or server failed.
pub async fn serve<C, Fut>(
    service: &'static str,
    config: impl FnOnce() -> anyhow::Result<C>,
    build: impl FnOnce(C) -> Fut,
) -> anyhow::Result<()>
where
    Fut: std::future::Future<Output = anyhow::Result<Running>>,
{
    let config = config()?;
    let telemetry = tessera_telemetry::init(service)?;
    let app = build(config).await?;
    let result = app.run_until_stopped().await;
    telemetry.shutdown();
    result
}

/// A service binary, as its shared subcommands see it: `serve`, `migrate`, `openapi` and
/// `completions` ([`ServiceCommand`]) and the integration tests' server (`tessera_testkit`)
/// run from this and nothing else.
pub trait Service {
    /// The binary's name, e.g. `identity`: telemetry's default `service.name` and log lines.
    const NAME: &'static str;
    /// Every migration the service runs, in order (the shared tables first).
    const MIGRATIONS: &'static [EmbeddedMigrations];
    /// Its configuration.
    type Config: Clone + crate::ServiceConfig;
    /// Its command line (for `completions`).
    type Cli: clap::CommandFactory;

    /// Reads the configuration from the environment.
    ///
    /// # Errors
    /// One line naming the missing or invalid variable.
    fn config() -> anyhow::Result<Self::Config>;

    /// A configuration for tests over the given database and broker, everything else default.
    ///
    /// # Errors
    /// A test setting that does not parse (named).
    fn config_for_tests(database_url: &str, amqp_url: &str) -> Result<Self::Config, String>;

    /// Connects, starts the background tasks and binds the listener.
    ///
    /// # Errors
    /// As the service's `startup::build`.
    fn build(
        config: Self::Config,
    ) -> impl std::future::Future<Output = anyhow::Result<Running>> + Send;

    /// The OpenAPI document as YAML (what `docs/openapi/<service>.yaml` holds).
    ///
    /// # Errors
    /// Serialisation failures.
    fn openapi() -> anyhow::Result<String>;
}

/// The subcommands every service has, flattened into each service's own command enum
/// (`#[command(flatten)] Service(ServiceCommand)`): `serve`, `migrate [--create-database]`,
/// `openapi` and `completions <shell>`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ServiceCommand {
    /// Serve HTTP (configuration from the environment; see .env.example).
    Serve,
    /// Apply pending database migrations and exit (`migrate status`, `migrate revert`: below).
    Migrate {
        /// Create the database first if it does not exist.
        #[arg(long)]
        create_database: bool,
        /// Instead of applying: show or revert.
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Print the OpenAPI document as YAML.
    Openapi,
    /// The configuration: `config show`.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `config show`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration read from the environment (and `.env`) as one JSON
    /// object, variable name → value, defaults filled in, secrets shown as `"[redacted]"` (and
    /// the password of a URL); an invalid configuration fails as `serve` would, naming the
    /// variable.
    Show,
}

/// What `config show` prints: `variables` as one pretty JSON object, sorted by name.
///
/// # Errors
/// Serialisation failures.
pub fn print_effective(
    variables: serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let sorted: std::collections::BTreeMap<_, _> = variables.into_iter().collect();
    println!("{}", serde_json::to_string_pretty(&sorted)?);
    Ok(())
}

/// `migrate status` / `migrate revert` (`DATABASE_URL`; under the migration lock).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MigrateAction {
    /// List every migration, in order, as `applied` or `pending`.
    Status,
    /// Revert the last applied migration(s), newest first, running their `down.sql`.
    Revert {
        /// How many to revert.
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
}

impl MigrateAction {
    /// Runs it against `DATABASE_URL`, printing one line per migration.
    ///
    /// # Errors
    /// A missing `DATABASE_URL`, an unreachable server, a failing `down.sql`.
    pub async fn run(self, migrations: &'static [EmbeddedMigrations]) -> anyhow::Result<()> {
        let url = tessera_db::database_url_from_env()?;
        match self {
            Self::Status => {
                let states = tessera_db::migration_status(&url, migrations).await?;
                let pending = states.iter().filter(|m| !m.applied).count();
                for m in &states {
                    println!(
                        "{:<8} {}",
                        if m.applied { "applied" } else { "pending" },
                        m.name
                    );
                }
                println!("{} applied, {pending} pending", states.len() - pending);
            }
            Self::Revert { steps } => {
                let reverted = tessera_db::revert_migrations(&url, migrations, steps).await?;
                for version in &reverted {
                    println!("reverted {version}");
                }
                println!("reverted {} migration(s)", reverted.len());
            }
        }
        Ok(())
    }
}

impl ServiceCommand {
    /// Runs the subcommand for service `S`: [`serve`], [`tessera_db::migrate_command`] or a
    /// [`MigrateAction`], the OpenAPI document, or the completion script.
    ///
    /// # Errors
    /// As [`serve`] and [`tessera_db::migrate_command`].
    pub async fn run<S: Service>(self) -> anyhow::Result<()> {
        match self {
            Self::Serve => serve(S::NAME, S::config, S::build).await,
            Self::Migrate {
                action: Some(action),
                ..
            } => action.run(S::MIGRATIONS).await,
            Self::Migrate {
                create_database,
                action: None,
            } => tessera_db::migrate_command(create_database, S::MIGRATIONS).await,
            Self::Openapi => {
                print!("{}", S::openapi()?);
                Ok(())
            }
            Self::Config {
                action: ConfigAction::Show,
            } => {
                let config = S::config()?;
                print_effective(crate::ServiceConfig::effective(&config))
            }
            Self::Completions { shell } => {
                crate::completions::<S::Cli>(shell);
                Ok(())
            }
        }
    }
}
