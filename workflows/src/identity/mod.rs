//! Identity: users, roles, credentials.

pub mod password;
pub mod seed;
