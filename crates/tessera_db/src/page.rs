//! One page of a listing and how many rows it has in all: what every list endpoint answers
//! (`data` and `meta.total`, ARCHITECTURE.md §2 "Pagination").

use diesel::QueryResult;
use diesel::dsl::{Limit, Offset};
use diesel::query_dsl::methods::{LimitDsl, OffsetDsl};
use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Counts the listing with `count` (its filter and `.count()`), then loads `rows` (the same
/// filter, ordered and selected) with `LIMIT limit OFFSET offset`: `(rows of the page, total)`.
/// Two statements on `conn`, as the listing's own two queries would be.
///
/// # Errors
/// Database errors of either statement.
pub async fn load<'q, Rows, Count, R>(
    conn: &mut AsyncPgConnection,
    rows: Rows,
    count: Count,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<R>, i64)>
where
    Rows: LimitDsl,
    Limit<Rows>: OffsetDsl,
    Offset<Limit<Rows>>: LoadQuery<'q, AsyncPgConnection, R> + 'q,
    Count: LoadQuery<'q, AsyncPgConnection, i64> + 'q,
    R: Send,
{
    let total = count.get_result(conn).await?;
    let rows = rows.limit(limit).offset(offset).load(conn).await?;
    Ok((rows, total))
}
