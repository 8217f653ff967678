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
use crate::domain::QuotationStatus;
use crate::providers::Quote;

mod restore;
pub use restore::*;
mod series;
pub use series::*;

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
    pub status: QuotationStatus,
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
    let inserted: Option<i64> = tessera_db::prepared(
        diesel::sql_query(
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
        .bind::<diesel::sql_types::Jsonb, _>(&quote.raw),
    )
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
    pub statuses: Vec<QuotationStatus>,
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
        all if QuotationStatus::ALL.iter().all(|s| all.contains(s)) => {}
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
