//! Keys and signatures of the open platform: sites' shared secrets encrypted at rest
//! (ChaCha20-Poly1305 under the master key), request signatures (HMAC-SHA256 or Ed25519),
//! visitor tokens (JWT, HS256) and per-site pseudonyms.

use crate::error::{ApiError, ApiResult};
use crate::keys::Keys;
use crate::shared::Core;
use crate::state::AppState;
use base64::Engine;
use hmac::{Hmac, Mac};
use ringbook_proto::openplatform::RequestSignature;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

pub fn encrypt_secret(state: &AppState, secret: &str) -> ApiResult<String> {
    Ok(state.core.keys.encrypt(secret.as_bytes()))
}

pub fn decrypt_secret(state: &AppState, stored: &str) -> ApiResult<Vec<u8>> {
    state
        .core
        .keys
        .decrypt(stored)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a site's shared secret: {e}")))
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

/// The server-wide key that signs visitor tokens and derives pseudonyms. It is kept in the
/// database so every node shares it, encrypted under the master key so that a copy of the
/// database alone forges no token and reveals no pseudonym.
pub fn token_key(state: &AppState) -> &[u8] {
    &state.visitor_token_key
}

/// Reads (or on the first start creates) the visitor-token key; called once by `App::build`,
/// so a key that cannot be read is a start-up error, not a 500 per request.
pub async fn load_token_key(core: &Core) -> anyhow::Result<Vec<u8>> {
    const NAME: &str = "visitor_token_hs256";
    let fresh = core
        .keys
        .encrypt(hex::encode(rand::random::<[u8; 32]>()).as_bytes());
    let stored = core.store.op_key(NAME, &fresh).await?;
    let hex_key = if Keys::is_sealed(&stored) {
        let plain = core
            .keys
            .decrypt(&stored)
            .map_err(|e| anyhow::anyhow!("cannot unseal it (another master key?): {e}"))?;
        String::from_utf8(plain)?
    } else {
        // Written in plain by an earlier version: seal it in place, keeping its value so
        // tokens and pseudonyms stay valid.
        let sealed = core.keys.encrypt(stored.as_bytes());
        core.store.replace_op_key(NAME, &stored, &sealed).await?;
        stored
    };
    Ok(hex::decode(hex_key)?)
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
