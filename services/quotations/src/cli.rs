//! The command line: `serve` (default), `migrate`, `user create`, `token`, `collect`,
//! `reconcile`, `openapi`.

use clap::Subcommand;
use tessera_http::config::ServiceConfig as _;

use crate::config::Config;

tessera_service::service! {
    Quotations = "quotations";
    /// Manage API users.
    #[command(subcommand)]
    User(UserCommand),
    /// Issue a personal access token for a user (printed once, like POST /api/auth/token).
    Token {
        /// The user's e-mail.
        #[arg(long)]
        email: String,
        /// The token's name.
        #[arg(long, default_value = "cli")]
        device_name: String,
    },
    /// Collect the current quote of each symbol and store it (seed 001 `quotations:collect`).
    /// Exit code 1 when any symbol failed; 0 with `--allow-partial-success` when at least one
    /// succeeded.
    Collect(CollectArgs),
    /// Re-validate stored quotations and mark the invalid ones with a reason (seed 001
    /// `quotations:reconcile`; rules in docs/quotations.md).
    Reconcile {
        /// Report what would be marked; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `collect` flags (seed 001 "Coleta automatica" rule 3).
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// A symbol to collect (repeatable; `--symbol=BTC,ETH` also works). Default: the
    /// auto-collect settings' symbols.
    #[arg(long = "symbol", value_name = "SYMBOL")]
    pub symbols: Vec<String>,
    /// Ask only this provider for every symbol (no fallback).
    #[arg(long, value_parser = ["awesome_api", "alpha_vantage", "yahoo_finance", "stooq"])]
    pub provider: Option<String>,
    /// Fetch the quotes but store nothing and record no run.
    #[arg(long)]
    pub dry_run: bool,
    /// Without `--provider`, ignore the auto-collect settings' provider (use each type's chain).
    #[arg(long)]
    pub ignore_config_provider: bool,
    /// Exit 0 when at least one symbol succeeded.
    #[arg(long)]
    pub allow_partial_success: bool,
    /// Who runs it (recorded in the run history).
    #[arg(long, value_enum, default_value_t = crate::collect::Trigger::Manual)]
    pub trigger: crate::collect::Trigger,
}

/// `user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user, or update the one with that e-mail. The password comes from
    /// `QUOTATIONS_USER_PASSWORD`; without it a random one is generated and printed once.
    Create {
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Make the user an administrator (may delete quotations).
        #[arg(long)]
        admin: bool,
    },
}

/// Runs the command; returns the process exit code.
///
/// # Errors
/// Any failure, as one line for the terminal.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli
        .command
        .unwrap_or(Command::Service(tessera_service::ServiceCommand::Serve))
    {
        Command::Collect(args) => collect(args).await,
        Command::Reconcile { dry_run } => {
            let config = Config::from_environment()?;
            let market = config.market_data()?;
            let mut conn = tessera_service::connect(&config.base.database_url).await?;
            let outcome = crate::reconcile::run(&mut conn, &market, dry_run).await?;
            tessera_service::print_json(&serde_json::json!({
                "dry_run": dry_run,
                "checked": outcome.checked,
                "invalid": outcome.invalid,
                "marked": outcome.marked,
                "examples": outcome.examples.iter().map(|(id, why)| serde_json::json!({"id": id, "reason": why})).collect::<Vec<_>>(),
            }))?;
            Ok(0)
        }
        Command::Service(c) => {
            c.run::<Quotations>().await?;
            Ok(0)
        }
        Command::User(UserCommand::Create { email, name, admin }) => {
            create_user(email, name, admin).await?;
            Ok(0)
        }
        Command::Token { email, device_name } => {
            token(email, device_name).await?;
            Ok(0)
        }
    }
}

/// `collect`: a progress bar on a terminal, the plain per-symbol lines and summary otherwise.
async fn collect(args: CollectArgs) -> anyhow::Result<u8> {
    use std::io::IsTerminal;
    let config = Config::from_environment()?;
    let pool = tessera_db::build_pool(
        &config.base.database_url,
        tessera_db::PoolSettings {
            max_size: 2,
            ..tessera_db::PoolSettings::default()
        },
    )?;
    let market = config.market_data()?;
    let providers = crate::providers::Providers::new(config.providers())?;
    let settings = {
        let mut conn = pool.get().await?;
        crate::collect::load_settings(&mut conn, &config).await?
    };
    let symbols: Vec<String> = if args.symbols.is_empty() {
        settings.symbols.clone()
    } else {
        crate::collect::split_symbols(&args.symbols.join(","))
    };
    let explicit = args
        .provider
        .as_deref()
        .and_then(crate::providers::Provider::parse);
    let req = crate::collect::Request {
        symbols,
        provider: explicit.or(if args.ignore_config_provider {
            None
        } else {
            settings.provider
        }),
        force_provider: explicit.is_some(),
        dry_run: args.dry_run,
        allow_partial_success: args.allow_partial_success,
        trigger: args.trigger,
    };
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
        let bar = indicatif::ProgressBar::new(req.symbols.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let deps = crate::collect::Deps {
        pool: &pool,
        providers: &providers,
        market: &market,
        relay_wake: None,
    };
    let report = crate::collect::run(deps, &req, None, |_, _, r| {
        bar.inc(1);
        bar.println(r.line());
    })
    .await?;
    bar.finish_and_clear();
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if terminal {
        // The per-symbol lines went above the bar; the summary is the last output line.
        println!("{}", report.output.lines().last().unwrap_or_default());
    } else {
        println!("{}", report.output);
    }
    Ok(u8::try_from(report.exit_code).unwrap_or(1))
}

async fn create_user(email: String, name: String, admin: bool) -> anyhow::Result<()> {
    let config = Config::from_environment()?;
    let (password, generated) = match std::env::var("QUOTATIONS_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crate::db::personal_access_tokens::new_secret()?, true),
    };
    let hash = tessera_password::Hasher::new(&config.argon2)?
        .hash(secrecy::SecretString::from(password.clone()))
        .await?;
    let mut conn = tessera_service::connect(&config.base.database_url).await?;
    let email = email.trim().to_lowercase();
    let id = crate::db::users::upsert_user(&mut conn, name.trim(), &email, &hash, admin).await?;
    let mut out = serde_json::json!({"id": id, "email": email, "is_admin": admin});
    if generated && let Some(map) = out.as_object_mut() {
        map.insert("password".to_owned(), password.into());
    }
    tessera_service::print_json(&out)
}

async fn token(email: String, device_name: String) -> anyhow::Result<()> {
    let config = Config::from_environment()?;
    let mut conn = tessera_service::connect(&config.base.database_url).await?;
    let user = crate::db::users::user_by_email(&mut conn, &email.trim().to_lowercase())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {email:?}"))?
        .user;
    let token = crate::db::personal_access_tokens::issue(&mut conn, user.id, &device_name).await?;
    tessera_service::print_json(
        &serde_json::json!({"token": token, "token_type": "Bearer", "device_name": device_name}),
    )
}
