//! The website's server side (WV-2, WV-3, WV-4): signed look-ups and messages.
//!
//! Every request is checked in this order, each failure a distinct error and no data: known site
//! (`unknown_site`), caller address (`address_not_allowed`), timestamp window
//! (`stale_timestamp`), signature (`bad_signature`), nonce not seen before (`replayed_nonce`),
//! rate (`rate_limited`); then the visitor token's signature, expiry and audience
//! (`invalid_visitor_token`, `visitor_token_expired`, `wrong_site`) and the visitor's consent
//! (`no_consent`).

use super::{crypto, filter_fields, present_fields, visitor_fields};
use crate::error::{ApiError, ApiResult};
use crate::extract::ClientAddr;
use crate::messaging::{self, Outgoing};
use crate::state::{now_ms, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use ringbook_proto::openplatform::{
    canonical_request, LookupAnswer, LookupRequest, SignedRequestHeaders, SiteMessage,
    SiteMessageSent, VisitorClaims,
};
use ringbook_proto::PhoneNumber;
use ringbook_store::openplatform::{ConsentRow, SiteRow};
use sha2::{Digest, Sha256};

/// Verifies the site's signature and the request's freshness; returns the site.
async fn verify(
    state: &AppState,
    addr: &ClientAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<SiteRow> {
    let signed = SignedRequestHeaders::read(|name| headers.get(name)?.to_str().ok())
        .map_err(|e| ApiError::unauthorized("unsigned_request", e.to_string()))?;
    let unknown = || {
        ApiError::unauthorized(
            "unknown_site",
            "this site is not registered with this Ringbook server",
        )
    };
    let site_id = signed.site_id().ok_or_else(unknown)?;
    let site = state
        .core
        .store
        .op_site(site_id)
        .await?
        .ok_or_else(unknown)?;

    let nets: Vec<String> = serde_json::from_str(&site.allowed_addrs).unwrap_or_default();
    let allowed = nets
        .iter()
        .filter_map(|n| n.parse::<ipnet::IpNet>().ok())
        .any(|n| n.contains(&addr.ip));
    if !allowed {
        tracing::warn!(site = site.id, addr = %addr.ip, "signed request from an address the site did not register");
        return Err(ApiError::forbidden(
            "address_not_allowed",
            format!(
                "{} is not among this site's registered server addresses",
                addr.ip
            ),
        ));
    }

    let ts = signed.timestamp_secs().ok_or_else(|| {
        ApiError::unauthorized("stale_timestamp", "the timestamp must be Unix seconds")
    })?;
    let now_s = now_ms() / 1000;
    let window = state.config.openplatform.timestamp_window_secs as i64;
    if (now_s - ts).abs() > window {
        return Err(ApiError::unauthorized(
            "stale_timestamp",
            format!("the request's timestamp is more than {window} s from the server's clock; check the site's clock"),
        ));
    }
    let nonce = signed.nonce;
    if !signed.nonce_is_valid() {
        return Err(ApiError::bad_request(
            "invalid_nonce",
            "the nonce must be 16 to 128 letters, digits, '-' or '_'",
        ));
    }

    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path());
    let body_hash = hex::encode(Sha256::digest(body));
    let message = canonical_request(method.as_str(), path, site.id, ts, nonce, &body_hash);
    if !crypto::verify_signature(
        state,
        site.secret_enc.as_deref(),
        site.public_key.as_deref(),
        signed.signature().as_ref(),
        message.as_bytes(),
    )? {
        return Err(ApiError::unauthorized(
            "bad_signature",
            "the signature does not match this site's credentials and the request",
        ));
    }

    let now = now_ms();
    if !state.core.store.op_use_nonce(site.id, nonce, now).await? {
        return Err(ApiError::conflict(
            "replayed_nonce",
            "this nonce was already used; sign each request with a fresh one",
        ));
    }
    let recent = state
        .core
        .store
        .op_requests_since(site.id, now - 60_000)
        .await?;
    let limit = i64::from(state.config.openplatform.requests_per_minute_per_site);
    if recent > limit {
        return Err(ApiError::rate_limited(
            "rate_limited",
            format!("this site may make {limit} signed requests per minute"),
            60,
        ));
    }
    // Nonces older than the window cannot be replayed (the timestamp check refuses them).
    if rand::random::<u8>() == 0 {
        let _ = state
            .core
            .store
            .op_purge_nonces(now - 2 * window * 1000 - 60_000)
            .await;
    }
    Ok(site)
}

/// The visitor behind a token issued for this site, with their consent row.
async fn visitor_of_token(
    state: &AppState,
    site: &SiteRow,
    token: &str,
) -> ApiResult<(VisitorClaims, ConsentRow)> {
    let key = crypto::token_key(state).to_vec();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[crypto::audience(site.id)]);
    validation.set_issuer(&[crypto::ISSUER]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<VisitorClaims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(&key),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::unauthorized(
            "visitor_token_expired",
            "the visitor token expired; ask the visitor's agent again",
        ),
        jsonwebtoken::errors::ErrorKind::InvalidAudience => ApiError::forbidden(
            "wrong_site",
            "this visitor token was issued for another website",
        ),
        _ => ApiError::unauthorized(
            "invalid_visitor_token",
            "the visitor token is not one this server issued",
        ),
    })?;
    let consent = state
        .core
        .store
        .op_consent_by_pseudonym(site.id, &data.claims.sub)
        .await?
        .filter(|c| c.choice == "allow")
        .ok_or_else(no_consent)?;
    Ok((data.claims, consent))
}

fn no_consent() -> ApiError {
    ApiError::forbidden(
        "no_consent",
        "the visitor has not allowed (or has withdrawn) sharing with this site",
    )
}

async fn body_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("the body does not fit this request: {e}"),
        )
    })
}

/// `POST /v1/openplatform/lookup`: the visitor's allowed fields.
pub async fn lookup(
    State(state): State<AppState>,
    addr: ClientAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<LookupAnswer>> {
    let site = verify(&state, &addr, &method, &uri, &headers, &body).await?;
    let req: LookupRequest = body_json(&body).await?;
    let consent = match (req.token.as_deref(), req.user_id.as_deref()) {
        (Some(token), None) => visitor_of_token(&state, &site, token).await?.1,
        (None, Some(number)) => {
            // By raw number: only for visitors who enabled it for this site; any other case
            // answers the same, so a site cannot probe who is on Ringbook.
            let phone = PhoneNumber::parse(number, &state.config.default_region)
                .map_err(|_| no_consent())?;
            let user = state
                .core
                .store
                .user_by_phone(phone.as_str())
                .await?
                .ok_or_else(no_consent)?;
            state
                .core
                .store
                .op_consent(user.id, site.id)
                .await?
                .filter(|c| c.choice == "allow" && c.raw_id)
                .ok_or_else(no_consent)?
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "give exactly one of token and user_id",
            ));
        }
    };
    let allowed: Vec<String> = serde_json::from_str(&consent.fields).unwrap_or_default();
    let fields = filter_fields(visitor_fields(&state, consent.user_id).await?, &allowed);
    let disclosed = serde_json::to_string(&present_fields(&fields)).map_err(anyhow::Error::from)?;
    state
        .core
        .store
        .op_log_disclosure(
            consent.user_id,
            site.id,
            &site.name,
            "lookup",
            &disclosed,
            &addr.ip.to_string(),
            now_ms(),
        )
        .await?;
    Ok(Json(LookupAnswer {
        visitor: consent.pseudonym,
        fields,
    }))
}

/// `POST /v1/openplatform/message`: a message from the visitor to an account manager (WV-4).
/// Needs `allow` with the `phone` field, since the manager sees the visitor's number.
pub async fn message(
    State(state): State<AppState>,
    addr: ClientAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<SiteMessageSent>> {
    let site = verify(&state, &addr, &method, &uri, &headers, &body).await?;
    let req: SiteMessage = body_json(&body).await?;
    let (claims, consent) = visitor_of_token(&state, &site, &req.token).await?;
    let allowed: Vec<String> = serde_json::from_str(&consent.fields).unwrap_or_default();
    if !allowed.iter().any(|f| f == "phone") {
        return Err(ApiError::forbidden(
            "no_consent",
            "the visitor has not allowed this site to share their number, which a message would show",
        ));
    }
    let to = PhoneNumber::parse(&req.to, &state.config.default_region)
        .map_err(|e| ApiError::bad_request("invalid_phone", format!("'{}': {e}", req.to)))?;
    let body_text = req.body.trim();
    if body_text.is_empty() {
        return Err(ApiError::bad_request(
            "empty_message",
            "the message body is empty",
        ));
    }
    let visitor = state
        .core
        .store
        .user_by_id(consent.user_id)
        .await?
        .ok_or_else(no_consent)?;
    let sender_phone = PhoneNumber::from_e164_unchecked(visitor.phone.clone());
    let text = format!("[{} · website visitor] {body_text}", site.name);
    let client_msg_id = format!("op-{}-{}", site.id, claims.jti);
    let sent = messaging::deliver(
        &state,
        Outgoing {
            sender_id: visitor.id,
            sender_phone: &sender_phone,
            to: &to,
            client_msg_id: &client_msg_id,
            kind: "notice",
            body: &text,
            sent_at: now_ms(),
        },
    )
    .await?;
    if sent.new {
        state
            .core
            .store
            .op_log_disclosure(
                visitor.id,
                site.id,
                &site.name,
                &format!("message to {to}"),
                r#"["phone"]"#,
                &addr.ip.to_string(),
                now_ms(),
            )
            .await?;
    }
    Ok(Json(SiteMessageSent {
        message_id: sent.message.id,
        to: to.to_string(),
    }))
}
