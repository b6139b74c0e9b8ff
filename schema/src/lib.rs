//! The database: diesel's generated `schema.rs`, row models, the embedded migrations
//! and the connection pool. Nothing here knows HTTP, jobs or business rules.

pub mod db;
pub mod models;
pub mod schema;

pub use db::{DbConn, DbPool, SchemaError};
