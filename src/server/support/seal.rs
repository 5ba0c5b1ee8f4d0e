//! Sealing secrets before they reach the database: AES-256-GCM with a random nonce, bound to
//! the row it belongs to (associated data). The key comes from config / environment, or is
//! generated once and kept in the data directory with 0600 permissions.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::server::support::files;
use crate::server::support::random::{self, RandomUnavailable};

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the session key must be 32 bytes, base64-encoded ({0})")]
    BadKey(String),
    #[error("session key file {path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Random(#[from] RandomUnavailable),
}

pub struct Sealer {
    key: LessSafeKey,
    /// For keyed hashes of identifiers kept at rest (session ids), derived from the same key.
    hashing: hmac::Key,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(text.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| SealError::BadKey(format!("got {} bytes", bytes.len())))?;
        let hashing = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, bytes),
            b"issues-app identifier hashing",
        );
        Ok(Self {
            key: LessSafeKey::new(key),
            hashing: hmac::Key::new(hmac::HMAC_SHA256, hashing.as_ref()),
        })
    }

    /// Reads the key file, or creates it (0600) with a fresh random key.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        let error = |message: String| SealError::File {
            path: path.display().to_string(),
            message,
        };
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
            return Self::from_base64(&text);
        }
        let mut bytes = [0u8; 32];
        random::fill(&mut bytes)?;
        if let Some(parent) = path.parent() {
            files::create_private_dir(parent).map_err(|e| error(e.to_string()))?;
        }
        files::write_new_private(path, STANDARD.encode(bytes).as_bytes()).map_err(|e| error(e.to_string()))?;
        Self::from_bytes(&bytes)
    }

    /// `nonce || ciphertext || tag`, base64url. Fails only when the system RNG does (or for
    /// inputs larger than GCM allows, 64 GiB).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, RandomUnavailable> {
        let mut nonce = [0u8; NONCE_LEN];
        random::fill(&mut nonce)?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| RandomUnavailable)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// A keyed hash of `value`: the same input gives the same output with this key, and
    /// without the key it cannot be recomputed or reversed.
    pub fn keyed_hash(&self, value: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.hashing, value);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// The plaintext, if `sealed` was sealed by this key for this `context` and is intact.
    pub fn open(&self, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .ok()?;
        Some(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let sealer = Sealer::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let sealed = sealer.seal("row-1", b"token").unwrap();
        assert!(!sealed.contains("token"));
        assert_eq!(sealer.open("row-1", &sealed).unwrap(), b"token");
        assert!(sealer.open("row-2", &sealed).is_none());
        let mut tampered = sealed.clone().into_bytes();
        tampered[20] ^= 1;
        assert!(sealer.open("row-1", &String::from_utf8(tampered).unwrap()).is_none());
        assert!(Sealer::from_base64("c2hvcnQ=").is_err());
    }
}
