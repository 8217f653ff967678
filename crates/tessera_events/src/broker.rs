//! RabbitMQ connection and a confirming publisher.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind, PublisherConfirm,
};

/// Longest a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Could not connect in time, or the connection/channel failed.
    #[error("broker: {0}")]
    Amqp(String),
    /// The broker did not confirm in time.
    #[error("broker did not confirm in time")]
    Timeout,
}

impl From<lapin::Error> for BrokerError {
    fn from(e: lapin::Error) -> Self {
        Self::Amqp(e.to_string())
    }
}

/// Opens a connection named `name` (visible in the RabbitMQ management UI).
///
/// # Errors
/// [`BrokerError`] when the broker is unreachable or refuses.
pub async fn connect(amqp_url: &str, name: &str) -> Result<Connection, BrokerError> {
    let props = ConnectionProperties::default().with_connection_name(LongString::from(name));
    tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(amqp_url, props))
        .await
        .map_err(|_| BrokerError::Timeout)?
        .map_err(BrokerError::from)
}

/// The names of the exchanges tests make for themselves (`testing::private_exchange`):
/// `tessera.events.test-<uuid>`.
pub(crate) const PRIVATE_EXCHANGE_PREFIX: &str = "tessera.events.test-";

/// Declares the durable topic exchange `name`. A test's private exchange
/// (`tessera.events.test-<uuid>`) is also auto-delete: the broker removes it with its last
/// binding, when the test deletes its queue or the queue expires (also when a consumer still
/// shutting down declared and bound them again after the test's clean-up). One case stays: a
/// consumer stopped between declaring the exchange again and binding its queue leaves an empty
/// exchange, which nothing removes.
///
/// # Errors
/// When the broker refuses.
pub async fn declare_exchange(channel: &Channel, name: &str) -> Result<(), BrokerError> {
    channel
        .exchange_declare(
            ShortString::from(name),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                auto_delete: name.starts_with(PRIVATE_EXCHANGE_PREFIX),
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// A server-named, exclusive, auto-deleted queue bound to `routing_key` on [`crate::EXCHANGE`]
/// and consumed at once, on a connection named `name`: for a process that must see every event
/// of a kind while it runs (each replica its own queue, gone with its connection), such as
/// gateway-auth's revocation feed or a test's tap. Keep the connection alive; deliveries are
/// acknowledged by the caller.
///
/// # Errors
/// [`BrokerError`] when the broker is unreachable or refuses.
pub async fn private_consumer(
    amqp_url: &str,
    name: &str,
    routing_key: &str,
) -> Result<(Connection, lapin::Consumer), BrokerError> {
    use lapin::options::{BasicConsumeOptions, QueueDeclareOptions};
    let conn = connect(amqp_url, name).await?;
    let ch = conn.create_channel().await?;
    declare_exchange(&ch, crate::EXCHANGE).await?;
    let q = ch
        .queue_declare(
            ShortString::from(""),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    bind(&ch, q.name().as_str(), crate::EXCHANGE, routing_key).await?;
    let consumer = ch
        .basic_consume(
            q.name().clone(),
            ShortString::from(name),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((conn, consumer))
}

/// Binds `queue` to `exchange` for `routing_key` (a topic pattern: `*` one word, `#` any),
/// without arguments. Binding again is a no-op.
///
/// # Errors
/// [`BrokerError`] when the broker refuses (an unknown queue or exchange) or the channel is
/// closed.
pub async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
) -> Result<(), BrokerError> {
    channel
        .queue_bind(
            ShortString::from(queue),
            ShortString::from(exchange),
            ShortString::from(routing_key),
            lapin::options::QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// A channel in confirm mode on its own connection.
#[derive(derive_more::Debug)]
#[debug("Publisher")]
pub struct Publisher {
    connection: Connection,
    channel: Channel,
}

/// Headers as an AMQP table of long strings.
pub fn header_table<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> FieldTable {
    let mut table = FieldTable::default();
    for (k, v) in pairs {
        table.insert(
            ShortString::from(k),
            AMQPValue::LongString(LongString::from(v)),
        );
    }
    table
}

impl Publisher {
    /// Connects, opens a confirming channel and declares `exchange`.
    ///
    /// # Errors
    /// [`BrokerError`].
    pub async fn connect(amqp_url: &str, name: &str, exchange: &str) -> Result<Self, BrokerError> {
        let connection = connect(amqp_url, name).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_exchange(&channel, exchange).await?;
        Ok(Self {
            connection,
            channel,
        })
    }

    /// Whether the connection and channel are still open.
    pub fn is_open(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    /// The underlying channel (for declaring queues).
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes a persistent JSON message; await the returned confirm.
    ///
    /// # Errors
    /// [`BrokerError`] when the channel is closed.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        message_id: &str,
        body: &[u8],
        headers: FieldTable,
        expiration_ms: Option<u64>,
    ) -> Result<PublisherConfirm, BrokerError> {
        let mut props = BasicProperties::default()
            .with_content_type(ShortString::from("application/json"))
            .with_delivery_mode(2)
            .with_message_id(ShortString::from(message_id))
            .with_type(ShortString::from(routing_key))
            .with_headers(headers);
        if let Some(ms) = expiration_ms {
            props = props.with_expiration(ShortString::from(ms.to_string()));
        }
        Ok(self
            .channel
            .basic_publish(
                ShortString::from(exchange),
                ShortString::from(routing_key),
                BasicPublishOptions::default(),
                body,
                props,
            )
            .await?)
    }

    /// Publishes and waits (bounded) for the broker's ack.
    ///
    /// # Errors
    /// [`BrokerError`], including a nack or a timeout.
    pub async fn publish_confirmed(
        &self,
        exchange: &str,
        routing_key: &str,
        message_id: &str,
        body: &[u8],
        headers: FieldTable,
    ) -> Result<(), BrokerError> {
        let confirm = self
            .publish(exchange, routing_key, message_id, body, headers, None)
            .await?;
        let confirmation = tokio::time::timeout(Duration::from_secs(10), confirm)
            .await
            .map_err(|_| BrokerError::Timeout)??;
        if confirmation.is_ack() {
            Ok(())
        } else {
            Err(BrokerError::Amqp("broker nacked the message".to_owned()))
        }
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        let _ = self.connection.close(200, ShortString::from("bye")).await;
    }
}
