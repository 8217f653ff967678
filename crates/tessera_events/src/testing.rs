//! Test helpers: a TCP proxy that can cut a service off from RabbitMQ (or PostgreSQL)
//! without stopping the shared server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards connections from a local port to `target` while enabled.
///
/// [`TcpProxy::cut`] closes every open connection and refuses new ones;
/// [`TcpProxy::restore`] accepts again.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    enabled: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl TcpProxy {
    /// Starts a proxy on `127.0.0.1:0` to `target` (e.g. `127.0.0.1:5672`).
    ///
    /// # Errors
    /// When the local port cannot be bound.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let enabled = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let gen_tx = generation.clone();
        let flag = Arc::clone(&enabled);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = gen_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut ri, mut wi) = inbound.into_split();
                    let (mut ro, mut wo) = outbound.into_split();
                    tokio::select! {
                        _ = tokio::io::copy(&mut ri, &mut wo) => {}
                        _ = tokio::io::copy(&mut ro, &mut wi) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Ok(Self {
            addr,
            enabled,
            generation,
        })
    }

    /// A proxy to the local RabbitMQ (`127.0.0.1:5672`), already [cut](TcpProxy::cut): a
    /// service given its [`amqp_url`](TcpProxy::amqp_url) starts with the broker unreachable
    /// until [`restore`](TcpProxy::restore).
    ///
    /// # Errors
    /// When the local port cannot be bound.
    pub async fn broker_cut() -> std::io::Result<Self> {
        let proxy = Self::start(SocketAddr::from(([127, 0, 0, 1], 5672))).await?;
        proxy.cut();
        Ok(proxy)
    }

    /// The proxy's local address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An AMQP URL through the proxy (guest/guest, default vhost).
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.addr)
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }
}

/// `AMQP_URL` for tests (`TEST_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`).
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// An exclusive, auto-deleted queue bound to `routing_key` on [`crate::EXCHANGE`], consumed at
/// once: what a test uses to watch what a service publishes. Keep the connection alive.
///
/// # Errors
/// When the broker is unreachable.
pub async fn tap(
    amqp_url: &str,
    routing_key: &str,
) -> Result<(lapin::Connection, lapin::Consumer), crate::broker::BrokerError> {
    crate::broker::private_consumer(amqp_url, "test-tap", routing_key).await
}

/// Deletes a test consumer's durable queues from the broker at [`amqp_url`]: `queue`,
/// `queue.dlq` and `queue.retry.1` to `queue.retry.<retries>` (the names of
/// [`crate::ConsumerConfig::dead_letter_queue`] and [`crate::ConsumerConfig::retry_queue`]).
/// Best effort: a queue already gone is not an error.
///
/// # Panics
/// When the broker is unreachable.
pub async fn delete_queues(queue: &str, retries: u32) {
    #[expect(clippy::expect_used, reason = "test helper")]
    let conn = crate::broker::connect(&amqp_url(), "test-cleanup")
        .await
        .expect("RabbitMQ reachable to delete the test's queues");
    #[expect(clippy::expect_used, reason = "test helper")]
    let ch = conn.create_channel().await.expect("a channel");
    let mut names = vec![queue.to_owned(), format!("{queue}.dlq")];
    names.extend((1..=retries).map(|n| format!("{queue}.retry.{n}")));
    for name in names {
        let _ = ch
            .queue_delete(
                lapin::types::ShortString::from(name),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await;
    }
    let _ = conn
        .close(200, lapin::types::ShortString::from("done"))
        .await;
}

/// A fresh exchange name, `tessera.events.test-<uuid>`, for a test whose consumer must see only
/// the events the test itself publishes (the shared [`crate::EXCHANGE`] carries every concurrent
/// test's events). Nothing to delete afterwards: it is declared auto-delete
/// ([`crate::broker::declare_exchange`]), so the broker removes it with its last binding, when
/// the test deletes its queues ([`delete_queues`]) or they expire.
pub fn private_exchange() -> String {
    format!(
        "{}{}",
        crate::broker::PRIVATE_EXCHANGE_PREFIX,
        uuid::Uuid::new_v4().simple()
    )
}

/// [`delete_queues`] for the queues of `config`: its queue, its retry queues and its dead letters.
pub async fn delete_consumer_queues(config: &crate::ConsumerConfig) {
    delete_queues(&config.queue, config.max_attempts.saturating_sub(1)).await;
}

/// An [`crate::EventHandler`] for tests: counts its calls, fails the first `fail_first` of them
/// (so the consumer retries or dead-letters) and records every event it handled successfully.
#[derive(Debug, Default)]
pub struct Recorder {
    fail_first: u32,
    calls: AtomicU32,
    handled: std::sync::Mutex<Vec<crate::EventEnvelope>>,
}

impl Recorder {
    /// A recorder whose first `fail_first` calls fail (`u32::MAX`: every call).
    pub fn failing_first(fail_first: u32) -> Self {
        Self {
            fail_first,
            ..Self::default()
        }
    }

    /// How many times the consumer called the handler (failures included).
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    /// The events handled successfully, in the order they were handled.
    pub fn handled(&self) -> Vec<crate::EventEnvelope> {
        self.handled
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Waits until the handler was called `n` times or `within` passed; whether it was.
    pub async fn wait_for_calls(&self, n: u32, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.calls() < n {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        true
    }
}

#[async_trait::async_trait]
impl crate::EventHandler for Recorder {
    async fn handle(
        &self,
        _conn: &mut diesel_async::AsyncPgConnection,
        event: &crate::EventEnvelope,
    ) -> anyhow::Result<()> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.fail_first {
            anyhow::bail!("failure {n}")
        }
        if let Ok(mut handled) = self.handled.lock() {
            handled.push(event.clone());
        }
        Ok(())
    }
}
