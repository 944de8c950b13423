//! Mobile-originated SMS from the SMS gateway (Kannel `sms-service` get-url, or a provider's
//! webhook): `GET|POST /v1/sms/mo?from=…&to=…&text=…`. Each product module that waits for texts
//! gets a look; the first that claims the text answers, and the answer is the reply SMS body
//! (Kannel sends a non-empty response body back to the sender).

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, ClientAddr};
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use subtle::ConstantTimeEq;

#[derive(Deserialize)]
pub struct MoSms {
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub key: Option<String>,
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/sms/mo", get(receive).post(receive))
}

async fn receive(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiQuery(sms): ApiQuery<MoSms>,
) -> ApiResult<String> {
    let cfg = &state.config.sms;
    if !addr.is_in(&cfg.mo_allowed) {
        return Err(ApiError::forbidden(
            "not_sms_gateway",
            "only the SMS gateway may deliver texts here",
        ));
    }
    if let Some(expected) = &cfg.mo_key {
        let given = sms.key.as_deref().unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(ApiError::unauthorized(
                "bad_key",
                "wrong or missing gateway key",
            ));
        }
    }
    let from = crate::identity::parse_phone(&state, &sms.from)?;
    tracing::info!(from = %from, to = %sms.to, "mobile-originated SMS");
    if let Some(reply) = crate::identity::handle_mo_sms(&state, &from, &sms.text).await? {
        return Ok(reply);
    }
    if let Some(reply) = crate::services::handle_mo_sms(&state, &from, &sms.text).await? {
        return Ok(reply);
    }
    // Nobody claimed it: an empty body means no reply SMS.
    Ok(String::new())
}
