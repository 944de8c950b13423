//! The server's master key, loaded once at start-up, and what is derived from it: keyed hashes
//! of short secrets (login and binding codes, MO login tokens) and encryption at rest of the
//! secrets the server must read back (sites' shared secrets, the visitor-token key,
//! official-account callback tokens).
//!
//! Why a key and not a plain hash: a six-digit code or an eight-character token has too few
//! possibilities for any unkeyed hash to protect it — whoever reads the database tries them
//! all in seconds. With HMAC under a key kept outside the database, a copy of the database
//! alone reveals nothing.

use anyhow::{bail, Context};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// File name of the key in the data folder when none is configured.
pub const KEY_FILE: &str = "master.key";
/// The name earlier versions used; still read when present.
const OLD_KEY_FILE: &str = "openplatform-master.key";

/// What a keyed hash is for: each purpose gets its own sub-key, so a value hashed for one
/// purpose never matches another.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    LoginCode,
    BindingCode,
    MoToken,
    OrderCode,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::LoginCode => b"ringbook/login-code/v1",
            Purpose::BindingCode => b"ringbook/binding-code/v1",
            Purpose::MoToken => b"ringbook/mo-token/v1",
            Purpose::OrderCode => b"ringbook/order-code/v1",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a stored secret cannot be decrypted (was the master key changed?)")]
pub struct DecryptError;

/// Prefix of values encrypted by [`Keys::encrypt`], so a plain value written by an earlier
/// version is recognised and upgraded.
const SEALED_PREFIX: &str = "sealed1:";

pub struct Keys {
    master: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Keys {
    /// The configured key (64 hex digits), else the key file in `data_dir` (created 0600 with
    /// a fresh random key on first start).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Keys> {
        let hex_key = match configured {
            Some(k) => k.trim().to_string(),
            None => {
                let old = data_dir.join(OLD_KEY_FILE);
                let path = if old.exists() {
                    old
                } else {
                    data_dir.join(KEY_FILE)
                };
                if !path.exists() {
                    let fresh = hex::encode(rand::random::<[u8; 32]>());
                    crate::files::create_private(&path, fresh.as_bytes())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
                crate::files::restrict(&path)?;
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?
                    .trim()
                    .to_string()
            }
        };
        let bytes = hex::decode(&hex_key).ok().filter(|b| b.len() == 32);
        let Some(bytes) = bytes else {
            bail!("the master key must be 64 hex digits (32 bytes)");
        };
        let mut master = [0u8; 32];
        master.copy_from_slice(&bytes);
        Ok(Keys { master })
    }

    /// A key for tests and tools.
    pub fn from_bytes(master: [u8; 32]) -> Keys {
        Keys { master }
    }

    fn sub_key(&self, purpose: Purpose) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.master)
            .expect("HMAC takes a key of any length");
        mac.update(purpose.label());
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA256 of `parts` (joined unambiguously) under the purpose's sub-key, in hex.
    pub fn keyed_hash(&self, purpose: Purpose, parts: &[&str]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.sub_key(purpose))
            .expect("HMAC takes a key of any length");
        for part in parts {
            // Length-prefixed, so ("ab","c") and ("a","bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// ChaCha20-Poly1305 under the master key, with a fresh random nonce.
    pub fn encrypt(&self, secret: &[u8]) -> String {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.master));
        let nonce: [u8; 12] = rand::random();
        // Encryption fails only for inputs beyond 64 GiB.
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), secret)
            .unwrap_or_default();
        format!("{SEALED_PREFIX}{}:{}", hex::encode(nonce), hex::encode(ct))
    }

    /// Reverses [`Keys::encrypt`]; also reads the `nonce:ciphertext` form written before the
    /// prefix existed (sites' secrets).
    pub fn decrypt(&self, stored: &str) -> Result<Vec<u8>, DecryptError> {
        let body = stored.strip_prefix(SEALED_PREFIX).unwrap_or(stored);
        let (n, c) = body.split_once(':').ok_or(DecryptError)?;
        let nonce = hex::decode(n)
            .ok()
            .filter(|n| n.len() == 12)
            .ok_or(DecryptError)?;
        let ct = hex::decode(c).map_err(|_| DecryptError)?;
        ChaCha20Poly1305::new(Key::from_slice(&self.master))
            .decrypt(Nonce::from_slice(&nonce), ct.as_ref())
            .map_err(|_| DecryptError)
    }

    /// True for a value written by [`Keys::encrypt`]; false for a plain value of an earlier
    /// version, which the caller re-stores encrypted.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_key_purpose_and_boundaries() {
        let a = Keys::from_bytes([1; 32]);
        let b = Keys::from_bytes([2; 32]);
        let h = a.keyed_hash(Purpose::LoginCode, &["+8613800000000", "123456"]);
        assert_eq!(
            h,
            a.keyed_hash(Purpose::LoginCode, &["+8613800000000", "123456"])
        );
        assert_ne!(
            h,
            b.keyed_hash(Purpose::LoginCode, &["+8613800000000", "123456"])
        );
        assert_ne!(
            h,
            a.keyed_hash(Purpose::BindingCode, &["+8613800000000", "123456"])
        );
        assert_ne!(
            a.keyed_hash(Purpose::MoToken, &["ab", "c"]),
            a.keyed_hash(Purpose::MoToken, &["a", "bc"])
        );
    }

    #[test]
    fn sealed_values_round_trip_and_resist_another_key() {
        let a = Keys::from_bytes([1; 32]);
        let sealed = a.encrypt(b"callback-token");
        assert!(Keys::is_sealed(&sealed));
        assert!(!sealed.contains("callback"));
        assert_eq!(a.decrypt(&sealed).unwrap(), b"callback-token");
        assert!(Keys::from_bytes([2; 32]).decrypt(&sealed).is_err());
        assert!(a.decrypt("plain-token").is_err());
    }

    #[test]
    fn a_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = Keys::load(None, dir.path()).unwrap();
        let k2 = Keys::load(None, dir.path()).unwrap();
        assert_eq!(k1.master, k2.master);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Keys::load(Some("not hex"), dir.path()).is_err());
    }
}
