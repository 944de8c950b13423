//! What the SMS gateway calls Ringbook with (docs/sms-gateways.md):
//!
//! - `GET|POST /v1/sms/mo?from=…&to=…&text=…[&coding=…&charset=…]`: a mobile-originated SMS
//!   (Kannel `sms-service` get-url, or a provider's webhook). Each product part that waits for
//!   texts gets a look; the first that claims the text answers, and the answer is the reply SMS.
//! - `GET|POST /v1/sms/dlr?id=…&type=…[&reply=…]`: a delivery report for an SMS Ringbook sent
//!   (Kannel's dlr-url, with Kannel's report types).
//!
//! Both are for the gateway only: the client address (the forwarded one behind
//! `trusted_proxies`) must be in `sms.mo_allowed`, and when `sms.mo_key` is set the request must
//! carry it (`Authorization: Bearer`, basic auth, or `key=` in the query).
//!
//! Answers are chosen for what Kannel does with them: Kannel texts the body of a 200 back to the
//! sender (nothing for an empty body with `omit-empty = true`), and texts "Could not fetch
//! content" for anything else. So every text from a phone gets a 200 — with the reply, a help
//! text when nobody was waiting for it, or nothing when the sender cannot be answered — and only
//! a caller that is not the gateway, a misconfigured get-url, or a failure on our side gets an
//! error status (with `http-request-retry` Kannel tries again later).

use crate::error::{ApiError, ApiResult};
use crate::extract::ClientAddr;
use crate::metrics::SmsReportLabels;
use crate::sms::Coding;
use crate::state::{now_ms, AppState};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use ringbook_store::sms::SmsState;
use subtle::ConstantTimeEq;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sms/mo", get(receive).post(receive))
        .route("/v1/sms/dlr", get(delivery_report).post(delivery_report))
}

/// Delivery records are kept this long (days) for operators and the code status.
const DELIVERY_RETENTION_MS: i64 = 30 * 24 * 3_600_000;

pub async fn housekeeping(state: &AppState) {
    if let Err(e) = state
        .core
        .store
        .purge_sms_deliveries(now_ms() - DELIVERY_RETENTION_MS)
        .await
    {
        tracing::warn!(error = %e, "purging old SMS delivery records failed");
    }
}

/// The query's parameters as bytes: a UCS-2 text arrives as URL-encoded UTF-16 (Kannel's `%b`
/// without `mo-recode`), which no UTF-8 query extractor can read.
struct Params(Vec<(String, Vec<u8>)>);

impl Params {
    fn parse(raw: Option<&str>) -> Params {
        let raw = raw.unwrap_or_default();
        Params(
            raw.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (
                        String::from_utf8_lossy(&decode_component(k)).into_owned(),
                        decode_component(v),
                    )
                })
                .collect(),
        )
    }

    fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }

    fn text(&self, name: &str) -> Option<String> {
        self.bytes(name)
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
    }
}

/// `application/x-www-form-urlencoded` decoding to bytes: `+` is a space.
fn decode_component(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The text in the coding Kannel names: `coding=2` or charset UTF-16BE/UCS-2 is UTF-16
/// big-endian; ISO-8859-1/WINDOWS-1252 one byte a character; anything else UTF-8 (with
/// `mo-recode = true` Kannel gives UTF-8).
fn decode_text(bytes: &[u8], coding: Option<&str>, charset: Option<&str>) -> String {
    let charset = charset.unwrap_or_default().to_ascii_uppercase();
    let utf16 = charset.starts_with("UTF-16")
        || charset.starts_with("UCS-2")
        || (charset.is_empty() && coding == Some("2"));
    if utf16 {
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if matches!(
        charset.as_str(),
        "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "WINDOWS-1252" | "CP1252"
    ) {
        return bytes.iter().map(|&b| char::from(b)).collect();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// The address and key checks shared by both callbacks.
fn check_gateway(
    state: &AppState,
    addr: &ClientAddr,
    headers: &HeaderMap,
    params: &Params,
) -> ApiResult<()> {
    let cfg = &state.config.sms;
    if !addr.is_in(&cfg.mo_allowed) {
        return Err(ApiError::forbidden(
            "not_sms_gateway",
            "only the SMS gateway may call this",
        ));
    }
    let Some(expected) = &cfg.mo_key else {
        return Ok(());
    };
    let given = header_key(headers).or_else(|| params.bytes("key").map(<[u8]>::to_vec));
    let ok = given.is_some_and(|g| bool::from(g.ct_eq(expected.expose().as_bytes())));
    if !ok {
        return Err(ApiError::unauthorized(
            "bad_key",
            "wrong or missing gateway key",
        ));
    }
    Ok(())
}

/// The key from `Authorization: Bearer KEY` or basic auth (any user name, KEY as password: what
/// Kannel sends for a get-url of the form `http://user:KEY@host/…`).
fn header_key(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.as_bytes().to_vec());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        return Some(decoded[colon + 1..].to_vec());
    }
    None
}

/// A reply SMS for Kannel: the body is the text; `X-Kannel-Coding` says which coding it needs
/// (Kannel sends a reply in 7 bits otherwise, turning Chinese into "?"), the content type says
/// the body is UTF-8. Kannel obeys the header only with `accept-x-kannel-headers = true`.
fn reply(text: String) -> Response {
    let coding = Coding::for_text(&text);
    let mut resp = text.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert("x-kannel-coding", HeaderValue::from_static(coding.kannel()));
    resp
}

/// No reply SMS: 200 with an empty body (Kannel's `omit-empty = true` then sends nothing).
fn no_reply() -> Response {
    String::new().into_response()
}

async fn receive(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(query.as_deref());
    check_gateway(&state, &addr, &headers, &params)?;
    let from = params
        .text("from")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_sender",
                "the text's sender is missing: the gateway must pass from=%p",
            )
        })?;
    let to = params.text("to").unwrap_or_default();
    let text = decode_text(
        params.bytes("text").unwrap_or_default(),
        params.text("coding").as_deref(),
        params.text("charset").as_deref(),
    );
    // A short code or a name as sender cannot be answered, and is nobody's number.
    let Ok(from) = crate::identity::parse_phone(&state, &from) else {
        tracing::info!(to = %to, "mobile-originated SMS from a sender that is not a number; ignored");
        return Ok(no_reply());
    };
    tracing::info!(from = %from, to = %to, "mobile-originated SMS");
    if let Some(answer) = crate::identity::handle_mo_sms(&state, &from, &text).await? {
        return Ok(reply(answer));
    }
    if let Some(answer) = crate::services::handle_mo_sms(&state, &from, &text).await? {
        return Ok(reply(answer));
    }
    // Nobody was waiting for it.
    let help = state.config.sms.mo_help_reply.trim();
    Ok(if help.is_empty() {
        no_reply()
    } else {
        reply(help.to_string())
    })
}

/// Kannel's report types (`%d`): 1 delivered to the phone, 2 not delivered to the phone, 4 queued
/// on the SMSC, 8 accepted by the SMSC, 16 rejected by the SMSC.
fn report_state(kind: &str) -> Option<SmsState> {
    Some(match kind.trim() {
        "1" => SmsState::Delivered,
        "2" | "16" => SmsState::Failed,
        "4" => SmsState::Buffered,
        "8" => SmsState::Accepted,
        _ => return None,
    })
}

/// What is kept of the SMSC's report text (`%A`): its status words (`stat:UNDELIV err:001`), never
/// its `text:` field, which quotes the start of the SMS.
fn report_detail(reply: &str) -> Option<String> {
    let reply = reply.split("text:").next().unwrap_or_default();
    let status: Vec<&str> = reply
        .split_whitespace()
        .filter(|w| w.starts_with("stat:") || w.starts_with("err:"))
        .collect();
    let detail = if status.is_empty() {
        reply.trim().chars().take(100).collect::<String>()
    } else {
        status.join(" ")
    };
    (!detail.is_empty()).then_some(detail)
}

async fn delivery_report(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(query.as_deref());
    check_gateway(&state, &addr, &headers, &params)?;
    let id = params.text("id").unwrap_or_default();
    let new_state = params
        .text("type")
        .as_deref()
        .and_then(report_state)
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_report",
                "the report type must be one of Kannel's 1, 2, 4, 8, 16 (dlr-url type=%d)",
            )
        })?;
    let detail = params.text("reply").as_deref().and_then(report_detail);
    let report = state
        .core
        .store
        .report_sms_delivery(&id, new_state, detail.as_deref(), now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("unknown_sms", "no SMS has this reference"))?;
    if !report.changed {
        return Ok(no_reply());
    }
    let sms = report.row;
    tracing::info!(
        to = %sms.recipient,
        kind = %sms.kind,
        state = new_state.as_str(),
        detail = detail.as_deref().unwrap_or_default(),
        "sms delivery report"
    );
    state
        .core
        .metrics
        .sms
        .reports
        .get_or_create(&SmsReportLabels {
            kind: sms.kind.clone(),
            state: new_state.as_str().into(),
        })
        .inc();
    if new_state == SmsState::Failed {
        match sms.kind.as_str() {
            "verification_code" => {
                crate::identity::code_sms_failed(&state, &sms.recipient, sms.created_at).await?
            }
            "service_confirmation" => {
                let order = sms
                    .subject
                    .as_deref()
                    .and_then(|s| s.strip_prefix("order:"))
                    .and_then(|id| id.parse().ok());
                if let Some(order) = order {
                    crate::services::confirmation_sms_failed(&state, order).await?;
                }
            }
            _ => {}
        }
    }
    Ok(no_reply())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_decode_in_the_coding_kannel_names() {
        let utf16: Vec<u8> = "登录 RBABCDEF"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            decode_text(&utf16, Some("2"), Some("UTF-16BE")),
            "登录 RBABCDEF"
        );
        assert_eq!(decode_text(&utf16, Some("2"), None), "登录 RBABCDEF");
        assert_eq!(
            decode_text("Y 7209 确认".as_bytes(), Some("2"), Some("UTF-8")),
            "Y 7209 确认"
        );
        assert_eq!(
            decode_text(&[0x4e, 0xe9], Some("0"), Some("WINDOWS-1252")),
            "Né"
        );
        assert_eq!(decode_text(b"plain", None, None), "plain");
    }

    #[test]
    fn query_bytes_survive_decoding() {
        let p = Params::parse(Some("from=%2B8613800000001&text=%00Y%00+&key=a+b"));
        assert_eq!(p.text("from").as_deref(), Some("+8613800000001"));
        assert_eq!(p.bytes("text"), Some(&[0, b'Y', 0, b' '][..]));
        assert_eq!(p.text("key").as_deref(), Some("a b"));
        assert_eq!(
            Params::parse(Some("bad=%zz")).bytes("bad"),
            Some(&b"%zz"[..])
        );
    }

    #[test]
    fn report_details_keep_status_words_only() {
        assert_eq!(
            report_detail(
                "id:1 sub:001 dlvrd:000 stat:UNDELIV err:001 text:Your Ringbook code is 123456"
            )
            .as_deref(),
            Some("stat:UNDELIV err:001")
        );
        assert_eq!(report_detail("").as_deref(), None);
        assert_eq!(report_detail("ACK/").as_deref(), Some("ACK/"));
    }

    #[test]
    fn keys_come_from_bearer_or_basic_auth() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k1"));
        assert_eq!(header_key(&h).as_deref(), Some(&b"k1"[..]));
        // kannel:k2
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic a2FubmVsOmsy"),
        );
        assert_eq!(header_key(&h).as_deref(), Some(&b"k2"[..]));
    }
}
