//! Number bindings (MM-4) and the MM-6 decision.
//!
//! An account's own number is bound to it by default (`own_binding`, which the user may switch
//! off and on). Another phone is bound after the code sent to it by SMS is entered; a number
//! that has its own Ringbook account cannot be bound to a different one.
//!
//! For an MMS from number N, [`resolve`] answers (MM-6):
//! - N bound (own number with the binding on, or an extra number) → apply to that account;
//! - N registered but not bound (own binding switched off) → prompt to bind;
//! - N neither registered nor bound → prompt to register, then bind.
//!
//! "Not registered and bound" — MM-6's fourth case, prompting to register — needs an account
//! separate from the number; in Ringbook the account *is* a number, and a second phone is
//! bound to an existing account precisely so that its MMS update that account, so a bound
//! extra number applies (the prompt-to-register case is the unbound, unregistered number).

use super::model::{self, Change};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Session};
use crate::keys::Purpose;
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::Json;
use rand::Rng;
use ringbook_proto::profiles::{BindConfirm, BindRequest, BindStarted, Binding, Bindings};
use ringbook_proto::PhoneNumber;
use ringbook_store::identity::CodeTry;
use ringbook_store::identity::UserRow;
use ringbook_store::StoreError;
use subtle::ConstantTimeEq;

/// Whose profile an MMS from a number updates.
#[derive(Debug)]
pub enum Resolution {
    /// Apply to this account.
    Bound(Box<UserRow>),
    /// The number has an account but its MMS binding is off: prompt to bind.
    RegisteredNotBound,
    /// Unknown number: prompt to register (then bind).
    NotRegisteredNotBound,
    /// The account is blocked by the operator: refuse, no prompt.
    Blocked,
}

pub async fn resolve(state: &AppState, phone: &str) -> ApiResult<Resolution> {
    if let Some(b) = state.core.store.binding_of(phone).await? {
        if let Some(user) = state.core.store.user_by_id(b.user_id).await? {
            return Ok(if user.blocked {
                Resolution::Blocked
            } else {
                Resolution::Bound(Box::new(user))
            });
        }
    }
    let Some(user) = state.core.store.user_by_phone(phone).await? else {
        return Ok(Resolution::NotRegisteredNotBound);
    };
    if user.blocked {
        return Ok(Resolution::Blocked);
    }
    let own_binding = state
        .core
        .store
        .profile(user.id)
        .await?
        .map(|p| p.own_binding)
        .unwrap_or(true);
    Ok(if own_binding {
        Resolution::Bound(Box::new(user))
    } else {
        Resolution::RegisteredNotBound
    })
}

/// Keyed like login codes (see `crate::keys`).
fn code_hash(state: &AppState, user_id: i64, phone: &str, code: &str) -> String {
    state
        .core
        .keys
        .keyed_hash(Purpose::BindingCode, &[&user_id.to_string(), phone, code])
}

async fn own_binding(state: &AppState, user_id: i64) -> ApiResult<bool> {
    Ok(state
        .core
        .store
        .profile(user_id)
        .await?
        .map(|p| p.own_binding)
        .unwrap_or(true))
}

/// `GET /v1/profile/bindings`.
pub async fn list(State(state): State<AppState>, session: Session) -> ApiResult<Json<Bindings>> {
    let mut out = Bindings::default();
    if own_binding(&state, session.user_id).await? {
        let created_at = state
            .core
            .store
            .user_by_id(session.user_id)
            .await?
            .map(|u| u.created_at)
            .unwrap_or(0);
        out.bindings.push(Binding {
            phone: session.phone.as_str().to_string(),
            own: true,
            created_at,
        });
    }
    for b in state.core.store.bindings_of(session.user_id).await? {
        out.bindings.push(Binding {
            phone: b.phone,
            own: false,
            created_at: b.created_at,
        });
    }
    Ok(Json(out))
}

async fn set_own_binding(state: &AppState, session: &Session, on: bool) -> ApiResult<()> {
    let change = Change {
        own_binding: Some(on),
        ..Change::default()
    };
    model::apply(state, session.user_id, session.phone.as_str(), change).await?;
    Ok(())
}

fn parse(state: &AppState, raw: &str) -> ApiResult<PhoneNumber> {
    crate::identity::parse_phone(state, raw)
}

/// `POST /v1/profile/bindings`: the own number is bound at once; another gets a code by SMS.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<BindRequest>,
) -> ApiResult<Json<BindStarted>> {
    let phone = parse(&state, &req.phone)?;
    if phone == session.phone {
        set_own_binding(&state, &session, true).await?;
        return Ok(Json(BindStarted {
            phone: phone.as_str().to_string(),
            bound: true,
            expires_in_secs: None,
        }));
    }
    if let Some(b) = state.core.store.binding_of(phone.as_str()).await? {
        if b.user_id == session.user_id {
            return Ok(Json(BindStarted {
                phone: phone.as_str().to_string(),
                bound: true,
                expires_in_secs: None,
            }));
        }
        return Err(ApiError::conflict(
            "number_bound_elsewhere",
            format!("{phone} is bound to another account; unbind it there first"),
        ));
    }
    if state
        .core
        .store
        .user_by_phone(phone.as_str())
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(
            "number_has_account",
            format!("{phone} has its own Ringbook account, whose profile its MMS update"),
        ));
    }
    let cfg = &state.config.identity;
    let now = now_ms();
    if let Some(existing) = state
        .core
        .store
        .binding_code(session.user_id, phone.as_str())
        .await?
    {
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
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
    let expires_at = now + cfg.code_ttl_secs as i64 * 1000;
    state
        .core
        .store
        .put_binding_code(
            session.user_id,
            phone.as_str(),
            &code_hash(&state, session.user_id, phone.as_str(), &code),
            expires_at,
            now,
        )
        .await?;
    let text = format!(
        "Ringbook: your code {code} binds this phone to the account {} so that its MMS update \
         that profile. Ignore this if you did not ask for it.",
        session.phone
    );
    if let Err(e) = state.sms.send(phone.as_str(), &text, "binding_code").await {
        state
            .core
            .store
            .delete_binding_code(session.user_id, phone.as_str())
            .await?;
        return Err(ApiError::Upstream {
            code: "sms_failed",
            message: format!("the code could not be sent by SMS ({e}); try again later"),
        });
    }
    Ok(Json(BindStarted {
        phone: phone.as_str().to_string(),
        bound: false,
        expires_in_secs: Some(cfg.code_ttl_secs),
    }))
}

/// `POST /v1/profile/bindings/confirm`.
pub async fn confirm(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<BindConfirm>,
) -> ApiResult<Json<Bindings>> {
    let phone = parse(&state, &req.phone)?;
    let cfg = &state.config.identity;
    // The try is counted in the statement that checks the limit (no race between guesses).
    let row = match state
        .core
        .store
        .claim_binding_code_try(
            session.user_id,
            phone.as_str(),
            now_ms(),
            cfg.code_max_attempts,
        )
        .await?
    {
        CodeTry::Claimed(row) => row,
        CodeTry::Missing => {
            return Err(ApiError::bad_request(
                "no_code",
                format!("no binding code is waiting for {phone}; ask for one first"),
            ))
        }
        CodeTry::Expired => {
            state
                .core
                .store
                .delete_binding_code(session.user_id, phone.as_str())
                .await?;
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
    let given = code_hash(&state, session.user_id, phone.as_str(), req.code.trim());
    if !bool::from(given.as_bytes().ct_eq(row.code_hash.as_bytes())) {
        let left = (cfg.code_max_attempts - row.attempts).max(0);
        return Err(ApiError::bad_request(
            "wrong_code",
            format!("wrong code; {left} tries left"),
        ));
    }
    if !state
        .core
        .store
        .consume_binding_code(session.user_id, phone.as_str(), &given)
        .await?
    {
        return Err(ApiError::bad_request(
            "no_code",
            "the binding code has just been used; ask for a new one",
        ));
    }
    match state
        .core
        .store
        .add_binding(phone.as_str(), session.user_id, now_ms())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "number_bound_elsewhere",
                format!("{phone} was bound to another account meanwhile"),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    list(State(state), session).await
}

/// `DELETE /v1/profile/bindings/{phone}`: the own number switches MMS updates off.
pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    Path(raw): Path<String>,
) -> ApiResult<Json<Bindings>> {
    let phone = parse(&state, &raw)?;
    if phone == session.phone {
        set_own_binding(&state, &session, false).await?;
    } else if !state
        .core
        .store
        .remove_binding(session.user_id, phone.as_str())
        .await?
    {
        return Err(ApiError::not_found(
            "not_bound",
            format!("{phone} is not bound to this account"),
        ));
    }
    list(State(state), session).await
}
