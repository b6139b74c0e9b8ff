//! Row models, one file per table family.

pub mod audit;
pub mod catalogue;
pub mod organisations;
pub mod outbox;
pub mod sessions;
