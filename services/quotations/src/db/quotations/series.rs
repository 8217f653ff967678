//! What the dashboards draw: the latest quotation per symbol and a symbol's price series.

use super::*;
use crate::db::schema::quotations;
use crate::domain::QuotationStatus;
use chrono::{DateTime, Utc};
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The latest live, valid quotation of each symbol (alphabetical; at most `limit` symbols).
///
/// # Errors
/// Database errors.
pub async fn latest_per_symbol(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<Quotation>, diesel::result::Error> {
    quotations::table
        .filter(quotations::deleted_at.is_null())
        .filter(quotations::status.eq(QuotationStatus::Valid))
        .distinct_on(quotations::symbol)
        .order((
            quotations::symbol,
            quotations::quoted_at.desc(),
            quotations::id.desc(),
        ))
        .limit(limit)
        .select(columns())
        .load(conn)
        .await
}

/// One point of a price chart.
#[derive(Debug, Clone, QueryableByName)]
pub struct PricePoint {
    /// Symbol.
    #[diesel(sql_type = Text)]
    pub symbol: String,
    /// Price (as float8: for drawing only).
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub price: f64,
    /// When quoted.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub quoted_at: DateTime<Utc>,
}

/// The latest `points` live, valid prices of each of `symbols`, oldest first per symbol.
///
/// # Errors
/// Database errors.
pub async fn series(
    conn: &mut AsyncPgConnection,
    symbols: &[String],
    points: i64,
) -> Result<Vec<PricePoint>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT symbol, price::float8 AS price, quoted_at FROM ( \
           SELECT q.symbol, q.price, q.quoted_at, \
                  row_number() OVER (PARTITION BY q.symbol ORDER BY q.quoted_at DESC, q.id DESC) AS n \
           FROM quotations q \
           WHERE q.deleted_at IS NULL AND q.status = 'valid' AND q.symbol = ANY($1)) t \
         WHERE n <= $2 ORDER BY symbol, quoted_at, price",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(symbols)
    .bind::<diesel::sql_types::Int8, _>(points)
    .load(conn)
    .await
}

/// One point of [`series_since`], with how many the range held before thinning.
#[derive(Debug, Clone, QueryableByName)]
pub struct RangePoint {
    /// Price (as float8: for drawing only).
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub price: f64,
    /// When quoted.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub quoted_at: DateTime<Utc>,
    /// Quotations in the range (the same on every row).
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub total: i64,
}

/// One symbol's live, valid prices quoted at or after `since` (all of them when `None`), oldest
/// first, thinned to at most `max_points` by keeping every k-th quotation counted from the
/// newest (so the newest is always there and every point is a real quotation, never an average).
///
/// # Errors
/// Database errors.
pub async fn series_since(
    conn: &mut AsyncPgConnection,
    symbol: &str,
    since: Option<DateTime<Utc>>,
    max_points: i64,
) -> Result<Vec<RangePoint>, diesel::result::Error> {
    diesel::sql_query(
        "SELECT price::float8 AS price, quoted_at, total FROM ( \
           SELECT q.price, q.quoted_at, \
                  row_number() OVER (ORDER BY q.quoted_at DESC, q.id DESC) - 1 AS n, \
                  count(*) OVER () AS total \
           FROM quotations q \
           WHERE q.deleted_at IS NULL AND q.status = 'valid' AND q.symbol = $1 \
             AND ($2::timestamptz IS NULL OR q.quoted_at >= $2)) t \
         WHERE n % GREATEST(1, ceil(total::float8 / $3)::int8) = 0 \
         ORDER BY quoted_at, price",
    )
    .bind::<Text, _>(symbol)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(since)
    .bind::<diesel::sql_types::Int8, _>(max_points.max(1))
    .load(conn)
    .await
}
