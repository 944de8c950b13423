//! The account owner's console (OA-4, platform side) and the direct API.
//!
//! Login with the account name and console password sets an `HttpOnly`, `SameSite=Strict`
//! session cookie (stored hashed) and returns a CSRF token that every console POST must carry
//! (`X-CSRF-Token` header or `csrf` form field). Failed logins are counted per account name and
//! per client address in the database; past the limit the console answers 429.
//!
//! Pages answer HTML to browsers and JSON to programs (`Accept: application/json` or
//! `?format=json`): followers (FakeIDs), a follower's information page (openID ↔ FakeID), the
//! message page (create time ↔ FakeID) and a follower's information by FakeID, limited to the
//! fields the follower allows.

use super::accounts;
use super::fields;
use crate::error::{ApiError, ApiResult};
use crate::extract::{token_hash, ApiQuery, ClientAddr};
use crate::state::{now_ms, AppState};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::Engine;
use ringbook_proto::official::*;
use ringbook_store::official::OaAccountRow;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

const COOKIE_NAME: &str = "rb_console";

/// A logged-in console session.
pub struct ConsoleSession {
    pub account: OaAccountRow,
    pub csrf: String,
    token_hash: String,
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';').find_map(|kv| {
                kv.trim()
                    .strip_prefix(&format!("{COOKIE_NAME}="))
                    .map(str::to_string)
            })
        })
}

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let missing = || {
            ApiError::unauthorized(
                "console_login_required",
                "log in to the console first: POST /console/login",
            )
        };
        let token = cookie_token(&parts.headers).ok_or_else(missing)?;
        let hash = token_hash(&token);
        let (account_id, csrf) = state
            .core
            .store
            .oa_console_session(&hash, now_ms())
            .await?
            .ok_or_else(missing)?;
        let account = state
            .core
            .store
            .oa_account_by_id(account_id)
            .await?
            .ok_or_else(missing)?;
        Ok(ConsoleSession {
            account,
            csrf,
            token_hash: hash,
        })
    }
}

fn wants_json(headers: &HeaderMap, format: Option<&str>) -> bool {
    format == Some("json")
        || headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t} · Ringbook console</title></head>\
         <body><h1>{t}</h1><nav><a href=\"/console/followers\">Followers</a> · <a href=\"/console/messages\">Messages</a></nav>{body}</body></html>",
        t = esc(title)
    ))
    .into_response()
}

fn render<T: Serialize>(
    json: bool,
    value: &T,
    title: &str,
    html: impl FnOnce() -> String,
) -> Response {
    if json {
        Json(value).into_response()
    } else {
        page(title, &html())
    }
}

#[derive(Deserialize, Default)]
pub struct FormatQuery {
    format: Option<String>,
    create_time: Option<i64>,
    limit: Option<i64>,
}

/// GET /console — the login form.
pub async fn index() -> Response {
    page(
        "Official account console",
        "<form method=\"post\" action=\"/console/login\"><label>Account <input name=\"account\"></label> \
         <label>Password <input type=\"password\" name=\"password\"></label> <button>Log in</button></form>",
    )
}

/// Refuses when a key already has too many recent failures.
async fn check_limit(state: &AppState, keys: &[String]) -> ApiResult<()> {
    let cfg = &state.config.official;
    let window_start = now_ms() - cfg.login_window_secs as i64 * 1000;
    for key in keys {
        if state
            .core
            .store
            .oa_login_failures(key, window_start)
            .await?
            >= cfg.login_failures_per_window
        {
            return Err(ApiError::rate_limited(
                "too_many_login_failures",
                "too many failed logins for this account or address; wait and try again",
                cfg.login_window_secs,
            ));
        }
    }
    Ok(())
}

async fn record_failure(state: &AppState, keys: &[String]) -> ApiResult<()> {
    let now = now_ms();
    let window_start = now - state.config.official.login_window_secs as i64 * 1000;
    for key in keys {
        state
            .core
            .store
            .oa_record_login_failure(key, window_start, now)
            .await?;
    }
    Ok(())
}

/// The password pool's key for an account: one argon2 run at a time per account.
pub fn password_key(account: &str) -> String {
    format!("oa:{account}")
}

/// Checks account credentials under the rate limit.
pub async fn authenticate(
    state: &AppState,
    addr: &ClientAddr,
    name: &str,
    password: &str,
) -> ApiResult<OaAccountRow> {
    let keys = vec![format!("acct:{name}"), format!("addr:{}", addr.ip)];
    check_limit(state, &keys).await?;
    let account = state.core.store.oa_account_by_name(name).await?;
    let ok = match &account {
        Some(a) => {
            state
                .core
                .passwords
                .verify(
                    &password_key(name),
                    password.to_string(),
                    a.password_hash.clone(),
                )
                .await?
        }
        None => false,
    };
    match account {
        Some(a) if ok => Ok(a),
        _ => {
            record_failure(state, &keys).await?;
            Err(ApiError::unauthorized(
                "wrong_credentials",
                "wrong account name or password",
            ))
        }
    }
}

fn is_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn parse_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> ApiResult<T> {
    if is_json_body(headers) {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                "invalid_body",
                format!("the body does not fit this request: {e}"),
            )
        })
    } else {
        serde_urlencoded::from_bytes(body).map_err(|e| {
            ApiError::bad_request(
                "invalid_body",
                format!("the form does not fit this request: {e}"),
            )
        })
    }
}

/// POST /console/login — JSON `{account, password}` or a form.
pub async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let req: ConsoleLoginRequest = parse_body(&headers, &body)?;
    let account = authenticate(&state, &addr, &req.account, &req.password).await?;
    let token = crate::official::push_token();
    let csrf = crate::official::push_token();
    let secs = state.config.official.console_session_secs;
    state
        .core
        .store
        .oa_create_console_session(
            &token_hash(&token),
            account.id,
            &csrf,
            now_ms() + secs as i64 * 1000,
        )
        .await?;
    let cookie =
        format!("{COOKIE_NAME}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={secs}");
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.into()))?;
    let mut resp = if is_json_body(&headers) {
        Json(ConsoleLoginResponse {
            account: account.name,
            csrf_token: csrf,
        })
        .into_response()
    } else {
        let mut r = StatusCode::SEE_OTHER.into_response();
        r.headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/console/followers"));
        r
    };
    resp.headers_mut().insert(SET_COOKIE, cookie);
    Ok(resp)
}

fn check_csrf(
    session: &ConsoleSession,
    headers: &HeaderMap,
    form_csrf: Option<&str>,
) -> ApiResult<()> {
    let given = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .or(form_csrf)
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(session.csrf.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "csrf_failed",
            "missing or wrong CSRF token; reload the console page",
        ))
    }
}

#[derive(Deserialize, Default)]
struct CsrfForm {
    csrf: Option<String>,
}

/// POST /console/logout
pub async fn logout(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: CsrfForm = if is_json_body(&headers) || body.is_empty() {
        CsrfForm::default()
    } else {
        parse_body(&headers, &body)?
    };
    check_csrf(&session, &headers, form.csrf.as_deref())?;
    state
        .core
        .store
        .oa_delete_console_session(&session.token_hash)
        .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static(
            "rb_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(r)
}

/// GET /console/followers
pub async fn followers(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let list: Vec<ConsoleFollower> = state
        .core
        .store
        .oa_followers(session.account.id)
        .await?
        .into_iter()
        .map(|f| ConsoleFollower {
            fake_id: f.fake_id,
            followed_at: f.followed_at,
        })
        .collect();
    let csrf = esc(&session.csrf);
    Ok(render(
        wants_json(&headers, q.format.as_deref()),
        &list,
        &format!("Followers of {}", session.account.name),
        || {
            let rows: String = list
                .iter()
                .map(|f| {
                    format!(
                        "<tr><td><a href=\"/console/followers/{0}\">{0}</a></td><td>{1}</td></tr>",
                        esc(&f.fake_id),
                        f.followed_at
                    )
                })
                .collect();
            format!(
            "<table><tr><th>FakeID</th><th>Followed at (ms)</th></tr>{rows}</table>\
             <h2>Send to all followers</h2><form method=\"post\" action=\"/console/send\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input name=\"body\"> <button>Send</button></form>"
        )
        },
    ))
}

async fn follower_by_fake(
    state: &AppState,
    session: &ConsoleSession,
    fake_id: &str,
) -> ApiResult<ringbook_store::official::OaFollowerRow> {
    state
        .core
        .store
        .oa_follower_by_fake_id(session.account.id, fake_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "no_such_follower",
                "this account has no follower with that FakeID",
            )
        })
}

/// GET /console/followers/{fake_id} — the follower's information page (openID ↔ FakeID).
pub async fn follower_page(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(fake_id): Path<String>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let f = follower_by_fake(&state, &session, &fake_id).await?;
    let pageinfo = ConsoleFollowerPage {
        fake_id: f.fake_id,
        open_id: f.open_id,
        followed_at: f.followed_at,
    };
    Ok(render(
        wants_json(&headers, q.format.as_deref()),
        &pageinfo,
        "Follower",
        || {
            format!(
            "<dl><dt>FakeID</dt><dd>{}</dd><dt>openID</dt><dd>{}</dd></dl><p><a href=\"/console/users/{}\">Information</a></p>",
            esc(&pageinfo.fake_id),
            esc(&pageinfo.open_id),
            esc(&pageinfo.fake_id)
        )
        },
    ))
}

/// GET /console/messages[?create_time=SECS] — the message page (create time ↔ FakeID).
pub async fn messages(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let rows = state
        .core
        .store
        .oa_message_page(
            session.account.id,
            q.create_time.filter(|t| *t > 0),
            q.limit.unwrap_or(200).clamp(1, 1000),
        )
        .await?;
    let list: Vec<ConsoleMessage> = rows
        .into_iter()
        .map(|r| ConsoleMessage {
            create_time: r.inbound.create_time,
            fake_id: r.fake_id,
            msg_type: r.inbound.msg_type,
            content: r.inbound.content,
        })
        .collect();
    Ok(render(
        wants_json(&headers, q.format.as_deref()),
        &list,
        "Messages",
        || {
            let rows: String = list
            .iter()
            .map(|m| {
                format!(
                    "<tr><td>{}</td><td><a href=\"/console/users/{1}\">{1}</a></td><td>{2}</td><td>{3}</td></tr>",
                    m.create_time,
                    esc(&m.fake_id),
                    esc(&m.msg_type),
                    esc(&m.content)
                )
            })
            .collect();
            format!("<table><tr><th>Create time</th><th>FakeID</th><th>Type</th><th>Content</th></tr>{rows}</table>")
        },
    ))
}

/// GET /console/users/{fake_id} — a follower's information, limited to what the follower allows.
pub async fn user_info(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    Path(fake_id): Path<String>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let f = follower_by_fake(&state, &session, &fake_id).await?;
    let info = FollowerInfo {
        fake_id: f.fake_id,
        open_id: None,
        fields: fields::visible_fields(&state, f.user_id).await?,
    };
    tracing::info!(account = %session.account.name, fake_id = %info.fake_id, fields = ?info.fields.keys().collect::<Vec<_>>(), "follower information disclosed");
    Ok(render(
        wants_json(&headers, q.format.as_deref()),
        &info,
        "Follower information",
        || {
            let rows: String = info
                .fields
                .iter()
                .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)))
                .collect();
            format!("<p>FakeID {}</p><dl>{rows}</dl>", esc(&info.fake_id))
        },
    ))
}

#[derive(Deserialize)]
struct SendForm {
    csrf: Option<String>,
    #[serde(default = "text")]
    kind: String,
    body: String,
    to_fake_id: Option<String>,
}

fn text() -> String {
    "text".into()
}

/// POST /console/send — to one follower (`to_fake_id`) or all of them.
pub async fn send(
    State(state): State<AppState>,
    session: ConsoleSession,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form: SendForm = parse_body(&headers, &body)?;
    check_csrf(&session, &headers, form.csrf.as_deref())?;
    let req = AccountSendRequest {
        kind: form.kind,
        body: form.body,
        to_fake_id: form.to_fake_id.filter(|s| !s.is_empty()),
    };
    let result = accounts::account_send(&state, &session.account, &req).await?;
    Ok(render(
        wants_json(&headers, None) || is_json_body(&headers),
        &result,
        "Sent",
        || {
            format!(
                "<p>Sent to {} of {} followers.</p>",
                result.sent, result.total
            )
        },
    ))
}

/// GET /v1/official/api/{name}/followers/{open_id} — HTTP Basic with the account's credentials.
pub async fn api_follower(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Path((name, open_id)): Path<(String, String)>,
) -> ApiResult<Json<FollowerInfo>> {
    let creds = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, p)| (a.to_string(), p.to_string()))
        })
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_credentials",
                "send the account name and password with HTTP Basic",
            )
        })?;
    if creds.0 != name {
        return Err(ApiError::forbidden(
            "wrong_account",
            "these credentials are for another account",
        ));
    }
    let account = authenticate(&state, &addr, &creds.0, &creds.1).await?;
    let f = state
        .core
        .store
        .oa_follower_by_open_id(account.id, &open_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "no_such_follower",
                "this account has no follower with that openID",
            )
        })?;
    Ok(Json(FollowerInfo {
        fake_id: f.fake_id,
        open_id: Some(f.open_id),
        fields: fields::visible_fields(&state, f.user_id).await?,
    }))
}
