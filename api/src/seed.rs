//! `tentabo-api seed-demo`: see `tentabo_workflows::identity::seed`.
pub use tentabo_workflows::identity::seed::{DEMO_LOGINS, DEMO_PASSWORD, seed_demo};
