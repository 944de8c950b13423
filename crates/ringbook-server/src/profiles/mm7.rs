//! `POST /mm7`: Ringbook as the value-added service of 3GPP MM7 (MM-1, MM-2).
//!
//! 1. The MMSC is checked: HTTP basic credentials and/or an address allow-list from
//!    `profiles.mm7`; with neither configured only loopback callers are accepted.
//! 2. The body is read up to `profiles.mm7.max_body_bytes` (larger → a SOAP Fault, 2004).
//! 3. Unparseable requests get a SOAP Fault (HTTP 500, SOAP 1.1) with the MM7 status of the
//!    problem, echoing the TransactionID when it can be found.
//! 4. Delivery reports and read replies are acknowledged (1000).
//! 5. A DeliverReq is resolved to an account (MM-4/MM-6), its content read and checked, the
//!    picture standardised (MM-5) — all before anything is written — then applied; the
//!    DeliverRsp says what happened:
//!    1000 applied · 2001 not applied, sender not registered/bound (a prompt is sent) ·
//!    2002 sender is not a mobile number · 2004 content refused (bad picture, nothing usable;
//!    the reason is also sent to the phone) · 4004 invalid personal data · 3000 server error.

use super::avatar;
use super::bindings::{self, Resolution};
use super::content::{self, MmsContent};
use super::model::{self, Change};
use super::prompts::{self, ReplyTo};
use crate::extract::ClientAddr;
use crate::state::{now_ms, AppState};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode as Http};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ringbook_mm7::{
    build_deliver_response, build_fault, parse_request, peek_transaction_id, DeliverReq,
    Mm7Request, StatusCode, RESPONSE_CONTENT_TYPE,
};
use ringbook_proto::PhoneNumber;
use ringbook_store::contacts::ContactRow;
use ringbook_store::profiles::AvatarChange;
use subtle::ConstantTimeEq;

fn xml(status: Http, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(RESPONSE_CONTENT_TYPE),
    );
    resp
}

fn fault(http: Http, tid: Option<&str>, status: StatusCode, text: &str) -> Response {
    xml(http, build_fault(tid, None, status, text))
}

/// Checks the MMSC's credentials and address; `Err` is the response to send.
fn authorise(
    state: &AppState,
    addr: &ClientAddr,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    let cfg = &state.config.profiles.mm7;
    let has_basic = cfg.username.is_some() || cfg.password.is_some();
    if !cfg.allowed.is_empty() && !cfg.allowed.iter().any(|n| n.contains(&addr.ip)) {
        tracing::warn!(addr = %addr.ip, "MM7 request from an address not allowed");
        return Err(Box::new(fault(
            Http::FORBIDDEN,
            None,
            StatusCode::ImproperIdentification,
            "this address may not post MM7 requests",
        )));
    }
    if has_basic {
        let expected = format!(
            "{}:{}",
            cfg.username.as_deref().unwrap_or(""),
            cfg.password.as_deref().unwrap_or("")
        );
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .unwrap_or_default();
        if !bool::from(given.ct_eq(expected.as_bytes())) {
            let mut resp = fault(
                Http::UNAUTHORIZED,
                None,
                StatusCode::ImproperIdentification,
                "wrong or missing MM7 credentials",
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ringbook-mm7\""),
            );
            return Err(Box::new(resp));
        }
    }
    if !has_basic && cfg.allowed.is_empty() && !addr.ip.is_loopback() {
        return Err(Box::new(fault(
            Http::FORBIDDEN,
            None,
            StatusCode::ImproperIdentification,
            "MM7 is open to loopback only until profiles.mm7 credentials or allowed addresses are configured",
        )));
    }
    Ok(())
}

pub async fn endpoint(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(resp) = authorise(&state, &addr, &headers) {
        return *resp;
    }
    let limit = state.config.profiles.mm7.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) if e.to_string().contains("length limit") => {
            // SOAP 1.1 faults travel with HTTP 500 (the MMSC reads the fault, not the status).
            return fault(
                Http::INTERNAL_SERVER_ERROR,
                None,
                StatusCode::MultimediaContentRefused,
                &format!("the message is larger than the {limit} bytes this service accepts"),
            );
        }
        Err(e) => {
            return fault(
                Http::BAD_REQUEST,
                None,
                StatusCode::MessageFormatCorrupt,
                &format!("the body could not be read: {e}"),
            )
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let request = match parse_request(&content_type, &bytes) {
        Ok(r) => r,
        Err(e) => {
            let tid = peek_transaction_id(&content_type, &bytes);
            tracing::info!(error = %e, tid = ?tid, "malformed MM7 request");
            return fault(
                Http::INTERNAL_SERVER_ERROR,
                tid.as_deref(),
                e.status_code(),
                &e.to_string(),
            );
        }
    };
    match &request {
        Mm7Request::Deliver(req) => {
            let (status, text) = deliver(&state, req).await;
            tracing::info!(tid = %req.transaction_id, sender = %req.sender.raw, code = status.code(), text = %text, "MM7 DeliverReq");
            xml(
                Http::OK,
                build_deliver_response(&req.transaction_id, &req.version, status, &text),
            )
        }
        Mm7Request::DeliveryReport(r) => {
            tracing::info!(tid = %r.transaction_id, message_id = %r.message_id, status = ?r.mm_status, "MM7 delivery report");
            xml(Http::OK, request.build_response(StatusCode::Success, ""))
        }
        Mm7Request::ReadReply(r) => {
            tracing::info!(tid = %r.transaction_id, message_id = %r.message_id, status = ?r.mm_status, "MM7 read reply");
            xml(Http::OK, request.build_response(StatusCode::Success, ""))
        }
    }
}

/// Handles one DeliverReq; returns the DeliverRsp status and its text.
async fn deliver(state: &AppState, req: &DeliverReq) -> (StatusCode, String) {
    match deliver_inner(state, req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = ?e, tid = %req.transaction_id, "MM7 delivery failed");
            (
                StatusCode::ServerError,
                "the profile could not be updated because of a server error; try again later"
                    .into(),
            )
        }
    }
}

async fn deliver_inner(state: &AppState, req: &DeliverReq) -> anyhow::Result<(StatusCode, String)> {
    let reply = ReplyTo {
        version: req.version.clone(),
        linked_id: req.linked_id.clone(),
    };
    let raw = req.sender_number().unwrap_or(req.sender.value.as_str());
    let Ok(sender) = PhoneNumber::parse(raw, &state.config.default_region) else {
        return Ok((
            StatusCode::AddressError,
            format!("the sender '{}' is not a mobile number", req.sender.raw),
        ));
    };
    let user = match bindings::resolve(state, sender.as_str())
        .await
        .map_err(api)?
    {
        Resolution::Bound(u) => *u,
        Resolution::Blocked => {
            return Ok((
                StatusCode::OperationRestricted,
                "not applied: the account is blocked".into(),
            ))
        }
        Resolution::RegisteredNotBound => {
            prompts::send(state, sender.as_str(), prompts::text::bind(), reply);
            return Ok((
                StatusCode::OperationRestricted,
                "not applied: the number is not bound to an account; a prompt to bind was sent"
                    .into(),
            ));
        }
        Resolution::NotRegisteredNotBound => {
            prompts::send(state, sender.as_str(), prompts::text::register(), reply);
            return Ok((
                StatusCode::OperationRestricted,
                "not applied: the number is not registered; a prompt to register was sent".into(),
            ));
        }
    };
    let own = [sender.as_str(), user.phone.as_str()];
    let content: MmsContent = match content::read(req, &own, &state.config.default_region) {
        Ok(c) => c,
        Err(reason) => {
            prompts::send(
                state,
                sender.as_str(),
                prompts::text::refused(&reason),
                reply,
            );
            return Ok((
                StatusCode::ValidationError,
                format!("not applied: {reason}"),
            ));
        }
    };
    if content.is_empty() {
        let reason = "the MMS holds no picture, text or vCard to update a profile with";
        prompts::send(
            state,
            sender.as_str(),
            prompts::text::refused(reason),
            reply,
        );
        return Ok((
            StatusCode::MultimediaContentRefused,
            format!("not applied: {reason}"),
        ));
    }
    let mut change = Change {
        fields: content.fields.clone(),
        ..Change::default()
    };
    let mut applied: Vec<String> = content.fields.keys().map(|f| f.to_string()).collect();
    if let Some(picture) = content.picture {
        match avatar::standardise(state, None, picture).await {
            Ok(a) => {
                change.avatar = Some(AvatarChange::Set(a));
                applied.insert(0, "avatar".into());
            }
            Err(r) if r.sender_fault => {
                prompts::send(
                    state,
                    sender.as_str(),
                    prompts::text::refused(&r.reason),
                    reply,
                );
                return Ok((
                    StatusCode::MultimediaContentRefused,
                    format!("not applied: {} ({})", r.reason, r.code),
                ));
            }
            Err(r) => anyhow::bail!("avatar: {}", r.reason),
        }
    }
    let result = model::apply(state, user.id, &user.phone, change)
        .await
        .map_err(api)?;
    if !content.contacts.is_empty() {
        let now = now_ms();
        let rows: Vec<ContactRow> = content
            .contacts
            .iter()
            .filter(|c| c.mobile != user.phone)
            .map(|c| ContactRow {
                owner_id: user.id,
                contact_phone: c.mobile.clone(),
                name: c.display_name.clone(),
                group_name: c.groups.first().cloned(),
                flag: 1,
                fields: serde_json::json!({
                    "nickname": c.nickname,
                    "emails": c.emails,
                    "org": c.org,
                    "title": c.title,
                    "other_mobiles": c.other_mobiles,
                    "source": "mms",
                })
                .to_string(),
                created_at: now,
                updated_at: now,
            })
            .collect();
        state.store.upsert_contacts(user.id, &rows, now).await?;
        applied.push(format!("{} contacts", rows.len()));
    }
    Ok((
        StatusCode::Success,
        format!(
            "profile of {} updated (version {}): {}",
            user.phone,
            result.version,
            applied.join(", ")
        ),
    ))
}

fn api(e: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}
