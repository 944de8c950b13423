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
use crate::secret::Secret;
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
use ringbook_proto::ws::ServerFrame;
use ringbook_proto::PhoneNumber;
use ringbook_store::contacts::ContactWrite;
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
            cfg.password.as_ref().map(Secret::expose).unwrap_or("")
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
        let received = deliver_contacts(state, user.id, &user.phone, &content.contacts).await?;
        applied.push(format!("{received} contacts"));
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

/// Adds the address-book entries of an MMS vCard to the owner's book (MM-1, PB-11) the way a
/// client's sync does — a new book version, so every device gets them at its next sync — and
/// tells the owner's online devices at once (`contacts_changed`). The whole card goes in
/// `fields` (as a client stores it), marked `"source": "mms"` so clients can list what arrived
/// this way. Returns how many entries were stored.
async fn deliver_contacts(
    state: &AppState,
    owner_id: i64,
    owner_phone: &str,
    contacts: &[ringbook_phonebook::PhonebookContact],
) -> anyhow::Result<usize> {
    let max_name = state.config.contacts.max_name_chars;
    let writes: Vec<ContactWrite> = contacts
        .iter()
        .filter(|c| c.mobile != owner_phone)
        .take(state.config.contacts.max_sync_entries)
        .map(|c| {
            let mut fields = serde_json::to_value(c).unwrap_or_default();
            if let Some(map) = fields.as_object_mut() {
                map.insert("source".into(), "mms".into());
            }
            let mut fields = fields.to_string();
            if fields.len() > state.config.contacts.max_fields_bytes {
                fields = serde_json::json!({"source": "mms"}).to_string();
            }
            let clip = |s: &str| s.trim().chars().take(max_name).collect::<String>();
            ContactWrite {
                contact_phone: c.mobile.clone(),
                name: clip(&c.display_name),
                group_name: c.groups.first().map(|g| clip(g)).filter(|g| !g.is_empty()),
                fields,
            }
        })
        .collect();
    if writes.is_empty() {
        return Ok(0);
    }
    let outcome = state
        .core
        .store
        .sync_contacts(owner_id, owner_phone, &writes, &[], now_ms())
        .await?;
    state.core.hub.send_to_user(
        owner_id,
        ServerFrame::ContactsChanged {
            version: outcome.version,
            count: writes.len() as u64,
            source: "mms".into(),
        },
    );
    let added: Vec<i64> = state
        .core
        .store
        .book_users(owner_id)
        .await?
        .into_iter()
        .filter(|u| writes.iter().any(|w| w.contact_phone == u.contact_phone))
        .map(|u| u.user_id)
        .collect();
    crate::presence::book_changed(state, owner_id, &added).await;
    Ok(writes.len())
}

fn api(e: crate::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}
