#![doc = include_str!("../README.md")]

pub mod broker;
pub mod consumer;
pub mod dead_letters;
pub mod envelope;
pub mod metrics;
pub mod outbox;
pub mod relay;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub use consumer::{Consumer, ConsumerConfig, EventHandler};
pub use envelope::EventEnvelope;
pub use outbox::{
    BatchWrite, Events, GroupCommit, GroupCommitFactory, OutboxMessage, OutboxWriter,
    OutboxWriterFactory,
};
pub use relay::{Relay, RelayConfig, RelayHandle};

/// The platform's one durable topic exchange.
pub const EXCHANGE: &str = "tessera.events";

/// The `outbox` and `processed_events` tables; run before a service's own migrations.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
