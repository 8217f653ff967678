//! Test helpers: a TCP proxy that can cut a service off from RabbitMQ (or PostgreSQL)
//! without stopping the shared server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
