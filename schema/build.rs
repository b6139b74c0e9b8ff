//! `embed_migrations!` reads `migrations/` at compile time; without this, adding a
//! migration directory does not rebuild the crate and binaries ship the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
