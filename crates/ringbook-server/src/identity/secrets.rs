//! Random secrets and the rescue-password rules (hashing is `crate::passwords`).

use crate::error::ApiError;
use rand::Rng;

/// 256-bit URL-safe token.
pub fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// A six-digit code, uniformly drawn.
pub fn six_digits() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// A short token a person can type into an SMS: `RB` and six characters without look-alikes.
pub fn mo_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let body: String = (0..6)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("RB{body}")
}

pub fn rescue_password_ok(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(8..=128).contains(&n) {
        return Err(ApiError::bad_request(
            "weak_rescue_password",
            "the rescue password must be 8 to 128 characters long",
        ));
    }
    Ok(())
}
