//! Official accounts (OA-1 … OA-5): HTTP bodies of the follower/owner API, the console's JSON
//! pages and the direct API.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The fields a follower lets accounts see when the follower never chose (OA console, X-1).
pub const DEFAULT_VISIBLE_FIELDS: &[&str] = &["nickname", "gender", "region", "avatar"];

/// Every field an account could ever be shown.
pub const KNOWN_FIELDS: &[&str] = &["nickname", "gender", "region", "avatar", "signature"];

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateAccountRequest {
    /// 3–32 characters: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// Console password, at least 8 characters.
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountInfo {
    pub name: String,
    pub developer_mode: bool,
    /// Only shown to the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SetCallbackRequest {
    pub url: String,
    /// The token both sides sign pushes with (3–32 letters or digits).
    pub token: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FollowResponse {
    pub account: String,
    pub following: bool,
    /// False when nothing changed (already following / not following).
    pub changed: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendToAccountRequest {
    /// `text`, `image`, `voice` or `video` (the last three carry a media reference in `body`).
    #[serde(default = "text_kind")]
    pub kind: String,
    pub body: String,
}

fn text_kind() -> String {
    "text".into()
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SentToAccount {
    /// The MsgId pushed to the account's developer server.
    pub msg_id: i64,
    /// Unix seconds, as pushed in CreateTime.
    pub create_time: i64,
    /// Whether a developer-mode push was queued.
    pub pushed: bool,
}

/// A message from an account to a follower (inbox, live `official_message` frame).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OfficialMessage {
    pub id: i64,
    pub account: String,
    pub kind: String,
    pub body: String,
    pub sent_at: i64,
}

/// Account → followers: one (`to_fake_id`) or all current followers (a mass send).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountSendRequest {
    #[serde(default = "text_kind")]
    pub kind: String,
    pub body: String,
    #[serde(default)]
    pub to_fake_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountSendResult {
    /// Followers addressed.
    pub total: u64,
    /// Stored for them (each is also pushed live to their devices).
    pub sent: u64,
}

/// What a follower lets official accounts see.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OfficialPrivacy {
    pub fields: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleLoginRequest {
    pub account: String,
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleLoginResponse {
    pub account: String,
    /// Send back as `X-CSRF-Token` (or form field `csrf`) on every console POST.
    pub csrf_token: String,
}

/// One row of the console's followers page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleFollower {
    pub fake_id: String,
    pub followed_at: i64,
}

/// A follower's information page: the openID ↔ FakeID correspondence (OA-4).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleFollowerPage {
    pub fake_id: String,
    pub open_id: String,
    pub followed_at: i64,
}

/// One row of the message page: when a follower sent what, by FakeID (OA-4).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleMessage {
    pub create_time: i64,
    pub fake_id: String,
    pub msg_type: String,
    pub content: String,
}

/// A follower's information by FakeID (or openID in the direct API), limited to the fields that
/// follower allows accounts to see.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FollowerInfo {
    pub fake_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
    pub fields: BTreeMap<String, String>,
}

/// The developer-mode push format (OA-3): flat `<xml>` documents in the industry's de-facto
/// layout, and the query-string signature. Pure functions shared by the platform and the
/// third-party resolver.
pub mod push {
    use sha1::{Digest, Sha1};
    use std::collections::BTreeMap;

    /// `signature` = hex SHA-1 of the lexicographically sorted token, timestamp and nonce joined.
    pub fn signature(token: &str, timestamp: &str, nonce: &str) -> String {
        let mut parts = [token, timestamp, nonce];
        parts.sort_unstable();
        hex::encode(Sha1::digest(parts.concat().as_bytes()))
    }

    /// Constant-time check of a received signature.
    pub fn check_signature(token: &str, timestamp: &str, nonce: &str, received: &str) -> bool {
        let expected = signature(token, timestamp, nonce);
        let (a, b) = (
            expected.as_bytes(),
            received.to_ascii_lowercase().into_bytes(),
        );
        a.len() == b.len()
            && a.iter()
                .zip(b.iter())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    }

    fn cdata(v: &str) -> String {
        format!("<![CDATA[{}]]>", v.replace("]]>", "]]]]><![CDATA[>"))
    }

    /// Writes `<xml>` with the elements in order; numbers (`CreateTime`, `MsgId`) unquoted.
    pub fn encode(elements: &[(&str, String)]) -> String {
        let mut out = String::from("<xml>");
        for (name, value) in elements {
            let numeric = matches!(*name, "CreateTime" | "MsgId")
                && value.chars().all(|c| c.is_ascii_digit());
            let v = if numeric { value.clone() } else { cdata(value) };
            out.push_str(&format!("<{name}>{v}</{name}>"));
        }
        out.push_str("</xml>");
        out
    }

    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    }

    /// Reads the top-level elements of a flat `<xml>` document. Nested elements are kept raw.
    pub fn parse(doc: &str) -> Result<BTreeMap<String, String>, String> {
        let start = doc.find("<xml>").ok_or("no <xml> element")?;
        let mut rest = &doc[start + 5..];
        let mut out = BTreeMap::new();
        loop {
            rest = rest.trim_start();
            if rest.starts_with("</xml>") {
                return Ok(out);
            }
            let open_end = rest.find('>').ok_or("unterminated element")?;
            if !rest.starts_with('<') || open_end < 2 {
                return Err("expected an element".into());
            }
            let name = &rest[1..open_end];
            if name.starts_with('/') || name.contains(char::is_whitespace) {
                return Err(format!("unexpected tag <{name}>"));
            }
            let self_closing = name.ends_with('/');
            if self_closing {
                out.insert(name.trim_end_matches('/').to_string(), String::new());
                rest = &rest[open_end + 1..];
                continue;
            }
            let close = format!("</{name}>");
            let body_start = open_end + 1;
            let mut body = &rest[body_start..];
            let mut value = String::new();
            // Text and CDATA sections until the closing tag.
            loop {
                if let Some(after) = body.strip_prefix("<![CDATA[") {
                    let end = after.find("]]>").ok_or("unterminated CDATA")?;
                    value.push_str(&after[..end]);
                    body = &after[end + 3..];
                } else if body.starts_with(&close) {
                    body = &body[close.len()..];
                    break;
                } else if body.starts_with('<') {
                    // A nested element: keep the raw inner document.
                    let end = body.find(&close).ok_or_else(|| format!("no {close}"))?;
                    value.push_str(&body[..end]);
                    body = &body[end + close.len()..];
                    break;
                } else {
                    let end = body.find('<').ok_or("unterminated text")?;
                    value.push_str(&unescape(&body[..end]));
                    body = &body[end..];
                }
            }
            out.insert(name.to_string(), value);
            rest = body;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn signature_is_sha1_of_sorted_parts() {
            // sorted: "1409304348", "nonce", "token" → sha1("1409304348noncetoken")
            let s = signature("token", "1409304348", "nonce");
            assert_eq!(s, hex::encode(Sha1::digest(b"1409304348noncetoken")));
            assert!(check_signature(
                "token",
                "1409304348",
                "nonce",
                &s.to_uppercase()
            ));
            assert!(!check_signature("token", "1409304348", "nonce2", &s));
        }

        #[test]
        fn round_trips_with_cdata_and_nasty_content() {
            let xml = encode(&[
                ("ToUserName", "acct".into()),
                ("CreateTime", "1700000000".into()),
                ("Content", "a ]]> b <c> & d".into()),
                ("MsgId", "42".into()),
            ]);
            let m = parse(&xml).unwrap();
            assert_eq!(m["Content"], "a ]]> b <c> & d");
            assert_eq!(m["CreateTime"], "1700000000");
            assert_eq!(m["MsgId"], "42");
            let m = parse("<xml><A>x &amp; y</A><B/></xml>").unwrap();
            assert_eq!(m["A"], "x & y");
            assert!(parse("nope").is_err());
            assert!(parse("<xml><A>x</xml>").is_err());
        }
    }
}
