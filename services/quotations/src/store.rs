//! The `quotations` table: collected quotes, soft-deleted, listed newest first.
//!
//! `price` is `numeric(24,8)`; it crosses the wire to PostgreSQL as text (`$n::numeric`,
//! `price::text`) so no float rounding happens in SQL, and is shown as a JSON number.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::quotations;
use crate::providers::Quote;

/// A stored quotation as the API shows it.
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct Quotation {
    /// Id (the `{quotation}` of `DELETE /api/quotations/{quotation}`).
    pub id: i64,
    /// Normalised symbol.
    pub symbol: String,
    /// `stock|crypto|currency`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Provider.
    pub source: String,
    /// Price (numeric(24,8)).
    #[serde(serialize_with = "price_as_number")]
    #[schema(value_type = f64)]
    pub price: String,
    /// Currency of the price, when known.
    pub currency: Option<String>,
    /// When the provider quoted it (RFC 3339).
    pub quoted_at: DateTime<Utc>,
    /// `valid|invalid`.
    pub status: String,
    /// Why it is invalid.
    pub invalid_reason: Option<String>,
    /// When it was stored (RFC 3339).
    pub created_at: DateTime<Utc>,
}

/// `"5.01230000"` (numeric as text) → `"5.0123"`: the trailing zeros of the fraction dropped.
pub fn trim_price(p: &str) -> &str {
    if p.contains('.') {
        p.trim_end_matches('0').trim_end_matches('.')
    } else {
        p
    }
}

/// `"5.01230000"` (numeric as text) → `5.0123` (a JSON number); text if it is not a decimal.
fn price_as_number<S: serde::Serializer>(p: &str, s: S) -> Result<S::Ok, S::Error> {
    let trimmed = trim_price(p);
    match serde_json::from_str::<serde_json::Number>(trimmed) {
        Ok(n) => n.serialize(s),
        Err(_) => s.serialize_str(p),
    }
}

type Columns = (
    quotations::id,
    quotations::symbol,
    quotations::kind,
    quotations::source,
    diesel::expression::SqlLiteral<Text>,
    quotations::currency,
    quotations::quoted_at,
    quotations::status,
    quotations::invalid_reason,
    quotations::created_at,
);

fn columns() -> Columns {
    (
        quotations::id,
        quotations::symbol,
        quotations::kind,
        quotations::source,
        sql::<Text>("price::text"),
        quotations::currency,
        quotations::quoted_at,
        quotations::status,
        quotations::invalid_reason,
        quotations::created_at,
    )
}

/// Stores `quote` unless a live equivalent (same symbol, source, `quoted_at` and price at
/// 8 decimals) exists. Returns the row and whether it is new.
///
/// # Errors
/// Database errors.
pub async fn insert_dedup(
    conn: &mut AsyncPgConnection,
    quote: &Quote,
) -> Result<(Quotation, bool), diesel::result::Error> {
    let price = quote.price.to_string();
    let inserted: Option<i64> = diesel::sql_query(
        "INSERT INTO quotations (symbol, type, source, price, currency, quoted_at, raw) \
         VALUES ($1, $2, $3, $4::numeric, $5, $6, $7) \
         ON CONFLICT (symbol, source, quoted_at, price) WHERE deleted_at IS NULL DO NOTHING \
         RETURNING id",
    )
    .bind::<Text, _>(&quote.symbol)
    .bind::<Text, _>(quote.kind.as_str())
    .bind::<Text, _>(quote.source.as_str())
    .bind::<Text, _>(&price)
    .bind::<Nullable<Text>, _>(quote.currency.as_deref())
    .bind::<diesel::sql_types::Timestamptz, _>(quote.quoted_at)
    .bind::<diesel::sql_types::Jsonb, _>(&quote.raw)
    .get_result::<InsertedId>(conn)
    .await
    .optional()?
    .map(|r| r.id);
    let row = match inserted {
        Some(id) => {
            quotations::table
                .find(id)
                .select(columns())
                .first::<Quotation>(conn)
                .await?
        }
        None => {
            quotations::table
                .filter(quotations::symbol.eq(&quote.symbol))
                .filter(quotations::source.eq(quote.source.as_str()))
                .filter(quotations::quoted_at.eq(quote.quoted_at))
                .filter(
                    sql::<diesel::sql_types::Bool>("price = ")
                        .bind::<Text, _>(&price)
                        .sql("::numeric"),
                )
                .filter(quotations::deleted_at.is_null())
                .select(columns())
                .first::<Quotation>(conn)
                .await?
        }
    };
    Ok((row, inserted.is_some()))
}

#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    id: i64,
}

/// The filters of `GET /api/quotations`, validated.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Exact symbol (normalised).
    pub symbol: Option<String>,
    /// Asset type.
    pub kind: Option<String>,
    /// Provider.
    pub source: Option<String>,
    /// Statuses to include (`["valid"]` by default).
    pub statuses: Vec<String>,
    /// `quoted_at >= date_from 00:00 UTC`.
    pub date_from: Option<NaiveDate>,
    /// `quoted_at < (date_to + 1 day) 00:00 UTC` (inclusive day).
    pub date_to: Option<NaiveDate>,
}

fn filtered(f: &Filters) -> quotations::BoxedQuery<'_, Pg> {
    matching(f, false)
}

/// The quotations matching `f`: the live ones, or (`deleted`) the soft-deleted ones.
fn matching(f: &Filters, deleted: bool) -> quotations::BoxedQuery<'_, Pg> {
    let mut q = if deleted {
        quotations::table
            .filter(quotations::deleted_at.is_not_null())
            .into_boxed()
    } else {
        quotations::table
            .filter(quotations::deleted_at.is_null())
            .into_boxed()
    };
    // One status is an equality (the indexes lead with it and stay ordered); both statuses —
    // the only two the CHECK constraint allows — need no condition at all.
    match f.statuses.as_slice() {
        [one] => q = q.filter(quotations::status.eq(one)),
        all if all.iter().any(|s| s == "valid") && all.iter().any(|s| s == "invalid") => {}
        some => q = q.filter(quotations::status.eq_any(some)),
    }
    if let Some(s) = &f.symbol {
        q = q.filter(quotations::symbol.eq(s));
    }
    if let Some(k) = &f.kind {
        q = q.filter(quotations::kind.eq(k));
    }
    if let Some(s) = &f.source {
        q = q.filter(quotations::source.eq(s));
    }
    if let Some(d) = f.date_from {
        q = q
            .filter(quotations::quoted_at.ge(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()));
    }
    if let Some(d) = f.date_to.and_then(|d| d.succ_opt()) {
        q = q
            .filter(quotations::quoted_at.lt(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()));
    }
    q
}

/// How many live quotations match `f`.
///
/// # Errors
/// Database errors.
pub async fn count(
    conn: &mut AsyncPgConnection,
    f: &Filters,
) -> Result<i64, diesel::result::Error> {
    filtered(f).count().get_result(conn).await
}

/// One page of live quotations matching `f`, newest first.
///
/// # Errors
/// Database errors.
pub async fn page(
    conn: &mut AsyncPgConnection,
    f: &Filters,
    limit: i64,
    offset: i64,
) -> Result<Vec<Quotation>, diesel::result::Error> {
    let rows = filtered(f)
        .order((quotations::quoted_at.desc(), quotations::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(columns())
        .load::<Quotation>(conn)
        .await?;
    Ok(rows)
}

/// Soft-deletes live quotation `id`; `false` when there is none.
///
/// # Errors
/// Database errors.
pub async fn soft_delete(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<bool, diesel::result::Error> {
    let n = diesel::update(
        quotations::table
            .find(id)
            .filter(quotations::deleted_at.is_null()),
    )
    .set(quotations::deleted_at.eq(tessera_service::now()))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Soft-deletes every live quotation matching `f`; returns how many.
///
/// # Errors
/// Database errors.
pub async fn soft_delete_matching(
    conn: &mut AsyncPgConnection,
    f: &Filters,
) -> Result<usize, diesel::result::Error> {
    let ids = filtered(f).select(quotations::id);
    diesel::update(quotations::table.filter(quotations::id.eq_any(ids)))
        .set(quotations::deleted_at.eq(tessera_service::now()))
        .execute(conn)
        .await
}

/// What restoring a quotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restore {
    /// It is live again.
    Restored,
    /// No soft-deleted quotation has that id.
    NotFound,
    /// An equivalent quotation (same symbol, source, time and price) is live: restoring would
    /// duplicate it.
    Duplicate,
}

/// Restores the soft-deleted rows among `ids` that have no live equivalent (and, among several
/// deleted equivalents, only the newest); returns the ids restored. One statement, so it cannot
/// race a collect into a duplicate (the dedup index would refuse it).
async fn restore_ids(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> Result<Vec<i64>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "UPDATE quotations q SET deleted_at = NULL \
         WHERE q.id = ANY($1) AND q.deleted_at IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM quotations l WHERE l.deleted_at IS NULL \
                 AND l.symbol = q.symbol AND l.source = q.source \
                 AND l.quoted_at = q.quoted_at AND l.price = q.price) \
           AND q.id = (SELECT max(d.id) FROM quotations d WHERE d.deleted_at IS NOT NULL \
                 AND d.id = ANY($1) AND d.symbol = q.symbol AND d.source = q.source \
                 AND d.quoted_at = q.quoted_at AND d.price = q.price) \
         RETURNING q.id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Restores soft-deleted quotation `id`.
///
/// # Errors
/// Database errors.
pub async fn restore(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<Restore, diesel::result::Error> {
    if !restore_ids(conn, &[id]).await?.is_empty() {
        return Ok(Restore::Restored);
    }
    let deleted: Option<i64> = quotations::table
        .find(id)
        .filter(quotations::deleted_at.is_not_null())
        .select(quotations::id)
        .first(conn)
        .await
        .optional()?;
    Ok(if deleted.is_some() {
        Restore::Duplicate
    } else {
        Restore::NotFound
    })
}

/// Restores every soft-deleted quotation matching `f` that has no live equivalent; returns
/// (restored, skipped as duplicates).
///
/// # Errors
/// Database errors.
pub async fn restore_matching(
    conn: &mut AsyncPgConnection,
    f: &Filters,
) -> Result<(usize, usize), diesel::result::Error> {
    let ids: Vec<i64> = matching(f, true).select(quotations::id).load(conn).await?;
    let restored = restore_ids(conn, &ids).await?.len();
    Ok((restored, ids.len() - restored))
}

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
        .filter(quotations::status.eq("valid"))
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
