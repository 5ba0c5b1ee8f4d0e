//! Randomness from the system generator. When it fails, whatever needed it fails too: no zero
//! nonce, no fallback id.

use base64::Engine;

#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomUnavailable;

pub fn fill(bytes: &mut [u8]) -> Result<(), RandomUnavailable> {
    aws_lc_rs::rand::fill(bytes).map_err(|_| {
        tracing::error!("system random number generator failed");
        RandomUnavailable
    })
}

/// A fresh random identifier: 32 bytes, base64url.
pub fn id() -> Result<String, RandomUnavailable> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
