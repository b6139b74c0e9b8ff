//! Access tokens (short-lived HS256 JWTs naming their session) and refresh tokens
//! (32 random bytes, handed out once in clear, stored as SHA-256 hashes).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::WorkflowError;
use crate::error::AuthFailure;
use crate::identity::Role;

const ISSUER: &str = "tentabo";
const AUDIENCE: &str = "tentabo-api";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    /// The session (refresh-token family) this token belongs to.
    pub sid: Uuid,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// Signs and verifies access tokens. Only HS256 is accepted: `alg: none` and any other
/// algorithm are refused.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// `secret` must be at least 32 bytes.
    pub fn new(
        secret: &[u8],
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Result<TokenKeys, WorkflowError> {
        if secret.len() < 32 {
            return Err(WorkflowError::Invalid(
                "the JWT secret must be at least 32 bytes".into(),
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        })
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        role: Role,
    ) -> Result<String, WorkflowError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX),
            jti: Uuid::new_v4(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| WorkflowError::internal("cannot sign token", e))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, WorkflowError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                WorkflowError::Unauthenticated(match e.kind() {
                    ErrorKind::ExpiredSignature => AuthFailure::TokenExpired,
                    _ => AuthFailure::InvalidToken,
                })
            })
    }
}

/// A fresh refresh token: what the client gets, and what the database keeps.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            &[7u8; 32],
            Duration::from_secs(900),
            Duration::from_secs(86400),
        )
        .unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn a_token_verifies_with_its_claims() {
        let (u, s) = (Uuid::new_v4(), Uuid::new_v4());
        let t = keys().issue(u, s, Role::Partner).unwrap_or_default();
        let c = keys().verify(&t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.sub, c.sid, c.role), (u, s, Role::Partner));
    }

    #[test]
    fn another_secret_or_alg_none_is_refused() {
        let t = keys()
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin)
            .unwrap_or_default();
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(900), Duration::from_secs(1))
            .unwrap_or_else(|_| unreachable!());
        assert!(matches!(
            other.verify(&t),
            Err(WorkflowError::Unauthenticated(AuthFailure::InvalidToken))
        ));
        let payload = t.split('.').nth(1).unwrap_or_default();
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
        );
        assert!(matches!(
            keys().verify(&none),
            Err(WorkflowError::Unauthenticated(AuthFailure::InvalidToken))
        ));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenKeys::new(b"short", Duration::from_secs(1), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, ha) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(ha, hash_refresh_token(&a));
        assert_eq!(ha.len(), 32);
        assert!(a.len() >= 43);
    }
}
