//! Raw SQL that the connections keep prepared. diesel's MultiConnection has no `UNION`, so a few
//! hot queries are written by hand; `diesel::sql_query` would re-plan them on every call (it is
//! never cached), which costs PostgreSQL more than the round trips the union saves. This type
//! writes `?` as each backend's placeholder (`$n` on PostgreSQL) and is cached by its SQL text.

use std::marker::PhantomData;

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text, Timestamp};

/// `n` placeholders separated by commas, for an `IN (…)` list.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A value bound to a `?` of [`CachedSql`].
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    /// A `TEXT` value.
    Text(String),
    /// A `TIMESTAMP` value.
    Time(NaiveDateTime),
    /// A `BIGINT` value.
    Int(i64),
}

/// SQL text with `?` placeholders (none inside literals), its binds, and the SQL types of its
/// columns (`ST`).
#[derive(Debug, Clone)]
pub(crate) struct CachedSql<ST> {
    sql: String,
    binds: Vec<Bind>,
    columns: PhantomData<ST>,
}

impl<ST> CachedSql<ST> {
    /// The query `sql`, with no bind yet.
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), binds: Vec::new(), columns: PhantomData }
    }

    /// Binds the next `?`.
    pub(crate) fn bind(mut self, value: Bind) -> Self {
        self.binds.push(value);
        self
    }
}

impl<ST> QueryId for CachedSql<ST> {
    type QueryId = ();
    // Not static: the statement cache keys it by its SQL text instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: 'static> Query for CachedSql<ST> {
    type SqlType = ST;
}

impl<ST, DB> QueryFragment<DB> for CachedSql<ST>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp> + HasSqlType<BigInt>,
    String: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut binds = self.binds.iter();
        let mut pieces = self.sql.split('?');
        out.push_sql(pieces.next().unwrap_or_default());
        for piece in pieces {
            match binds.next() {
                Some(Bind::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Some(Bind::Time(v)) => out.push_bind_param::<Timestamp, _>(v)?,
                Some(Bind::Int(v)) => out.push_bind_param::<BigInt, _>(v)?,
                None => return Err(diesel::result::Error::QueryBuilderError("a placeholder without a bind".into())),
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl<ST, Conn> diesel::RunQueryDsl<Conn> for CachedSql<ST> {}
