//! The login decision of PB-5 and session issuing, shared by every way of proving a number.
//!
//! unknown number → register and let in; known number, same device → let in; known number,
//! other device → refuse unless the user asks to move the account and gives the rescue
//! password, then the new device identity overwrites the old one and the old sessions end.
//! Blocked numbers are refused; secure mode asks for the rescue password at every login; wrong
//! rescue passwords are counted and lock the rescue for a while.

use super::proofs;
use super::secrets;
use crate::error::{ApiError, ApiResult};
use crate::extract::{token_hash, ApiJson, ClientAddr};
use crate::metrics::Metrics;
use crate::state::{now_ms, AppState};
use axum::extract::State;
use axum::Json;
use ringbook_proto::api::{LoginRequest, LoginResponse, Proof};
use ringbook_proto::ws::CloseReason;
use ringbook_proto::{DeviceIdentity, PhoneNumber};
use ringbook_store::identity::{DeviceRow, RescueTry, UserRow};
use ringbook_store::StoreError;

/// What the client asks besides proving the number.
pub struct LoginIntent {
    pub device: DeviceIdentity,
    pub rescue_password: Option<String>,
    pub move_account: bool,
}

/// `POST /v1/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    if let Err(wait) = state.limits.logins_per_addr.check(&addr.ip.to_string()) {
        return Err(ApiError::rate_limited(
            "too_many_logins",
            "too many login attempts from this address; wait and try again",
            wait.as_secs().max(1),
        ));
    }
    validate_device(&req.device)?;
    let phone_field = || {
        req.phone.as_deref().ok_or_else(|| {
            ApiError::bad_request(
                "missing_phone",
                "give the phone number you are logging in with",
            )
        })
    };
    let intent = LoginIntent {
        device: req.device,
        rescue_password: req.rescue_password,
        move_account: req.move_account,
    };
    let (phone, kind) = match &req.proof {
        Proof::SmsCode { code } => {
            let phone = super::parse_phone(&state, phone_field()?)?;
            let checked = proofs::check_code(&state, &phone, code).await?;
            // Refuse a device mismatch before the code is used up, so the same code can be
            // sent again asking to move the account.
            refuse_other_device(&state, &phone, &intent).await?;
            checked.consume(&state).await?;
            (phone, "sms_code")
        }
        Proof::Declared => {
            if !state.config.identity.declared_number {
                return Err(method_disabled("declared number"));
            }
            (super::parse_phone(&state, phone_field()?)?, "declared")
        }
        Proof::MoToken { token } => (
            proofs::take_mo_token(&state, token, &intent.device).await?,
            "mo_sms",
        ),
    };
    decide(&state, phone, intent, kind).await.map(Json)
}

pub fn method_disabled(what: &str) -> ApiError {
    ApiError::forbidden(
        "method_disabled",
        format!("login by {what} is switched off on this server; use another method"),
    )
}

pub fn validate_device(device: &DeviceIdentity) -> ApiResult<()> {
    device
        .validate()
        .map_err(|e| ApiError::bad_request("invalid_device", e.to_string()))
}

fn device_row(d: &DeviceIdentity) -> DeviceRow {
    DeviceRow {
        device_id: d.device_id.clone(),
        imei: d.imei.clone(),
        iccid: d.iccid.clone(),
        imsi: d.imsi.clone(),
    }
}

fn stored_device(u: &UserRow) -> DeviceIdentity {
    DeviceIdentity {
        device_id: u.device_id.clone(),
        imei: u.imei.clone(),
        iccid: u.iccid.clone(),
        imsi: u.imsi.clone(),
        label: None,
    }
}

fn device_mismatch() -> ApiError {
    ApiError::conflict(
        "device_mismatch",
        "this number is registered on another device; to move the account to this device, \
         log in again asking to move it (--move) with your rescue password",
    )
}

/// The one refusal of [`decide`] that is known before the proof is used up.
async fn refuse_other_device(
    state: &AppState,
    phone: &PhoneNumber,
    intent: &LoginIntent,
) -> ApiResult<()> {
    match state.core.store.user_by_phone(phone.as_str()).await? {
        Some(user)
            if !user.blocked
                && !intent.move_account
                && !stored_device(&user).same_device(&intent.device) =>
        {
            Err(device_mismatch())
        }
        _ => Ok(()),
    }
}

/// PB-5, after the number has been proven.
pub async fn decide(
    state: &AppState,
    phone: PhoneNumber,
    intent: LoginIntent,
    kind: &'static str,
) -> ApiResult<LoginResponse> {
    let now = now_ms();
    let existing = state.core.store.user_by_phone(phone.as_str()).await?;
    let (user, registered) = match existing {
        Some(user) => (user, false),
        None => match state
            .core
            .store
            .create_user(phone.as_str(), &device_row(&intent.device), now)
            .await
        {
            Ok(user) => (user, true),
            // Registered concurrently by another request: decide as for a known number.
            Err(StoreError::Conflict(_)) => (
                state
                    .core
                    .store
                    .user_by_phone(phone.as_str())
                    .await?
                    .ok_or_else(|| {
                        ApiError::Internal(anyhow::anyhow!("user vanished after conflict"))
                    })?,
                false,
            ),
            Err(e) => return Err(e.into()),
        },
    };
    if user.blocked {
        return Err(ApiError::forbidden(
            "blocked",
            "this number is blocked on Ringbook; contact the operator",
        ));
    }
    let same_device = stored_device(&user).same_device(&intent.device);
    let mut moved = false;
    if !registered && !same_device {
        if !intent.move_account {
            return Err(device_mismatch());
        }
        if user.rescue_hash.is_none() {
            return Err(ApiError::forbidden(
                "no_rescue_password",
                "this account has no rescue password, so it cannot be moved; set one on the old \
                 device first (ringbook rescue-password set)",
            ));
        }
        check_rescue_password(state, &user, intent.rescue_password.as_deref()).await?;
        state
            .core
            .store
            .set_user_device(user.id, &device_row(&intent.device))
            .await?;
        for session_id in state.core.store.revoke_all_sessions(user.id, now).await? {
            state
                .core
                .hub
                .close_session(&session_id, CloseReason::Moved);
        }
        moved = true;
    } else if user.secure_mode && !registered {
        check_rescue_password(state, &user, intent.rescue_password.as_deref()).await?;
    }

    let token = secrets::random_token();
    let session_id = secrets::random_hex(16);
    state
        .core
        .store
        .create_session(
            &session_id,
            user.id,
            &token_hash(&token),
            &intent.device.device_id,
            intent.device.label.as_deref(),
            now,
        )
        .await?;
    state.core.store.record_login(user.id, now).await?;
    let outcome = if registered {
        "registered"
    } else if moved {
        "moved"
    } else {
        "same_device"
    };
    Metrics::count(&state.core.metrics.logins, outcome);
    tracing::info!(phone = %phone, kind, outcome, "login");
    Ok(LoginResponse {
        token,
        session_id,
        phone,
        registered,
        moved,
    })
}

/// The password pool's key for a user: one argon2 run at a time per account.
pub fn password_key(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// Checks the rescue password under the durable try counter and lock (PB-5). The try is
/// claimed before argon2 runs, so concurrent guesses cannot outrun the count.
pub async fn check_rescue_password(
    state: &AppState,
    user: &UserRow,
    given: Option<&str>,
) -> ApiResult<()> {
    let now = now_ms();
    let cfg = &state.config.identity;
    let locked = |until: i64| {
        let secs = ((until - now + 999) / 1000).max(1) as u64;
        ApiError::rate_limited(
            "rescue_locked",
            format!("too many wrong rescue passwords; try again in {secs} seconds"),
            secs,
        )
    };
    if user.rescue_locked_until > now {
        return Err(locked(user.rescue_locked_until));
    }
    let Some(given) = given else {
        return Err(ApiError::unauthorized(
            "rescue_password_required",
            "this login needs the account's rescue password",
        ));
    };
    let hash = user.rescue_hash.clone().ok_or_else(|| {
        ApiError::forbidden("no_rescue_password", "this account has no rescue password")
    })?;
    // A place in the password pool first: a refusal there ("busy") must not cost a try.
    let reservation = state.core.passwords.reserve(&password_key(user.id)).await?;
    let claim = state
        .core
        .store
        .claim_rescue_try(
            user.id,
            now,
            cfg.rescue_max_failures,
            cfg.rescue_lock_secs as i64 * 1000,
        )
        .await?;
    let (tries, locked_until) = match claim {
        RescueTry::Claimed {
            tries,
            locked_until,
        } => (tries, locked_until),
        RescueTry::Locked { until } => return Err(locked(until)),
    };
    let right = reservation.verify(given.to_string(), hash).await?;
    if right {
        state.core.store.clear_rescue_tries(user.id).await?;
        return Ok(());
    }
    if locked_until > now {
        return Err(ApiError::rate_limited(
            "rescue_locked",
            format!(
                "wrong rescue password; after {tries} wrong tries the rescue is locked for {} seconds",
                cfg.rescue_lock_secs
            ),
            cfg.rescue_lock_secs,
        ));
    }
    let left = cfg.rescue_max_failures - tries;
    Err(ApiError::unauthorized(
        "wrong_rescue_password",
        format!("wrong rescue password; {left} tries left before the rescue is locked"),
    ))
}
