//! What a collect is asked to do (symbols, provider, dry run, trigger), checked before it runs.

use super::*;
use crate::providers::Provider;
use serde::Serialize;

tessera_db::text_enum! {
    /// Who started a run (`--trigger`).
    #[derive(Serialize, clap::ValueEnum, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Trigger {
        /// `quotations collect` by hand (the default).
        Manual = "manual",
        /// The dashboard's run-now.
        Dashboard = "dashboard",
        /// The scheduler (in-process, or a CronJob running `collect --trigger=scheduler`).
        Scheduler = "scheduler",
    }
}

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// Symbols as given (resolved during the run).
    pub symbols: Vec<String>,
    /// The provider asked, if any.
    pub provider: Option<Provider>,
    /// Ask `provider` for every symbol, even of a type it does not quote.
    pub force_provider: bool,
    /// Fetch only: store nothing, record nothing.
    pub dry_run: bool,
    /// Exit 0 when at least one symbol succeeded.
    pub allow_partial_success: bool,
    /// Who started it.
    pub trigger: Trigger,
}

impl Request {
    /// The equivalent command line (the history's command metadata; `requested_provider` is
    /// recorded beside it).
    pub fn command_line(&self) -> String {
        let mut c = String::from("quotations collect");
        for s in &self.symbols {
            let _ = write!(c, " --symbol={s}");
        }
        // Only a forced provider has a flag; a settings provider is the command's default.
        if let Some(p) = self.provider.filter(|_| self.force_provider) {
            let _ = write!(c, " --provider={}", p.as_str());
        }
        if self.dry_run {
            c.push_str(" --dry-run");
        }
        if self.allow_partial_success {
            c.push_str(" --allow-partial-success");
        }
        let _ = write!(c, " --trigger={}", self.trigger.as_str());
        c
    }
}
