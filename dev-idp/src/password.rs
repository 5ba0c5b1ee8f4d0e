//! Passwords are kept only as salted PBKDF2-HMAC-SHA256 hashes, even in memory. 10,000
//! iterations: enough that no plaintext sits in memory, cheap enough for a development IdP that
//! signs people in hundreds of times in a test run.

use std::num::NonZeroU32;

use aws_lc_rs::{pbkdf2, rand};

const ITERATIONS: NonZeroU32 = match NonZeroU32::new(10_000) {
    Some(n) => n,
    None => unreachable!(),
};

#[derive(Clone)]
pub struct PasswordHash {
    salt: [u8; 16],
    hash: [u8; 32],
}

impl PasswordHash {
    pub fn new(password: &str) -> Self {
        let mut salt = [0u8; 16];
        // The system RNG failing is not recoverable; a zero salt would still hash correctly.
        let _ = rand::fill(&mut salt);
        let mut hash = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            ITERATIONS,
            &salt,
            password.as_bytes(),
            &mut hash,
        );
        Self { salt, hash }
    }

    /// Constant-time comparison.
    pub fn verify(&self, password: &str) -> bool {
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            ITERATIONS,
            &self.salt,
            password.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::PasswordHash;

    #[test]
    fn verifies_only_the_right_password() {
        let hash = PasswordHash::new("secret");
        assert!(hash.verify("secret"));
        assert!(!hash.verify("Secret"));
        assert!(!hash.verify(""));
    }
}
