//! `tentabo-api seed-demo`: see `tentabo_workflows::identity::seed`.
pub use tentabo_workflows::identity::seed::{seed_demo, DEMO_LOGINS, DEMO_PASSWORD};
