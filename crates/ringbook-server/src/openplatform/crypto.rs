//! Keys and signatures of the open platform: sites' shared secrets encrypted at rest
//! (ChaCha20-Poly1305 under the master key), request signatures (HMAC-SHA256 or Ed25519),
//! visitor tokens (JWT, HS256) and per-site pseudonyms.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use anyhow::Context;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use ringbook_proto::openplatform::RequestSignature;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The 32-byte key that encrypts shared secrets: from config, else a key file in the data folder.
fn master_key(state: &AppState) -> ApiResult<[u8; 32]> {
    let hex_key = match &state.config.openplatform.master_key {
        Some(k) => k.trim().to_string(),
        None => {
            let path = state.config.data_dir.join("openplatform-master.key");
            match std::fs::read_to_string(&path) {
                Ok(s) => s.trim().to_string(),
                Err(_) => {
                    let fresh = hex::encode(rand::random::<[u8; 32]>());
                    std::fs::create_dir_all(&state.config.data_dir)
                        .context("create the data folder")?;
                    write_private(&path, &fresh).context("write the open platform master key")?;
                    fresh
                }
            }
        }
    };
    let bytes = hex::decode(&hex_key)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "openplatform.master_key must be 64 hex digits"
            ))
        })?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => f.write_all(content.as_bytes()),
        // Another request created it first: that key wins.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

pub fn encrypt_secret(state: &AppState, secret: &str) -> ApiResult<String> {
    let key = master_key(state)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key));
    let nonce: [u8; 12] = rand::random();
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), secret.as_bytes())
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("secret encryption failed")))?;
    Ok(format!("{}:{}", hex::encode(nonce), hex::encode(ct)))
}

pub fn decrypt_secret(state: &AppState, stored: &str) -> ApiResult<Vec<u8>> {
    let key = master_key(state)?;
    let bad = || {
        ApiError::Internal(anyhow::anyhow!(
            "a site's stored secret cannot be decrypted (master key changed?)"
        ))
    };
    let (n, c) = stored.split_once(':').ok_or_else(bad)?;
    let nonce = hex::decode(n)
        .ok()
        .filter(|n| n.len() == 12)
        .ok_or_else(bad)?;
    let ct = hex::decode(c).map_err(|_| bad())?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key));
    cipher
        .decrypt(Nonce::from_slice(&nonce), ct.as_ref())
        .map_err(|_| bad())
}

/// Checks a request's signature (`None`: the header was neither form) against the site's shared
/// secret or key.
pub fn verify_signature(
    state: &AppState,
    secret_enc: Option<&str>,
    public_key: Option<&str>,
    signature: Option<&RequestSignature>,
    message: &[u8],
) -> ApiResult<bool> {
    match signature {
        Some(RequestSignature::HmacSha256(sig)) => {
            let Some(stored) = secret_enc else {
                return Ok(false);
            };
            let secret = decrypt_secret(state, stored)?;
            let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(&secret) else {
                return Ok(false);
            };
            mac.update(message);
            Ok(mac.verify_slice(sig).is_ok())
        }
        Some(RequestSignature::Ed25519(sig)) => {
            let Some(key) = public_key.and_then(parse_public_key) else {
                return Ok(false);
            };
            let sig = ed25519_dalek::Signature::from_bytes(sig);
            Ok(key.verify_strict(message, &sig).is_ok())
        }
        None => Ok(false),
    }
}

pub fn parse_public_key(b64_key: &str) -> Option<ed25519_dalek::VerifyingKey> {
    let bytes = b64().decode(b64_key.trim()).ok()?;
    let arr: [u8; 32] = bytes.try_into().ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(&arr).ok()
}

/// The server-wide key that signs visitor tokens and derives pseudonyms (kept in the database
/// so every node shares it).
pub async fn token_key(state: &AppState) -> ApiResult<Vec<u8>> {
    let fresh = hex::encode(rand::random::<[u8; 32]>());
    let stored = state.store.op_key("visitor_token_hs256", &fresh).await?;
    hex::decode(stored).map_err(|e| ApiError::Internal(anyhow::anyhow!("bad token key: {e}")))
}

/// The visitor's stable pseudonym for one site; different sites cannot link it.
pub fn pseudonym(key: &[u8], site_id: i64, user_id: i64) -> ApiResult<String> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("pseudonym key: {e}")))?;
    mac.update(format!("pseudonym:{site_id}:{user_id}").as_bytes());
    Ok(format!(
        "v_{}",
        &hex::encode(mac.finalize().into_bytes())[..32]
    ))
}

pub fn audience(site_id: i64) -> String {
    format!("site:{site_id}")
}

pub const ISSUER: &str = "ringbook";
