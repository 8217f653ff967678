//! Raw SQL that stays prepared on its connection.
//!
//! diesel never caches a [`diesel::sql_query`] statement, because its text could be anything
//! (`SqlQuery` marks itself unsafe to cache): every execution sends PostgreSQL a `Parse` and a
//! `Describe` (one more round trip) and PostgreSQL parses, analyses and plans it again, then
//! closes it. For a statement on a hot path whose text is fixed — a `&'static str`, or one built
//! once from configuration — that is wasted work on the database, usually the shared bottleneck.
//! [`Prepared`] lets diesel-async's per-connection statement cache keep it, keyed by the SQL text
//! and the bind types (`diesel::connection::statement_cache`), like the query builder's own
//! statements.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A query (typically a [`diesel::sql_query`] with its binds) that diesel may keep prepared on the
/// connection. Build it with [`prepared`]; run it like the query it wraps (`execute`,
/// `get_result`, `load` from `diesel_async::RunQueryDsl`).
///
/// Only for a text drawn from a fixed set: the cache holds one statement per distinct text on
/// each pooled connection, for the connection's life.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

/// Wraps `query` so that its prepared statement is cached ([`Prepared`]).
pub fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    /// The wrapped query says "never cache" only because its text is arbitrary; a [`Prepared`]
    /// one is fixed by contract.
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache keys the statement by its SQL text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

diesel::define_sql_function! {
    /// PostgreSQL's `set_config(setting_name, new_value, is_local)`.
    fn set_config(
        name: diesel::sql_types::Text,
        value: diesel::sql_types::Text,
        is_local: diesel::sql_types::Bool,
    ) -> diesel::sql_types::Text;
}

/// `SET LOCAL <name> = <value>` for the rest of the caller's transaction, as one statement of
/// fixed text (`SELECT set_config($1, $2, true)`) that stays prepared for every setting and value:
/// a `SET` cannot take parameters, so its text would change with the value.
///
/// # Errors
/// Database errors (an unknown setting or an invalid value included).
pub async fn set_local(
    conn: &mut diesel_async::AsyncPgConnection,
    name: &str,
    value: &str,
) -> QueryResult<()> {
    use diesel_async::RunQueryDsl;
    diesel::select(set_config(name, value, true))
        .execute(conn)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use diesel::QueryableByName;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

    use super::*;
    use crate::testing::TestDatabase;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }

    /// How many statements the session holds prepared (`pg_prepared_statements`).
    async fn held(conn: &mut AsyncPgConnection) -> i64 {
        diesel::sql_query("SELECT count(*) AS n FROM pg_prepared_statements")
            .get_result::<Count>(conn)
            .await
            .unwrap()
            .n
    }

    #[tokio::test]
    async fn a_prepared_raw_statement_is_parsed_once_and_answers_with_each_bind() {
        let db = TestDatabase::new("tessera_db_prepared", &[]).await.unwrap();
        let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
        let before = held(&mut conn).await;
        let sql = "SELECT $1::int8 * 2 AS n";
        for i in 1..=3_i64 {
            let row: Count = prepared(diesel::sql_query(sql).bind::<diesel::sql_types::Int8, _>(i))
                .get_result(&mut conn)
                .await
                .unwrap();
            assert_eq!(row.n, i * 2);
        }
        // One statement kept for three executions; a plain `sql_query` keeps none.
        assert_eq!(held(&mut conn).await, before + 1);
        for i in 1..=3_i64 {
            diesel::sql_query("SELECT $1::int8 + 1 AS n")
                .bind::<diesel::sql_types::Int8, _>(i)
                .get_result::<Count>(&mut conn)
                .await
                .unwrap();
        }
        assert_eq!(held(&mut conn).await, before + 1);
    }

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }

    async fn lock_timeout(conn: &mut AsyncPgConnection) -> String {
        diesel::sql_query("SELECT current_setting('lock_timeout') AS value")
            .get_result::<Setting>(conn)
            .await
            .unwrap()
            .value
    }

    #[tokio::test]
    async fn set_local_lasts_until_the_transaction_ends() {
        let db = TestDatabase::new("tessera_db_set_local", &[])
            .await
            .unwrap();
        let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();
        let inside = conn
            .transaction::<_, diesel::result::Error, _>(async |c| {
                set_local(c, "lock_timeout", "7s").await?;
                Ok(lock_timeout(c).await)
            })
            .await
            .unwrap();
        assert_eq!(inside, "7s");
        assert_eq!(lock_timeout(&mut conn).await, "0");
    }
}
