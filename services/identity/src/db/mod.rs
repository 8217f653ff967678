//! Storage: one module per table, each with its row type and the queries on it (STYLE.md §5).
//! Query functions take a connection, so they compose in transactions and serve the API, the
//! CLI and the tests alike. Every query that reads or changes an agent, a session or a role is
//! scoped by the tenant's id, so a row of another tenant is simply not found.

pub mod agent_credentials;
pub mod agents;
pub mod recovery_codes;
pub mod role_assignments;
#[expect(missing_docs, reason = "diesel table! declarations")]
pub mod schema;
pub mod sessions;
pub mod tenants;
