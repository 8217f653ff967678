//! `quotations reconcile [--dry-run]`: re-validates stored quotations and marks the invalid ones
//! (seed 001 "Coleta automatica"; the rules are ours, documented in `docs/quotations.md`).
//!
//! A live (not soft-deleted) `valid` quotation becomes `invalid`, with `invalid_reason` set to
//! the first rule it breaks:
//!
//! | reason | rule |
//! |---|---|
//! | `non_positive_price` | `price <= 0` |
//! | `quoted_in_future` | `quoted_at` more than 5 minutes after `created_at` |
//! | `invalid_symbol` | the symbol no longer passes the market-data validation |
//! | `type_mismatch` | the symbol's inferred type differs from the stored `type` (for pairs and listed codes) |
//! | `invalid_currency` | `currency` present but not three upper-case letters |
//!
//! Rows are read in batches of 1,000 by id; each batch's invalid rows are marked with one
//! `UPDATE`. With `--dry-run` nothing is written. Already `invalid` rows are left as they are.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Array, Int8, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::quotations;
use crate::domain::QuotationStatus;
use crate::market::{AssetType, MarketData};

/// Rows per batch.
pub const BATCH: i64 = 1_000;

/// How far `quoted_at` may be ahead of `created_at` (provider clock skew).
pub const FUTURE_TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// What a reconcile found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Outcome {
    /// Valid rows checked.
    pub checked: usize,
    /// Rows that break a rule.
    pub invalid: usize,
    /// Rows marked (0 on a dry run).
    pub marked: usize,
    /// `(id, reason)` of every invalid row found (first 100).
    pub examples: Vec<(i64, &'static str)>,
}

type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// The first rule `row` breaks, if any.
pub fn violation(market: &MarketData, row: &Row) -> Option<&'static str> {
    let (_, symbol, kind, price, currency, quoted_at, created_at) = row;
    let positive = price.trim_start().parse::<f64>().is_ok_and(|p| p > 0.0);
    if !positive {
        return Some("non_positive_price");
    }
    if *quoted_at > *created_at + FUTURE_TOLERANCE {
        return Some("quoted_in_future");
    }
    let Ok(resolved) = market.resolve(symbol, None) else {
        return Some("invalid_symbol");
    };
    let stored = AssetType::parse(kind);
    // A stock-looking symbol may legitimately have been collected with an explicit type; only a
    // pair or a listed code has a type the market data decides.
    if resolved.kind != AssetType::Stock && stored != Some(resolved.kind) {
        return Some("type_mismatch");
    }
    if let Some(c) = currency
        && !(c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        return Some("invalid_currency");
    }
    None
}

/// Re-validates every live `valid` quotation; marks the invalid ones unless `dry_run`.
///
/// # Errors
/// Database errors (batches already marked stay marked).
pub async fn run(
    conn: &mut AsyncPgConnection,
    market: &MarketData,
    dry_run: bool,
) -> Result<Outcome, diesel::result::Error> {
    let mut out = Outcome::default();
    let mut after = 0_i64;
    loop {
        let rows: Vec<Row> = quotations::table
            .filter(quotations::deleted_at.is_null())
            .filter(quotations::status.eq(QuotationStatus::Valid))
            .filter(quotations::id.gt(after))
            .order(quotations::id)
            .limit(BATCH)
            .select((
                quotations::id,
                quotations::symbol,
                quotations::kind,
                sql::<Text>("price::text"),
                quotations::currency,
                quotations::quoted_at,
                quotations::created_at,
            ))
            .load(conn)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        out.checked += rows.len();
        let (ids, reasons): (Vec<i64>, Vec<&'static str>) = rows
            .iter()
            .filter_map(|r| violation(market, r).map(|why| (r.0, why)))
            .unzip();
        out.invalid += ids.len();
        for (id, why) in ids.iter().zip(&reasons) {
            if out.examples.len() < 100 {
                out.examples.push((*id, why));
            }
        }
        if !dry_run && !ids.is_empty() {
            out.marked += diesel::sql_query(
                "UPDATE quotations SET status = 'invalid', invalid_reason = v.reason \
                 FROM unnest($1::bigint[], $2::text[]) AS v(id, reason) \
                 WHERE quotations.id = v.id AND quotations.status = 'valid'",
            )
            .bind::<Array<Int8>, _>(&ids)
            .bind::<Array<Text>, _>(&reasons)
            .execute(conn)
            .await?;
        }
    }
    Ok(out)
}
