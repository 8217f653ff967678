//! Database schema.

#[expect(missing_docs, reason = "diesel table! declarations")]
pub mod schema;
