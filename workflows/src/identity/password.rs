//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1, OWASP's
//! recommended minimum). Hashes are PHC strings, so parameters can change later without
//! invalidating stored hashes.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::WorkflowError;

pub fn hash(password: &str) -> Result<String, WorkflowError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| WorkflowError::Invalid(format!("cannot hash password: {e}")))
}

/// Constant-time verification; a malformed stored hash verifies as false.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_password() {
        let h = hash("demo123").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("demo123", &h));
        assert!(!verify("demo124", &h));
        assert!(!verify("demo123", "not a hash"));
    }
}
