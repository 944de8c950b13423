//! The four ways to prove a number (PB-3).

use super::login::{decide, method_disabled, validate_device, LoginIntent};
use super::secrets;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::keys::Purpose;
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use ringbook_proto::api::{
    CodeDelivery, CodeRequest, CodeSent, DeliveryState, HeaderLoginRequest, LoginResponse,
    MoStartRequest, MoStarted, MoState,
};
use ringbook_proto::{DeviceIdentity, PhoneNumber};
use ringbook_store::identity::CodeTry;
use ringbook_store::sms::SmsState;
use subtle::ConstantTimeEq;

/// Keyed, so that a copy of the database does not give the live codes away (a million
/// possibilities are tried in seconds against any unkeyed hash).
fn code_hash(state: &AppState, phone: &PhoneNumber, code: &str) -> String {
    state
        .core
        .keys
        .keyed_hash(Purpose::LoginCode, &[phone.as_str(), code])
}

/// MO login tokens are stored keyed-hashed too: the table alone lets nobody bind a number.
fn mo_token_hash(state: &AppState, token: &str) -> String {
    state
        .core
        .keys
        .keyed_hash(Purpose::MoToken, &[&token.trim().to_ascii_uppercase()])
}

fn limited(code: &'static str, what: &str, wait: std::time::Duration) -> ApiError {
    let secs = wait.as_secs().max(1);
    ApiError::rate_limited(code, format!("{what}; try again in {secs} seconds"), secs)
}

/// (a) `POST /v1/auth/code`: sends a six-digit code by SMS.
pub async fn request_code(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<CodeRequest>,
) -> ApiResult<Json<CodeSent>> {
    let cfg = &state.config.identity;
    if !cfg.sms_code {
        return Err(method_disabled("SMS code"));
    }
    let phone = super::parse_phone(&state, &req.phone)?;
    let now = now_ms();
    if let Some(existing) = state.core.store.code_for(phone.as_str()).await? {
        let ready_at = existing.sent_at + cfg.code_resend_secs as i64 * 1000;
        if ready_at > now {
            let secs = ((ready_at - now + 999) / 1000) as u64;
            return Err(ApiError::rate_limited(
                "resend_too_soon",
                format!(
                    "a code was just sent to {phone}; you can ask for another in {secs} seconds"
                ),
                secs,
            ));
        }
    }
    state
        .limits
        .codes_per_addr
        .check(&addr.ip.to_string())
        .map_err(|w| {
            limited(
                "too_many_codes",
                "too many codes requested from this address",
                w,
            )
        })?;
    state
        .limits
        .codes_per_number
        .check(phone.as_str())
        .map_err(|w| limited("too_many_codes", "too many codes sent to this number", w))?;

    let code = secrets::six_digits();
    let expires_at = now + cfg.code_ttl_secs as i64 * 1000;
    state
        .core
        .store
        .put_code(
            phone.as_str(),
            &code_hash(&state, &phone, &code),
            expires_at,
            now,
        )
        .await?;
    let minutes = cfg.code_ttl_secs.div_ceil(60);
    let text =
        format!("Your Ringbook code is {code}. It expires in {minutes} minutes. Do not share it.");
    let sent = match state
        .sms
        .send(phone.as_str(), &text, "verification_code")
        .await
    {
        Ok(sent) => sent,
        Err(e) => {
            // The user never got it: forget it so a retry is not held up by the cool-down.
            state.core.store.delete_code(phone.as_str()).await?;
            return Err(ApiError::Upstream {
                code: "sms_failed",
                message: format!("the code could not be sent by SMS ({e}); try again later"),
            });
        }
    };
    Ok(Json(CodeSent {
        phone,
        expires_in_secs: cfg.code_ttl_secs,
        resend_after_secs: cfg.code_resend_secs,
        delivery_id: Some(sent.id),
    }))
}

/// A login code that matched and is not consumed yet: the login consumes it with
/// [`CheckedCode::consume`] once it knows it will go ahead, so a refusal such as
/// `device_mismatch` leaves the code usable for the retry with `--move`.
pub struct CheckedCode {
    phone: PhoneNumber,
    hash: String,
}

impl CheckedCode {
    /// Single use: of any number of concurrent logins with the same right code, one wins.
    pub async fn consume(self, state: &AppState) -> ApiResult<()> {
        if state
            .core
            .store
            .consume_code(self.phone.as_str(), &self.hash)
            .await?
        {
            return Ok(());
        }
        Err(ApiError::unauthorized(
            "no_code",
            format!(
                "the code for {} has just been used or replaced; ask for a new one",
                self.phone
            ),
        ))
    }
}

/// Checks a code. Each try is counted in the same statement that checks the limit, so
/// concurrent guesses get no more tries than sequential ones.
pub async fn check_code(
    state: &AppState,
    phone: &PhoneNumber,
    code: &str,
) -> ApiResult<CheckedCode> {
    let cfg = &state.config.identity;
    if !cfg.sms_code {
        return Err(method_disabled("SMS code"));
    }
    let row = match state
        .core
        .store
        .claim_code_try(phone.as_str(), now_ms(), cfg.code_max_attempts)
        .await?
    {
        CodeTry::Claimed(row) => row,
        CodeTry::Missing => return Err(no_code(state, phone).await?),
        CodeTry::Expired => {
            state.core.store.delete_code(phone.as_str()).await?;
            return Err(ApiError::gone(
                "code_expired",
                "the code has expired; ask for a new one",
            ));
        }
        CodeTry::Exhausted(_) => {
            return Err(ApiError::rate_limited(
                "too_many_attempts",
                "too many wrong codes; ask for a new code",
                cfg.code_resend_secs,
            ))
        }
    };
    let given = code_hash(state, phone, code.trim());
    if bool::from(given.as_bytes().ct_eq(row.code_hash.as_bytes())) {
        return Ok(CheckedCode {
            phone: phone.clone(),
            hash: given,
        });
    }
    let left = (cfg.code_max_attempts - row.attempts).max(0);
    Err(ApiError::unauthorized(
        "wrong_code",
        if left > 0 {
            format!("wrong code; {left} tries left")
        } else {
            "wrong code; no tries left, ask for a new code".to_string()
        },
    ))
}

/// Why no code waits: its SMS could not be delivered (a delivery report said so, or the gateway
/// refused it), or none was asked for (or it was used or expired long ago).
async fn no_code(state: &AppState, phone: &PhoneNumber) -> ApiResult<ApiError> {
    let ttl_ms = state.config.identity.code_ttl_secs as i64 * 1000;
    let last = state
        .core
        .store
        .latest_sms_to(phone.as_str(), "verification_code")
        .await?;
    Ok(match last {
        Some(sms) if sms.state == SmsState::Failed && sms.created_at + ttl_ms > now_ms() => {
            ApiError::Upstream {
                code: "code_not_delivered",
                message: format!(
                    "the SMS with your code could not be delivered to {phone}; check the number, \
                     ask for a new code, or log in another way"
                ),
            }
        }
        _ => ApiError::unauthorized(
            "no_code",
            format!("no code is waiting for {phone}; ask for one first"),
        ),
    })
}

/// A delivery report said the SMS sent at `sent_at` will not reach `phone`: if its code is still
/// the one waiting, drop it, so a new one can be asked for at once and a login hears why.
pub(crate) async fn code_sms_failed(state: &AppState, phone: &str, sent_at: i64) -> ApiResult<()> {
    if let Some(code) = state.core.store.code_for(phone).await? {
        // Codes are stored just before their SMS is handed over; a newer code is left alone.
        if code.sent_at <= sent_at {
            state.core.store.delete_code(phone).await?;
        }
    }
    Ok(())
}

/// `GET /v1/auth/code/{delivery_id}`: did the SMS with the code reach the phone? The handle is
/// a 128-bit random value given only to whoever asked for the code.
pub async fn code_delivery(
    State(state): State<AppState>,
    Path(delivery_id): Path<String>,
) -> ApiResult<Json<CodeDelivery>> {
    let sms = state
        .core
        .store
        .sms_delivery(&delivery_id)
        .await?
        .filter(|s| s.kind == "verification_code")
        .ok_or_else(|| ApiError::not_found("unknown_delivery", "no such code SMS"))?;
    let (delivery, message) = match sms.state {
        SmsState::Sent => (DeliveryState::Sent, "the code is on its way"),
        SmsState::Accepted => (
            DeliveryState::Accepted,
            "the operator has the code and is delivering it",
        ),
        SmsState::Buffered => (
            DeliveryState::Buffered,
            "the operator is holding the code until your phone can be reached; check that it is on and has signal",
        ),
        SmsState::Delivered => (DeliveryState::Delivered, "the code reached your phone"),
        SmsState::Failed => (
            DeliveryState::Failed,
            "the SMS with your code could not be delivered; check the number, ask for a new code, or log in another way",
        ),
    };
    Ok(Json(CodeDelivery {
        state: delivery,
        message: message.into(),
    }))
}

/// (c) `POST /v1/auth/mo/start`: hands out a token for the user to text to the service number.
pub async fn mo_start(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<MoStartRequest>,
) -> ApiResult<Json<MoStarted>> {
    if !state.config.identity.mo_sms {
        return Err(method_disabled("text message to the service number"));
    }
    validate_device(&req.device)?;
    state
        .limits
        .codes_per_addr
        .check(&addr.ip.to_string())
        .map_err(|w| {
            limited(
                "too_many_codes",
                "too many login tokens requested from this address",
                w,
            )
        })?;
    let ttl = state.config.identity.mo_token_ttl_secs;
    let now = now_ms();
    let token = secrets::mo_token();
    state
        .core
        .store
        .create_mo_token(
            &mo_token_hash(&state, &token),
            &req.device.device_id,
            now,
            now + ttl as i64 * 1000,
        )
        .await?;
    let service_number = state.config.sms.service_number.clone();
    Ok(Json(MoStarted {
        instructions: format!(
            "Text {token} to {service_number} from the phone whose number you want to use."
        ),
        token,
        service_number,
        expires_in_secs: ttl,
    }))
}

#[derive(serde::Deserialize)]
pub struct MoStateQuery {
    /// The device the token was issued to; only it learns the number.
    device_id: String,
}

/// `GET /v1/auth/mo/{token}?device_id=…`: has the SMS arrived? Rate-limited per address, and
/// a token asked about by another device is "unknown", so polling reveals nobody's number.
pub async fn mo_state(
    State(state): State<AppState>,
    addr: ClientAddr,
    Path(token): Path<String>,
    ApiQuery(query): ApiQuery<MoStateQuery>,
) -> ApiResult<Json<MoState>> {
    state
        .limits
        .mo_polls_per_addr
        .check(&addr.ip.to_string())
        .map_err(|w| {
            limited(
                "too_many_polls",
                "too many token checks from this address",
                w,
            )
        })?;
    let unknown = || ApiError::not_found("unknown_token", "no such login token; start again");
    let row = state
        .core
        .store
        .mo_token(&mo_token_hash(&state, &token))
        .await?
        .filter(|row| bool::from(row.device_id.as_bytes().ct_eq(query.device_id.as_bytes())))
        .ok_or_else(unknown)?;
    if row.expires_at <= now_ms() {
        return Err(ApiError::gone(
            "token_expired",
            "the login token has expired; start again",
        ));
    }
    Ok(Json(match row.phone {
        Some(p) => MoState::Received {
            phone: PhoneNumber::from_e164_unchecked(p),
        },
        None => MoState::Waiting,
    }))
}

/// Completes (c): the token must have been texted in, be unexpired and belong to this device.
pub async fn take_mo_token(
    state: &AppState,
    token: &str,
    device: &DeviceIdentity,
) -> ApiResult<PhoneNumber> {
    if !state.config.identity.mo_sms {
        return Err(method_disabled("text message to the service number"));
    }
    let token = mo_token_hash(state, token);
    let row =
        state.core.store.mo_token(&token).await?.ok_or_else(|| {
            ApiError::not_found("unknown_token", "no such login token; start again")
        })?;
    if row.expires_at <= now_ms() {
        state.core.store.delete_mo_token(&token).await?;
        return Err(ApiError::gone(
            "token_expired",
            "the login token has expired; start again",
        ));
    }
    if row.device_id != device.device_id {
        return Err(ApiError::forbidden(
            "wrong_device",
            "this login token was issued to another device",
        ));
    }
    let phone = row.phone.ok_or_else(|| {
        ApiError::conflict(
            "sms_not_received",
            "the text message with the token has not arrived yet",
        )
    })?;
    state.core.store.delete_mo_token(&token).await?;
    Ok(PhoneNumber::from_e164_unchecked(phone))
}

/// A mobile-originated SMS reached the service number: if it carries a login token, bind the
/// sender's number to it. Returns the reply text for the sender, or `None` if it was not ours.
pub async fn handle_mo_sms(
    state: &AppState,
    from: &PhoneNumber,
    text: &str,
) -> ApiResult<Option<String>> {
    if !state.config.identity.mo_sms {
        return Ok(None);
    }
    let Some(token) = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_uppercase)
        .find(|w| w.len() == 8 && w.starts_with("RB"))
    else {
        return Ok(None);
    };
    if state
        .core
        .store
        .bind_mo_token(&mo_token_hash(state, &token), from.as_str(), now_ms())
        .await?
    {
        tracing::info!(phone = %from, "MO login token received");
        Ok(Some(
            "Ringbook: your number is confirmed. Go back to the app to finish logging in.".into(),
        ))
    } else {
        Ok(Some(
            "Ringbook: that login code is unknown or has expired. Start again in the app.".into(),
        ))
    }
}

/// (d) `POST /v1/auth/header`: the operator's gateway put the number in a header.
pub async fn header_login(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<HeaderLoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let cfg = &state.config.identity;
    if !cfg.header_enrichment {
        return Err(method_disabled("operator header"));
    }
    // The client itself (as seen through our trusted proxies) must be the operator's gateway.
    if !addr.is_in(&cfg.header_trusted_proxies) {
        return Err(ApiError::forbidden(
            "untrusted_proxy",
            "this request did not come through the operator's gateway",
        ));
    }
    validate_device(&req.device)?;
    let raw = headers
        .get(cfg.msisdn_header.as_str())
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "no_msisdn",
                "the operator's gateway did not supply the phone number",
            )
        })?;
    let phone = super::parse_phone(&state, raw)?;
    let intent = LoginIntent {
        device: req.device,
        rescue_password: req.rescue_password,
        move_account: req.move_account,
    };
    decide(&state, phone, intent, "header_enrichment")
        .await
        .map(Json)
}
