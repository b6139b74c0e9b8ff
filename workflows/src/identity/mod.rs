//! Identity: roles, principals, credentials, sessions and tokens, organisations and
//! users, and the pluggable `AuthProvider`.

pub mod auth;
pub mod external;
pub mod listing;
pub mod organisations;
pub mod password;
pub mod seed;
pub mod sessions;
pub mod tokens;
pub mod types;
pub mod users;

pub use types::{Email, Name, Password, Principal, Role, RowScope};
