//! Open platform DTOs (WV-1 … WV-6, X-1): site registration, visitor tokens, standing choices,
//! the fields a visitor discloses to websites, signed look-ups and the disclosure log.
//!
//! Signed requests (site → server) carry four headers; see [`canonical_request`].

use serde::{Deserialize, Serialize};

/// The fields a website may ask for; each needs the visitor's consent for that site.
pub const FIELDS: [&str; 6] = ["name", "age", "company", "title", "email", "phone"];

pub const HEADER_SITE: &str = "x-ringbook-site";
pub const HEADER_TIMESTAMP: &str = "x-ringbook-timestamp";
pub const HEADER_NONCE: &str = "x-ringbook-nonce";
/// `hmac-sha256=<hex>` or `ed25519=<base64>`.
pub const HEADER_SIGNATURE: &str = "x-ringbook-signature";

/// The bytes a site signs: method, path (with query), site ID, timestamp (Unix seconds), nonce and
/// the hex SHA-256 of the body, one per line.
pub fn canonical_request(
    method: &str,
    path: &str,
    site_id: i64,
    timestamp: i64,
    nonce: &str,
    body_sha256_hex: &str,
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        site_id,
        timestamp,
        nonce,
        body_sha256_hex
    )
}

/// Shortest and longest nonce a signed request may carry.
pub const NONCE_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// A signed request's four headers as received (trimmed, non-empty). Each value is parsed by its
/// own method so the server can check them in its documented order (site, caller address,
/// timestamp, nonce, signature) — the site's database row sits between these checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedRequestHeaders<'a> {
    pub site: &'a str,
    pub signature: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
}

/// A signed request lacks one of the four headers (or it is empty or not text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("sign the request: the {0} header is missing")]
pub struct MissingHeader(pub &'static str);

impl<'a> SignedRequestHeaders<'a> {
    /// Reads the headers through `get` (a header's value, when present and text), in the order
    /// site, signature, timestamp, nonce: the first one missing is the error.
    pub fn read(get: impl Fn(&'static str) -> Option<&'a str>) -> Result<Self, MissingHeader> {
        let one = |name: &'static str| {
            get(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or(MissingHeader(name))
        };
        Ok(SignedRequestHeaders {
            site: one(HEADER_SITE)?,
            signature: one(HEADER_SIGNATURE)?,
            timestamp: one(HEADER_TIMESTAMP)?,
            nonce: one(HEADER_NONCE)?,
        })
    }

    /// The site ID, if the header is a decimal integer.
    pub fn site_id(&self) -> Option<i64> {
        self.site.parse().ok()
    }

    /// The timestamp in Unix seconds, if the header is a decimal integer.
    pub fn timestamp_secs(&self) -> Option<i64> {
        self.timestamp.parse().ok()
    }

    /// A nonce is [`NONCE_LEN`] letters, digits, `-` or `_`.
    pub fn nonce_is_valid(&self) -> bool {
        NONCE_LEN.contains(&self.nonce.len())
            && self
                .nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The signature header decoded; `None` when it is neither form (no key can match it then).
    pub fn signature(&self) -> Option<RequestSignature> {
        RequestSignature::parse(self.signature)
    }
}

/// The value of [`HEADER_SIGNATURE`]: `hmac-sha256=<hex>` or `ed25519=<base64>` (standard
/// alphabet, padded). [`std::fmt::Display`] writes it back in that form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestSignature {
    /// An HMAC-SHA256 tag with the site's shared secret (any length here; the MAC check decides).
    HmacSha256(Vec<u8>),
    /// An Ed25519 signature with the site's registered key.
    Ed25519([u8; 64]),
}

impl RequestSignature {
    pub fn parse(header: &str) -> Option<Self> {
        use base64::Engine;
        if let Some(hex_sig) = header.strip_prefix("hmac-sha256=") {
            return hex::decode(hex_sig.trim())
                .ok()
                .map(RequestSignature::HmacSha256);
        }
        if let Some(b64_sig) = header.strip_prefix("ed25519=") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64_sig.trim())
                .ok()?;
            return bytes.try_into().ok().map(RequestSignature::Ed25519);
        }
        None
    }
}

impl std::fmt::Display for RequestSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use base64::Engine;
        match self {
            RequestSignature::HmacSha256(tag) => write!(f, "hmac-sha256={}", hex::encode(tag)),
            RequestSignature::Ed25519(sig) => write!(
                f,
                "ed25519={}",
                base64::engine::general_purpose::STANDARD.encode(sig)
            ),
        }
    }
}

/// Admin: register a website.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RegisterSite {
    pub name: String,
    /// Origins its pages are served from, e.g. `https://shop.example`.
    pub origins: Vec<String>,
    /// Addresses or CIDR networks its server calls from.
    pub allowed_addrs: Vec<String>,
    /// Generate a shared secret (shown once in the answer).
    #[serde(default)]
    pub shared_secret: bool,
    /// Base64 Ed25519 public key (32 bytes) whose private key signs the site's requests.
    #[serde(default)]
    pub public_key: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteInfo {
    pub id: i64,
    pub name: String,
    pub origins: Vec<String>,
    pub allowed_addrs: Vec<String>,
    pub has_secret: bool,
    pub public_key: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteRegistered {
    pub site: SiteInfo,
    /// The shared secret, shown this once; the server keeps it only encrypted.
    pub secret: Option<String>,
}

/// The agent asks for a visitor token for the page's origin.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub origin: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Ask,
    Allow,
    Deny,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Ask => "ask",
            Choice::Allow => "allow",
            Choice::Deny => "deny",
        }
    }
    pub fn parse(s: &str) -> Option<Choice> {
        match s {
            "ask" => Some(Choice::Ask),
            "allow" => Some(Choice::Allow),
            "deny" => Some(Choice::Deny),
            _ => None,
        }
    }
}

/// The answer to a [`TokenRequest`]: the standing choice, and a token only when it is `allow`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenAnswer {
    pub site_id: i64,
    pub site_name: String,
    pub choice: Choice,
    pub token: Option<String>,
    pub expires_at: Option<i64>,
}

/// Claims of a visitor token (JWT, HS256, signed by the IM server).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VisitorClaims {
    pub iss: String,
    /// `site:<id>`.
    pub aud: String,
    /// A per-site pseudonym of the visitor.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The page origin the token was issued for.
    pub origin: String,
    /// The visitor's number, only when they enabled it for this site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// The visitor sets a standing choice for a site.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SetConsent {
    pub choice: Choice,
    /// Fields this site may receive (with `allow`); unknown names are refused.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Put the raw number in tokens and allow look-ups by number.
    #[serde(default)]
    pub raw_id: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentInfo {
    pub site_id: i64,
    pub site_name: String,
    pub choice: Choice,
    pub fields: Vec<String>,
    pub raw_id: bool,
    pub updated_at: i64,
}

/// What a visitor lets websites see (each field still needs per-site consent).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SiteProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Read-only: the number comes from the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Site → server: who is this visitor? Exactly one of `token` and `user_id`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The raw number, accepted only when the visitor enabled it for this site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LookupAnswer {
    /// The visitor's pseudonym for this site (stable across visits).
    pub visitor: String,
    /// Only the fields the visitor allowed this site and has set.
    pub fields: SiteProfile,
}

/// Site → server: send the account manager a message from the visitor (WV-4).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SiteMessage {
    pub token: String,
    /// The manager's Ringbook number.
    pub to: String,
    pub body: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SiteMessageSent {
    pub message_id: i64,
    pub to: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Disclosure {
    pub id: i64,
    pub site_id: i64,
    pub site_name: String,
    /// `lookup` or `message`.
    pub purpose: String,
    pub fields: Vec<String>,
    pub caller_addr: String,
    pub at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(
        pairs: &'a [(&'static str, &'a str)],
    ) -> Result<SignedRequestHeaders<'a>, MissingHeader> {
        SignedRequestHeaders::read(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    #[test]
    fn signed_headers_are_read_trimmed_and_the_first_missing_one_is_named() {
        let all = [
            (HEADER_SITE, " 7 "),
            (HEADER_SIGNATURE, "hmac-sha256=00ff"),
            (HEADER_TIMESTAMP, "1700000000"),
            (HEADER_NONCE, "abcdefghijklmnop"),
        ];
        let h = headers(&all).unwrap();
        assert_eq!(h.site_id(), Some(7));
        assert_eq!(h.timestamp_secs(), Some(1_700_000_000));
        assert!(h.nonce_is_valid());
        assert_eq!(
            h.signature(),
            Some(RequestSignature::HmacSha256(vec![0, 255]))
        );

        let no_signature = [all[0], all[2], all[3]];
        assert_eq!(headers(&no_signature), Err(MissingHeader(HEADER_SIGNATURE)));
        let blank_site = [(HEADER_SITE, "  "), all[1], all[2]];
        assert_eq!(headers(&blank_site), Err(MissingHeader(HEADER_SITE)));
    }

    #[test]
    fn nonce_and_signature_forms() {
        let h = |nonce: &'static str, signature: &'static str| SignedRequestHeaders {
            site: "1",
            signature,
            timestamp: "x",
            nonce,
        };
        assert!(!h("short", "").nonce_is_valid());
        assert!(!h("abcdefghijklmnop!", "").nonce_is_valid());
        assert_eq!(h("", "").timestamp_secs(), None);
        assert_eq!(h("", "hmac-sha256=zz").signature(), None);
        assert_eq!(h("", "rsa=abc").signature(), None);
        let ed = RequestSignature::Ed25519([7; 64]);
        assert_eq!(RequestSignature::parse(&ed.to_string()), Some(ed));
        // 63 bytes is no Ed25519 signature.
        let short = format!("ed25519={}", {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode([7u8; 63])
        });
        assert_eq!(RequestSignature::parse(&short), None);
    }
}
