//! Storage: one module per table (or a table and the rows it owns), each with its row types
//! and the queries on it (STYLE.md §5). Functions take a connection so callers decide the
//! transaction.

pub mod audit_log;
pub mod binding_status;
pub mod bindings;
pub mod rate_windows;
#[expect(missing_docs, reason = "diesel table! declarations")]
pub mod schema;
