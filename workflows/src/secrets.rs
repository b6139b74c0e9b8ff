//! Credentials encrypted at rest (the `provider_configs` issue's first brick): an AEAD
//! (XChaCha20-Poly1305, RustCrypto; its 192-bit random nonces never collide in
//! practice) under a key ring read from `TENTABO_SECRETS_KEY`. Every stored value names
//! the key that sealed it, so keys rotate: a new key goes first in the ring, values are
//! re-sealed under it ([`KeyRing::reseal`]), and the old key can leave the ring once
//! nothing names it.
//!
//! Stored form: `v1.<key id>.<nonce>.<ciphertext>` (nonce and ciphertext base64url).
//! The key id and the value's purpose (e.g. `provider:billing:pennylane:api_key`) are
//! authenticated as associated data: a value moved to another field or relabelled with
//! another key id does not open. Plain secrets are `SecretString`: their `Debug` never
//! shows them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// Why a ring could not be read or a value not opened. Never carries key material or
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "TENTABO_SECRETS_KEY must be `id:key[,id:key…]` with ids of letters, digits, `-` or `_` and 32-byte keys in base64: {0}"
    )]
    BadRing(String),
    #[error("the value is sealed with key `{0}`, which the key ring does not hold")]
    UnknownKey(String),
    #[error("the stored value is not a sealed secret")]
    Malformed,
    #[error("the stored value does not open (tampered, or moved from another field)")]
    Tampered,
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The keys secrets are sealed and opened with; the first seals.
pub struct KeyRing {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

impl KeyRing {
    /// Reads `id:base64key[,id:base64key…]` (the first key seals; all open).
    pub fn parse(spec: &SecretString) -> Result<KeyRing, SecretsError> {
        let mut keys = Vec::new();
        for part in spec
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (id, b64) = part
                .split_once(':')
                .ok_or_else(|| SecretsError::BadRing("an entry without `id:`".into()))?;
            let id_ok = !id.is_empty()
                && id.len() <= 32
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok {
                return Err(SecretsError::BadRing(format!("bad key id `{id}`")));
            }
            if keys.iter().any(|k: &Key| k.id == id) {
                return Err(SecretsError::BadRing(format!("key id `{id}` twice")));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .or_else(|_| URL_SAFE_NO_PAD.decode(b64.trim()))
                .map_err(|_| SecretsError::BadRing(format!("key `{id}` is not base64")))?;
            if bytes.len() != 32 {
                return Err(SecretsError::BadRing(format!(
                    "key `{id}` has {} bytes, not 32",
                    bytes.len()
                )));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| SecretsError::BadRing(format!("key `{id}` is unusable")))?;
            keys.push(Key {
                id: id.to_owned(),
                cipher,
            });
        }
        if keys.is_empty() {
            return Err(SecretsError::BadRing("no key".into()));
        }
        Ok(KeyRing { keys })
    }

    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `secret` for `purpose` under the current key.
    pub fn seal(&self, purpose: &str, secret: &SecretString) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated(&key.id, purpose);
        // Encryption with a valid key and nonce cannot fail for inputs of this size.
        let ct = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        format!(
            "v1.{}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ct)
        )
    }

    /// Opens a value sealed for `purpose` with any key of the ring.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<SecretString, SecretsError> {
        let (kid, nonce, ct) = split(sealed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or_else(|| SecretsError::UnknownKey(kid.to_owned()))?;
        let aad = associated(kid, purpose);
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SecretsError::Tampered)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretsError::Tampered)
    }

    /// The key id a stored value names.
    pub fn key_of(sealed: &str) -> Result<&str, SecretsError> {
        split(sealed).map(|(kid, ..)| kid)
    }

    /// The value re-sealed under the current key, or `None` when it already is.
    pub fn reseal(&self, purpose: &str, sealed: &str) -> Result<Option<String>, SecretsError> {
        if Self::key_of(sealed)? == self.current() {
            return Ok(None);
        }
        let plain = self.open(purpose, sealed)?;
        Ok(Some(self.seal(purpose, &plain)))
    }
}

fn associated(kid: &str, purpose: &str) -> String {
    format!("tentabo/secret/v1\n{kid}\n{purpose}")
}

fn split(sealed: &str) -> Result<(&str, Vec<u8>, Vec<u8>), SecretsError> {
    let mut parts = sealed.split('.');
    let (Some("v1"), Some(kid), Some(nonce), Some(ct), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SecretsError::Malformed);
    };
    let nonce = URL_SAFE_NO_PAD
        .decode(nonce)
        .map_err(|_| SecretsError::Malformed)?;
    let ct = URL_SAFE_NO_PAD
        .decode(ct)
        .map_err(|_| SecretsError::Malformed)?;
    if nonce.len() != 24 || ct.len() < 16 {
        return Err(SecretsError::Malformed);
    }
    Ok((kid, nonce, ct))
}

/// `bytes` random bytes from the OS generator, URL-safe base64 (generated passwords,
/// OAuth `state` nonces).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> KeyRing {
        KeyRing::parse(&SecretString::from(spec.to_owned())).unwrap_or_else(|e| panic!("{e}"))
    }

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn text(s: &SecretString) -> &str {
        s.expose_secret()
    }

    #[test]
    fn a_sealed_secret_opens_for_its_purpose_only() {
        let r = ring(K1);
        let sealed = r.seal("billing:pennylane:api_key", &SecretString::from("s3cr3t"));
        assert!(sealed.starts_with("v1.k1."), "{sealed}");
        assert!(!sealed.contains("s3cr3t"));
        let opened = r
            .open("billing:pennylane:api_key", &sealed)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text(&opened), "s3cr3t");
        // The same secret seals differently every time (random nonce).
        assert_ne!(
            sealed,
            r.seal("billing:pennylane:api_key", &SecretString::from("s3cr3t"))
        );
        assert_eq!(
            r.open("crm:pipedrive:api_token", &sealed).err(),
            Some(SecretsError::Tampered)
        );
    }

    #[test]
    fn tampered_relabelled_and_malformed_values_do_not_open() {
        let r = ring(&format!("{K1},{K2}"));
        let sealed = r.seal("p", &SecretString::from("value"));
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(r.open("p", &tampered).err(), Some(SecretsError::Tampered));
        let relabelled = sealed.replacen("v1.k1.", "v1.k2.", 1);
        assert_eq!(r.open("p", &relabelled).err(), Some(SecretsError::Tampered));
        for bad in [
            "",
            "plain text",
            "v1.k1.abc",
            "v2.k1.AAAA.BBBB",
            "v1.k1.%%.%%",
        ] {
            assert_eq!(
                r.open("p", bad).err(),
                Some(SecretsError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            ring(K2).open("p", &sealed).err(),
            Some(SecretsError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn keys_rotate_by_resealing_under_the_first_key() {
        let old = ring(K1);
        let sealed = old.seal("p", &SecretString::from("value"));
        let rotated = ring(&format!("{K2},{K1}"));
        assert_eq!(rotated.current(), "k2");
        let resealed = rotated
            .reseal("p", &sealed)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(KeyRing::key_of(&resealed), Ok("k2"));
        assert_eq!(rotated.reseal("p", &resealed), Ok(None));
        // Once resealed, the old key can leave the ring.
        let new_only = ring(K2);
        assert_eq!(
            text(
                &new_only
                    .open("p", &resealed)
                    .unwrap_or_else(|e| panic!("{e}"))
            ),
            "value"
        );
    }

    #[test]
    fn a_bad_ring_is_a_clear_error_without_key_material() {
        for (spec, needle) in [
            ("", "no key"),
            ("nocolon", "without `id:`"),
            ("k 1:AAAA", "bad key id"),
            ("k1:not-base64!", "not base64"),
            ("k1:AAAA", "not 32"),
            (&format!("{K1},{K1}") as &str, "twice"),
        ] {
            let e = KeyRing::parse(&SecretString::from(spec.to_owned()))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(needle), "{spec}: {e}");
            assert!(!e.contains("AAECAwQF"), "key material in an error: {e}");
        }
        assert!(!format!("{:?}", ring(K1)).contains("AAECAwQF"));
    }
}
