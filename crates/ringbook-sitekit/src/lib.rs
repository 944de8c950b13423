//! The website kit of Ringbook's open platform (WV-2 … WV-6).
//!
//! A website registered with a Ringbook server (`ringbook site register …`) uses [`SiteClient`]
//! on its server to turn the visitor token its page got from the visitor's local agent into the
//! fields the visitor allowed it to see, and to message an account manager from the visitor:
//!
//! ```no_run
//! # async fn demo() -> Result<(), ringbook_sitekit::SiteError> {
//! use ringbook_sitekit::{Credentials, SiteClient};
//! let site = SiteClient::new("http://127.0.0.1:8080", 1, Credentials::SharedSecret("…".into()))?;
//! let visitor = site.lookup_token("eyJ…").await?;
//! println!("{:?} from {:?}", visitor.fields.name, visitor.fields.company);
//! # Ok(()) }
//! ```
//!
//! Every request is signed ([`sign`]): HMAC-SHA256 with the shared secret, or Ed25519 with the
//! site's private key, over [`ringbook_proto::openplatform::canonical_request`] with a fresh
//! timestamp and nonce. [`peek_claims`] reads a visitor token's claims for a quick local check
//! (audience, expiry); only the server can verify its signature.

use base64::Engine;
use hmac::{Hmac, Mac};
use ringbook_proto::openplatform::{
    canonical_request, LookupRequest, RequestSignature, SiteMessage, HEADER_NONCE,
    HEADER_SIGNATURE, HEADER_SITE, HEADER_TIMESTAMP,
};
pub use ringbook_proto::openplatform::{LookupAnswer, SiteMessageSent, SiteProfile, VisitorClaims};
use ringbook_proto::ErrorBody;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How a site proves who it is.
#[derive(Clone)]
pub enum Credentials {
    /// The shared secret shown once at registration.
    SharedSecret(String),
    /// The Ed25519 private key whose public key was registered.
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::SharedSecret(_) => f.write_str("SharedSecret(<redacted>)"),
            Credentials::Ed25519(_) => f.write_str("Ed25519(<redacted>)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The Ringbook server refused; `body.code` is stable (e.g. `no_consent`, `bad_signature`).
    #[error("{} ({})", body.message, body.code)]
    Refused { status: u16, body: ErrorBody },
    #[error("cannot reach the Ringbook server: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("invalid server URL '{0}'")]
    BadUrl(String),
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl SiteError {
    /// The server's error code, when it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            SiteError::Refused { body, .. } => Some(&body.code),
            _ => None,
        }
    }
}

/// The four headers of a signed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    pub site: String,
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
}

/// Signs one request: `path` includes any query string, `timestamp` is Unix seconds.
pub fn sign(
    creds: &Credentials,
    site_id: i64,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: i64,
    nonce: &str,
) -> SignedHeaders {
    let body_hash = hex::encode(Sha256::digest(body));
    let message = canonical_request(method, path, site_id, timestamp, nonce, &body_hash);
    let signature = match creds {
        Credentials::SharedSecret(secret) => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(message.as_bytes());
            RequestSignature::HmacSha256(mac.finalize().into_bytes().to_vec())
        }
        Credentials::Ed25519(key) => {
            use ed25519_dalek::Signer;
            RequestSignature::Ed25519(key.sign(message.as_bytes()).to_bytes())
        }
    }
    .to_string();
    SignedHeaders {
        site: site_id.to_string(),
        timestamp: timestamp.to_string(),
        nonce: nonce.to_string(),
        signature,
    }
}

/// A fresh random nonce.
pub fn new_nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Reads a visitor token's claims without verifying its signature, and checks it was issued for
/// `site_id` and has not expired. Useful to drop junk early; the server's look-up is the
/// authoritative check.
pub fn peek_claims(token: &str, site_id: i64) -> Result<VisitorClaims, String> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the token's payload is not base64url")?;
    let claims: VisitorClaims =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a visitor token: {e}"))?;
    if claims.aud != format!("site:{site_id}") {
        return Err(format!("issued for {}, not site:{site_id}", claims.aud));
    }
    if claims.exp < unix_now() {
        return Err("expired".into());
    }
    Ok(claims)
}

/// A registered site's client of the open platform.
#[derive(Clone, Debug)]
pub struct SiteClient {
    http: reqwest::Client,
    base: url::Url,
    site_id: i64,
    creds: Credentials,
}

impl SiteClient {
    pub fn new(server: &str, site_id: i64, creds: Credentials) -> Result<Self, SiteError> {
        let base = url::Url::parse(server).map_err(|_| SiteError::BadUrl(server.into()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(SiteError::BadUrl(server.into()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(SiteClient {
            http,
            base,
            site_id,
            creds,
        })
    }

    pub fn site_id(&self) -> i64 {
        self.site_id
    }

    /// Sends a signed POST with a JSON body and decodes the JSON answer.
    pub async fn post<B: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, SiteError> {
        let bytes = serde_json::to_vec(body).map_err(|e| SiteError::Protocol(e.to_string()))?;
        let url = self
            .base
            .join(path)
            .map_err(|_| SiteError::BadUrl(path.into()))?;
        let signed_path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let h = sign(
            &self.creds,
            self.site_id,
            "POST",
            &signed_path,
            &bytes,
            unix_now(),
            &new_nonce(),
        );
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(HEADER_SITE, h.site)
            .header(HEADER_TIMESTAMP, h.timestamp)
            .header(HEADER_NONCE, h.nonce)
            .header(HEADER_SIGNATURE, h.signature)
            .body(bytes)
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        if status.is_success() {
            serde_json::from_str(&text).map_err(|e| SiteError::Protocol(format!("{e}: {text}")))
        } else {
            let body = serde_json::from_str::<ErrorBody>(&text)
                .map_err(|_| SiteError::Protocol(format!("HTTP {status}: {text}")))?;
            Err(SiteError::Refused {
                status: status.as_u16(),
                body,
            })
        }
    }

    /// The allowed fields of the visitor holding `token` (from their agent).
    pub async fn lookup_token(&self, token: &str) -> Result<LookupAnswer, SiteError> {
        self.post(
            "/v1/openplatform/lookup",
            &LookupRequest {
                token: Some(token.into()),
                user_id: None,
            },
        )
        .await
    }

    /// Look-up by raw number: answered only for visitors who enabled it for this site.
    pub async fn lookup_number(&self, number: &str) -> Result<LookupAnswer, SiteError> {
        self.post(
            "/v1/openplatform/lookup",
            &LookupRequest {
                token: None,
                user_id: Some(number.into()),
            },
        )
        .await
    }

    /// Sends `to` (an account manager's number) a Ringbook message from the visitor.
    pub async fn message_from_visitor(
        &self,
        token: &str,
        to: &str,
        body: &str,
    ) -> Result<SiteMessageSent, SiteError> {
        self.post(
            "/v1/openplatform/message",
            &SiteMessage {
                token: token.into(),
                to: to.into(),
                body: body.into(),
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_signature_is_deterministic_and_covers_the_body() {
        let c = Credentials::SharedSecret("s3cret".into());
        let a = sign(
            &c,
            7,
            "POST",
            "/v1/openplatform/lookup",
            b"{}",
            1000,
            "n0nce-0000000000",
        );
        let b = sign(
            &c,
            7,
            "POST",
            "/v1/openplatform/lookup",
            b"{}",
            1000,
            "n0nce-0000000000",
        );
        let d = sign(
            &c,
            7,
            "POST",
            "/v1/openplatform/lookup",
            b"{ }",
            1000,
            "n0nce-0000000000",
        );
        assert_eq!(a, b);
        assert_ne!(a.signature, d.signature);
        assert!(a.signature.starts_with("hmac-sha256="));
    }

    #[test]
    fn ed25519_signature_verifies() {
        use ed25519_dalek::Verifier;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let h = sign(
            &Credentials::Ed25519(key.clone()),
            1,
            "POST",
            "/x",
            b"body",
            5,
            "abcdefabcdefabcdef",
        );
        let sig = base64::engine::general_purpose::STANDARD
            .decode(h.signature.strip_prefix("ed25519=").unwrap())
            .unwrap();
        let msg = canonical_request(
            "POST",
            "/x",
            1,
            5,
            "abcdefabcdefabcdef",
            &hex::encode(Sha256::digest(b"body")),
        );
        key.verifying_key()
            .verify(
                msg.as_bytes(),
                &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn peek_claims_checks_audience_and_expiry() {
        let claims = VisitorClaims {
            iss: "ringbook".into(),
            aud: "site:3".into(),
            sub: "v_x".into(),
            iat: 0,
            exp: unix_now() + 60,
            jti: "j".into(),
            origin: "http://a".into(),
            uid: None,
        };
        let enc = |c: &VisitorClaims| {
            let p = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(c).unwrap());
            format!("e30.{p}.sig")
        };
        assert_eq!(peek_claims(&enc(&claims), 3).unwrap().sub, "v_x");
        assert!(peek_claims(&enc(&claims), 4).is_err());
        let old = VisitorClaims { exp: 1, ..claims };
        assert!(peek_claims(&enc(&old), 3).is_err());
        assert!(peek_claims("garbage", 3).is_err());
    }
}
