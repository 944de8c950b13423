//! One-click ordering of a friend's shared service (SS-5), through the service platform (SS-6):
//!
//! - already subscribed → refused with a message;
//! - the carrier's own service → ordered at once;
//! - a contracted SP's service → a confirmation SMS "reply Y <code> to confirm …"; the reply
//!   arrives as a mobile-originated SMS ([`handle_mo_sms`]) and orders only when it is `Y` with
//!   the right code before expiry; a wrong reply, a `N`, or a late one refuses the order;
//! - anything else → refused.
//!
//! Each order is decided once (`decide_order` only moves a pending order), so the orderer and
//! the friend each get exactly one Ringbook notice about the outcome. No double orders: a
//! retried request with the same idempotency key, or any request while an order for the same
//! service is open, returns that order; the platform is called with the order ID as reference,
//! so a repeated confirmation is recognised too.

use super::platform::{platform, Decision, PlatformOrder, ServicePlatform};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Session};
use crate::keys::Purpose;
use crate::messaging::{self, Outgoing};
use crate::state::{now_ms, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rand::Rng;
use ringbook_proto::services::{OrderRequest, OrderState, OrderView, Orders, ServiceInfo};
use ringbook_proto::PhoneNumber;
use ringbook_store::services::{CreatedOrder, NewOrder, OrderRow};
use subtle::ConstantTimeEq;

/// How long after a decision a repeated reply is still recognised (and answered) as one.
const REPEAT_WINDOW_MS: i64 = 24 * 3_600_000;

/// A pending order with no decision after this long (its node died at the platform call) is
/// refused by housekeeping, freeing the slot for a new order.
const STUCK_AFTER_MS: i64 = 5 * 60_000;

/// Keyed (see `crate::keys`): a four-digit code under any unkeyed hash is read back from a
/// database copy in microseconds.
fn code_hash(state: &AppState, order_id: i64, code: &str) -> String {
    state
        .core
        .keys
        .keyed_hash(Purpose::OrderCode, &[&order_id.to_string(), code])
}

fn state_of(o: &OrderRow) -> OrderState {
    match o.state.as_str() {
        "ordered" => OrderState::Ordered,
        "refused" => OrderState::Refused,
        _ if o.code_hash.is_some() => OrderState::AwaitingConfirmation,
        _ => OrderState::Processing,
    }
}

async fn view(state: &AppState, o: &OrderRow) -> ApiResult<OrderView> {
    let friend = state
        .core
        .store
        .user_by_id(o.friend_id)
        .await?
        .map(|u| u.phone)
        .unwrap_or_default();
    Ok(OrderView {
        id: o.id,
        friend,
        service_id: o.service_id.clone(),
        state: state_of(o),
        reason: o.reason.clone(),
        message: o.message.clone(),
        expires_at: o
            .expires_at
            .filter(|_| o.state == "pending" && o.code_hash.is_some()),
        created_at: o.created_at,
        decided_at: o.decided_at,
    })
}

fn price(s: &ServiceInfo) -> String {
    format!(
        "{}.{:02} {}/{}",
        s.price_cents / 100,
        s.price_cents % 100,
        s.currency,
        s.period
    )
}

/// `POST /v1/services/orders`.
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(req): ApiJson<OrderRequest>,
) -> ApiResult<(StatusCode, Json<OrderView>)> {
    let friend = super::sharing::require_friend(&state, session.user_id, &req.friend).await?;
    if !state
        .core
        .store
        .is_shared(friend.user_id, &req.service_id)
        .await?
    {
        return Err(ApiError::not_found(
            "not_shared",
            format!(
                "{} does not share '{}'; see what they share with `ringbook services friends`",
                friend.phone, req.service_id
            ),
        ));
    }
    let key = match req.idempotency_key {
        Some(k) if k.is_empty() || k.len() > 100 => {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "the idempotency key must be 1 to 100 characters",
            ))
        }
        Some(k) => k,
        None => format!("auto-{}", hex::encode(rand::random::<[u8; 12]>())),
    };
    let new = NewOrder {
        orderer_id: session.user_id,
        friend_id: friend.user_id,
        service_id: &req.service_id,
        idempotency_key: &key,
        expires_at: now_ms() + STUCK_AFTER_MS,
    };
    let order = match state.core.store.create_order(&new, now_ms()).await {
        Ok(CreatedOrder::New(o)) => o,
        Ok(CreatedOrder::Existing(o)) => {
            return Ok((StatusCode::OK, Json(view(&state, &o).await?)))
        }
        Err(ringbook_store::StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "order_changed",
                "an order for this service was just decided; try again",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let p = platform(&state);
    let service = service_info(p, &order.service_id).await;
    let decision = p
        .order(&PlatformOrder {
            phone: session.phone.to_string(),
            service_id: order.service_id.clone(),
            confirmed: false,
            reference: order.id.to_string(),
        })
        .await;
    let decision = match decision {
        Ok(d) => d,
        Err(e) => {
            // Free the open-order slot so the user can try again later.
            state
                .core
                .store
                .decide_order(
                    order.id,
                    "refused",
                    Some("unavailable"),
                    "the service platform did not answer",
                    now_ms(),
                )
                .await?;
            return Err(e.into());
        }
    };
    let order = match decision {
        Decision::ConfirmationRequired => {
            ask_confirmation(&state, &session.phone, &friend.phone, &order, &service).await?
        }
        other => {
            let (st, reason, msg) = outcome(&other, &service);
            finish(&state, &order, st, reason.as_deref(), &msg)
                .await?
                .unwrap_or(order)
        }
    };
    Ok((StatusCode::CREATED, Json(view(&state, &order).await?)))
}

async fn service_info(p: &dyn ServicePlatform, id: &str) -> ServiceInfo {
    match p.catalogue().await {
        Ok(c) => c
            .into_iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| super::catalogue::unknown(id)),
        Err(e) => {
            tracing::warn!(error = %e, "catalogue unavailable for an order message");
            super::catalogue::unknown(id)
        }
    }
}

/// The final state, reason and message for a platform decision (not `ConfirmationRequired`).
fn outcome(d: &Decision, s: &ServiceInfo) -> (&'static str, Option<String>, String) {
    match d {
        Decision::Ordered => (
            "ordered",
            None,
            format!("{} is now active on your number ({}).", s.name, price(s)),
        ),
        Decision::AlreadySubscribed => (
            "refused",
            Some("already_subscribed".into()),
            format!("You already subscribe to {}; nothing was ordered.", s.name),
        ),
        Decision::Refused { reason, message } => (
            "refused",
            Some(reason.clone()),
            format!("{} was not ordered: {message}.", s.name),
        ),
        Decision::ConfirmationRequired => (
            "refused",
            Some("protocol".into()),
            format!(
                "{} was not ordered: the service platform asked for a second confirmation.",
                s.name
            ),
        ),
    }
}

/// Sends the confirmation SMS for an SP service and marks the order as awaiting the reply.
async fn ask_confirmation(
    state: &AppState,
    orderer: &PhoneNumber,
    friend_phone: &str,
    order: &OrderRow,
    service: &ServiceInfo,
) -> ApiResult<OrderRow> {
    let now = now_ms();
    // A code distinct from those of the orderer's other open confirmations.
    let open = state
        .core
        .store
        .confirmable_orders_of(order.orderer_id, now)
        .await?;
    let mut code = String::new();
    for _ in 0..20 {
        code = format!("{:04}", rand::thread_rng().gen_range(0..10_000));
        if !open.iter().any(|o| {
            o.state == "pending"
                && o.code_hash.as_deref() == Some(code_hash(state, o.id, &code).as_str())
        }) {
            break;
        }
    }
    let ttl_ms = (state.config.services.confirm_ttl_secs as i64).saturating_mul(1000);
    let minutes = (state.config.services.confirm_ttl_secs.div_ceil(60)).max(1);
    let text = format!(
        "Ringbook: reply Y {code} to confirm ordering {} from {} at {} (shared by {friend_phone}). \
         Valid {minutes} min; any other reply cancels.",
        service.name,
        service.provider,
        price(service)
    );
    if let Err(e) = state
        .sms
        .send_about(
            orderer.as_str(),
            &text,
            "service_confirmation",
            Some(format!("order:{}", order.id)),
        )
        .await
    {
        tracing::warn!(error = %e, order = order.id, "confirmation SMS failed");
        state
            .core
            .store
            .decide_order(
                order.id,
                "refused",
                Some("sms_failed"),
                "the confirmation SMS could not be sent",
                now_ms(),
            )
            .await?;
        return Err(ApiError::Upstream {
            code: "sms_failed",
            message: "the confirmation SMS could not be sent; try again in a few minutes".into(),
        });
    }
    // The code travels only by SMS to the orderer's phone: echoing it here would let
    // whoever holds the session confirm without the phone, and the confirmation prove nothing.
    let message = format!(
        "We sent an SMS to your phone: reply to it as it says to confirm {} within {minutes} min.",
        service.name
    );
    state
        .core
        .store
        .set_order_awaiting(
            order.id,
            &code_hash(state, order.id, &code),
            now + ttl_ms,
            &message,
        )
        .await?;
    Ok(state
        .core
        .store
        .order_by_id(order.id)
        .await?
        .unwrap_or_else(|| order.clone()))
}

/// A delivery report said the confirmation SMS of `order_id` will not reach the orderer: the
/// order cannot be confirmed, so it is refused now (and both people told) rather than expire.
pub(crate) async fn confirmation_sms_failed(state: &AppState, order_id: i64) -> ApiResult<()> {
    let Some(o) = state.core.store.order_by_id(order_id).await? else {
        return Ok(());
    };
    if o.state != "pending" {
        return Ok(());
    }
    let service = service_info(platform(state), &o.service_id).await;
    let msg = format!(
        "{} was not ordered: the confirmation SMS could not be delivered to your phone.",
        service.name
    );
    finish(state, &o, "refused", Some("sms_undelivered"), &msg).await?;
    Ok(())
}

/// Decides a pending order and tells both people. `None` when it was already decided.
async fn finish(
    state: &AppState,
    order: &OrderRow,
    st: &str,
    reason: Option<&str>,
    message: &str,
) -> ApiResult<Option<OrderRow>> {
    let Some(decided) = state
        .core
        .store
        .decide_order(order.id, st, reason, message, now_ms())
        .await?
    else {
        return Ok(None);
    };
    tracing::info!(
        order = decided.id,
        state = st,
        reason,
        "service order decided"
    );
    notify(state, &decided).await;
    Ok(Some(decided))
}

/// The two outcome notices: to the orderer from the friend, to the friend from the orderer, so
/// each lands in their conversation. A failed notice is logged; the order stands.
async fn notify(state: &AppState, o: &OrderRow) {
    let users = (
        state.core.store.user_by_id(o.orderer_id).await,
        state.core.store.user_by_id(o.friend_id).await,
    );
    let (Ok(Some(orderer)), Ok(Some(friend))) = users else {
        tracing::warn!(order = o.id, "order notice skipped: a party is gone");
        return;
    };
    let orderer_phone = PhoneNumber::from_e164_unchecked(orderer.phone.clone());
    let friend_phone = PhoneNumber::from_e164_unchecked(friend.phone.clone());
    let ordered = o.state == "ordered";
    let to_orderer = if ordered {
        format!(
            "Service order #{}: ordered '{}' from {}'s share. {}",
            o.id, o.service_id, friend.phone, o.message
        )
    } else {
        format!(
            "Service order #{}: '{}' (shared by {}) was not ordered. {}",
            o.id, o.service_id, friend.phone, o.message
        )
    };
    let to_friend = if ordered {
        format!(
            "{} ordered '{}' through your share (order #{}).",
            orderer.phone, o.service_id, o.id
        )
    } else {
        format!(
            "{} tried to order '{}' through your share, but it was not ordered ({}).",
            orderer.phone,
            o.service_id,
            o.reason.as_deref().unwrap_or("refused")
        )
    };
    let client_msg_id = format!("service-order-{}", o.id);
    let now = now_ms();
    for (sender_id, sender, to, body) in [
        (friend.id, &friend_phone, &orderer_phone, to_orderer),
        (orderer.id, &orderer_phone, &friend_phone, to_friend),
    ] {
        let out = Outgoing {
            sender_id,
            sender_phone: sender,
            to,
            client_msg_id: &client_msg_id,
            kind: "notice",
            body: &body,
            sent_at: now,
        };
        if let Err(e) = messaging::deliver(state, out).await {
            tracing::warn!(order = o.id, error = %e, "order notice failed");
        }
    }
}

/// `GET /v1/services/orders`: the caller's newest orders.
pub async fn list(State(state): State<AppState>, session: Session) -> ApiResult<Json<Orders>> {
    let mut orders = Vec::new();
    for o in state.core.store.orders_of(session.user_id, 50).await? {
        orders.push(view(&state, &o).await?);
    }
    Ok(Json(Orders { orders }))
}

/// `GET /v1/services/orders/{id}`: one of the caller's orders.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderView>> {
    // Read by hand so that a malformed id gets our JSON error, not axum's plain-text 400.
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_order_id", "an order id is a whole number"))?;
    match state.core.store.order_by_id(id).await? {
        Some(o) if o.orderer_id == session.user_id => Ok(Json(view(&state, &o).await?)),
        _ => Err(ApiError::not_found(
            "unknown_order",
            format!("you have no order #{id}; see `ringbook services orders`"),
        )),
    }
}

/// What a confirmation reply says.
struct Reply {
    yes: bool,
    code: Option<String>,
}

fn parse_reply(text: &str) -> Reply {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let yes = matches!(words.first().map(String::as_str), Some("Y" | "YES"));
    let code = words
        .iter()
        .find(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
        .cloned();
    Reply { yes, code }
}

/// A mobile-originated SMS: claims it when its sender has orders awaiting (or recently past) a
/// confirmation, and answers with the reply SMS text.
pub async fn handle_mo_sms(
    state: &AppState,
    from: &PhoneNumber,
    text: &str,
) -> ApiResult<Option<String>> {
    let Some(user) = state.core.store.user_by_phone(from.as_str()).await? else {
        return Ok(None);
    };
    let now = now_ms();
    let orders = state
        .core
        .store
        .confirmable_orders_of(user.id, now - REPEAT_WINDOW_MS)
        .await?;
    if orders.is_empty() {
        return Ok(None);
    }
    let reply = parse_reply(text);
    let matched = reply.code.as_deref().and_then(|code| {
        orders.iter().find(|o| {
            o.code_hash.as_deref().is_some_and(|h| {
                bool::from(h.as_bytes().ct_eq(code_hash(state, o.id, code).as_bytes()))
            })
        })
    });
    let p = platform(state);
    match matched {
        Some(o) if o.state != "pending" => Ok(Some(match (o.state.as_str(), o.reason.as_deref()) {
            ("ordered", _) => format!("Ringbook: order #{} is already confirmed; nothing more was done.", o.id),
            (_, Some("expired")) => format!("Ringbook: your reply came too late; order #{} was cancelled. Order again in the app.", o.id),
            _ => format!("Ringbook: order #{} was already cancelled; nothing was done.", o.id),
        })),
        Some(o) if o.expires_at.is_some_and(|e| now > e) => {
            let service = service_info(p, &o.service_id).await;
            let msg = format!("{} was not ordered: the confirmation came after it expired.", service.name);
            finish(state, o, "refused", Some("expired"), &msg).await?;
            Ok(Some(format!("Ringbook: your reply came too late; {} was not ordered. Order again in the app.", service.name)))
        }
        Some(o) if !reply.yes => {
            let service = service_info(p, &o.service_id).await;
            finish(state, o, "refused", Some("declined"), &format!("{} was not ordered: you declined.", service.name)).await?;
            Ok(Some(format!("Ringbook: cancelled; {} was not ordered.", service.name)))
        }
        Some(o) => {
            let service = service_info(p, &o.service_id).await;
            let order = PlatformOrder {
                phone: from.to_string(),
                service_id: o.service_id.clone(),
                confirmed: true,
                reference: o.id.to_string(),
            };
            let decision = match p.order(&order).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, order = o.id, "platform failed on a confirmation");
                    return Ok(Some(
                        "Ringbook: the service platform is not answering; send the same reply again in a few minutes.".into(),
                    ));
                }
            };
            let (st, reason, msg) = outcome(&decision, &service);
            match finish(state, o, st, reason.as_deref(), &msg).await? {
                Some(d) if d.state == "ordered" => Ok(Some(format!("Ringbook: confirmed. {msg}"))),
                Some(_) => Ok(Some(format!("Ringbook: {msg}"))),
                // Decided meanwhile by the same reply sent twice.
                None => Ok(Some(format!("Ringbook: order #{} is already decided; nothing more was done.", o.id))),
            }
        }
        None => {
            let pending: Vec<&OrderRow> = orders.iter().filter(|o| o.state == "pending").collect();
            if pending.is_empty() {
                // Not a reply to anything open: leave it to others.
                return Ok(None);
            }
            let mut names = Vec::new();
            for o in pending {
                let service = service_info(p, &o.service_id).await;
                let msg = format!("{} was not ordered: the reply did not match the confirmation.", service.name);
                if finish(state, o, "refused", Some("wrong_reply"), &msg).await?.is_some() {
                    names.push(service.name);
                }
            }
            Ok(Some(format!(
                "Ringbook: that reply did not match; cancelled: {}. Order again in the app.",
                names.join(", ")
            )))
        }
    }
}

/// Refuses (and announces) pending orders whose confirmation window closed.
pub async fn expire_overdue(state: &AppState) -> ApiResult<()> {
    let overdue = state.core.store.expired_orders(now_ms(), 200).await?;
    if overdue.is_empty() {
        return Ok(());
    }
    let p = platform(state);
    for o in overdue {
        let service = service_info(p, &o.service_id).await;
        if o.code_hash.is_some() {
            let msg = format!(
                "{} was not ordered: no confirmation arrived in time.",
                service.name
            );
            finish(state, &o, "refused", Some("expired"), &msg).await?;
        } else {
            let msg = format!(
                "{} was not ordered: the service platform did not answer.",
                service.name
            );
            finish(state, &o, "refused", Some("unavailable"), &msg).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_leniently_but_need_the_code() {
        let r = parse_reply(" y 0421 ");
        assert!(r.yes);
        assert_eq!(r.code.as_deref(), Some("0421"));
        let r = parse_reply("YES,0421");
        assert!(r.yes && r.code.as_deref() == Some("0421"));
        let r = parse_reply("N 0421");
        assert!(!r.yes && r.code.as_deref() == Some("0421"));
        let r = parse_reply("Y");
        assert!(r.yes && r.code.is_none());
        let r = parse_reply("ok 12345");
        assert!(!r.yes && r.code.is_none());
    }
}
