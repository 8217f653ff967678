//! `dlq list` / `dlq replay` for a service that consumes events
//! ([`tessera_events::dead_letters`]; docs/runbook.md "Replay dead letters").

/// `dlq …`: the service's consumer queue's dead letters (`AMQP_URL`).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DlqCommand {
    /// Print the dead letters (event id, type, attempts, last error) as JSON lines; none is removed.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Move dead letters back to the consumer's queue, where each is processed once (events
    /// already processed are recognised by their id and skipped).
    Replay {
        /// The event id to replay (repeatable).
        #[arg(long = "id", required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Every dead letter in the queue now.
        #[arg(long)]
        all: bool,
    },
}

/// `AMQP_URL`, else the local default; the consumer queue from `queue_var`, else `default_queue`.
/// Only these two are read, so an operator needs no other setting of the service.
pub fn target(queue_var: &str, default_queue: &str) -> (String, String) {
    let amqp = std::env::var("AMQP_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| tessera_http::config::DEFAULT_AMQP_URL.to_owned());
    let queue = std::env::var(queue_var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default_queue.to_owned());
    (amqp, queue)
}

impl DlqCommand {
    /// Runs it against the dead-letter queue of `queue` on `amqp_url`.
    ///
    /// # Errors
    /// An unreachable broker, a missing queue, an unconfirmed republish.
    pub async fn run(self, amqp_url: &str, queue: &str) -> anyhow::Result<()> {
        use std::io::Write;
        match self {
            Self::List { limit } => {
                let letters = tessera_events::dead_letters::list(amqp_url, queue, limit).await?;
                let mut out = std::io::stdout().lock();
                for letter in &letters {
                    serde_json::to_writer(&mut out, letter)?;
                    writeln!(out)?;
                }
                eprintln!("{} dead letter(s) in {queue}.dlq", letters.len());
            }
            Self::Replay { ids, all } => {
                let which = if all {
                    tessera_events::dead_letters::Replay::All
                } else {
                    tessera_events::dead_letters::Replay::Ids(ids)
                };
                let moved = tessera_events::dead_letters::replay(amqp_url, queue, &which).await?;
                for id in &moved {
                    println!("replayed {id}");
                }
                eprintln!("replayed {} dead letter(s) into {queue}", moved.len());
            }
        }
        Ok(())
    }
}
