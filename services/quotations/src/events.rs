//! `quotations.quotation.collected` (ARCHITECTURE.md §2 event table), written to the outbox in
//! the transaction that stores the quotation.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use tessera_service::EventSource;

use crate::db::quotations::Quotation;

/// quotations as the `source` of its events; [`EventSource::enqueue`] writes them.
pub const OUTBOX: EventSource = EventSource("quotations");
/// The routing key.
pub const COLLECTED: &str = "quotations.quotation.collected";

/// `{symbol, type, source, price, quotedAt}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Collected<'a> {
    /// Symbol.
    pub symbol: &'a str,
    /// `stock|crypto|currency`.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Provider.
    pub source: &'a str,
    /// Price as a decimal string (exact).
    pub price: &'a str,
    /// RFC 3339.
    #[serde(with = "tessera_events::envelope::rfc3339")]
    pub quoted_at: DateTime<Utc>,
}

/// Writes the event of a newly stored `q` to the outbox on `conn`.
///
/// # Errors
/// Database or serialisation errors (the transaction then rolls back).
pub async fn collected(
    conn: &mut AsyncPgConnection,
    q: &Quotation,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    let data = Collected {
        symbol: &q.symbol,
        kind: &q.kind,
        source: &q.source,
        price: &q.price,
        quoted_at: q.quoted_at,
    };
    OUTBOX.enqueue(conn, COLLECTED, data, now).await
}
