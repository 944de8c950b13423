//! Developer-mode pushes (OA-3).
//!
//! A follower's message or follow/unfollow event is stored, then a push row is written in the
//! same request (`oa_pushes`, state `pending`). The worker started by [`crate::run`] polls for due
//! pushes, claims each with a lease (so two workers or nodes never send the same attempt), and
//! POSTs the XML to the account's callback URL signed in the query string. A failed attempt is
//! retried `push_retries` times with doubling delays; the MsgId stays the same so receivers
//! dedupe. Pending rows live in the database, so retries survive a restart.
//!
//! Every request to a callback (handshake and pushes) resolves the host, refuses every address
//! that is not global unicast ([`crate::ssrf`]) unless `official.allow_private_callbacks` is set, and pins
//! the connection to the checked address (no DNS rebinding between check and use); redirects are
//! not followed.

use crate::error::{ApiError, ApiResult};
use crate::state::{now_ms, AppState};
use crate::workers::StopSignal;
use reqwest::Url;
use ringbook_proto::official::{push as xml, OfficialMessage};
use ringbook_proto::ws::ServerFrame;
use ringbook_store::official::{OaAccountRow, OaInboundRow, OaPushRow};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Builds the push document for an inbound message or event.
pub fn push_xml(account: &str, open_id: &str, inbound: &OaInboundRow) -> String {
    let mut el: Vec<(&str, String)> = vec![
        ("ToUserName", account.to_string()),
        ("FromUserName", open_id.to_string()),
        ("CreateTime", inbound.create_time.to_string()),
        ("MsgType", inbound.msg_type.clone()),
    ];
    match inbound.msg_type.as_str() {
        "event" => el.push(("Event", inbound.event.clone().unwrap_or_default())),
        "text" => el.push(("Content", inbound.content.clone())),
        "image" => {
            el.push(("PicUrl", inbound.content.clone()));
            el.push(("MediaId", inbound.content.clone()));
        }
        "voice" => {
            el.push(("MediaId", inbound.content.clone()));
            el.push(("Format", "amr".into()));
        }
        _ => {
            el.push(("MediaId", inbound.content.clone()));
            el.push(("ThumbMediaId", String::new()));
        }
    }
    el.push(("MsgId", inbound.id.to_string()));
    xml::encode(&el)
}

/// Whether an address is one a callback must not reach unless private callbacks are allowed:
/// anything but global unicast (see [`crate::ssrf`]).
pub fn is_private(ip: IpAddr) -> bool {
    !crate::ssrf::is_global(ip)
}

/// A callback URL checked against SSRF: the parsed URL and the address to connect to.
pub struct CheckedUrl {
    pub url: Url,
    pub host: String,
    pub addr: SocketAddr,
}

/// Parses and checks a callback URL; the error is meant for the account owner.
pub async fn check_url(raw: &str, allow_private: bool) -> ApiResult<CheckedUrl> {
    let url = Url::parse(raw).map_err(|_| {
        ApiError::bad_request(
            "invalid_callback_url",
            "the callback URL is not a valid URL",
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::bad_request(
            "invalid_callback_url",
            "the callback URL must use http or https",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::bad_request(
            "invalid_callback_url",
            "do not put credentials in the callback URL; the third party keeps them in its own config",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| {
            ApiError::bad_request("invalid_callback_url", "the callback URL has no host")
        })?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| {
            ApiError::bad_request(
                "callback_unresolvable",
                format!("cannot resolve the callback host {host}"),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ApiError::bad_request(
            "callback_unresolvable",
            format!("the callback host {host} has no address"),
        ));
    }
    if !allow_private {
        // The message never names the address: it would tell the account owner what the
        // server's own resolver answers for internal names.
        if addrs.iter().any(|a| is_private(a.ip())) {
            return Err(ApiError::forbidden(
                "callback_private_address",
                "the callback host resolves to a loopback, private or special-purpose address; \
                 use a public address, or set official.allow_private_callbacks on this server",
            ));
        }
    }
    Ok(CheckedUrl {
        url,
        host,
        addr: addrs[0],
    })
}

fn http_client(checked: &CheckedUrl, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&checked.host, checked.addr)
        .build()
}

/// HTTP clients for pushes, one per (host, checked address), so pushes to one developer reuse
/// connections instead of building a client (TLS set-up included) and a connection per push.
/// The key holds the address the URL check approved, so a cached client can only ever connect
/// there; a host that now resolves elsewhere gets a new client after a new check.
#[derive(Default)]
pub struct PushClients {
    clients: std::sync::Mutex<std::collections::HashMap<(String, SocketAddr), reqwest::Client>>,
}

/// Cached clients kept at most; past that the cache starts again (old connections close).
const MAX_PUSH_CLIENTS: usize = 1024;

impl PushClients {
    fn get(
        &self,
        checked: &CheckedUrl,
        timeout: Duration,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let key = (checked.host.clone(), checked.addr);
        // The map is only touched briefly and never left half-updated, so poison is harmless.
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = http_client(checked, timeout)?;
        if clients.len() >= MAX_PUSH_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// Adds `signature`, `timestamp`, `nonce` (and more) to the URL's query.
fn signed_url(base: &Url, token: &str, extra: &[(&str, &str)]) -> Url {
    let timestamp = (now_ms() / 1000).to_string();
    let nonce = format!("{}", rand::random::<u32>());
    let sig = xml::signature(token, &timestamp, &nonce);
    let mut url = base.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("signature", &sig)
            .append_pair("timestamp", &timestamp)
            .append_pair("nonce", &nonce);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url
}

/// The URL-verification handshake: GET with `echostr`; the receiver must echo it.
pub async fn handshake(state: &AppState, raw_url: &str, token: &str) -> ApiResult<()> {
    let cfg = &state.config.official;
    let checked = check_url(raw_url, cfg.allow_private_callbacks).await?;
    let echostr = format!("{}", rand::random::<u64>());
    let url = signed_url(&checked.url, token, &[("echostr", &echostr)]);
    let client = http_client(&checked, Duration::from_secs(cfg.push_timeout_secs))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| ApiError::Upstream {
            code: "callback_unreachable",
            message: format!(
                "the callback URL did not answer the verification request: {}",
                short(&e)
            ),
        })?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() || body.trim() != echostr {
        return Err(ApiError::Upstream {
            code: "callback_verification_failed",
            message: format!(
                "the callback answered HTTP {} without echoing echostr; check the URL and that the token matches",
                status.as_u16()
            ),
        });
    }
    Ok(())
}

/// Without the URL: it carries the signature and whatever the owner put in it.
fn short(e: &reqwest::Error) -> String {
    crate::error::outbound_http(e)
}

/// Delivers due pushes until the task is aborted: woken by a new push or every `poll_ms` (for
/// retries coming due and pushes written by other nodes), and looking again at once while it
/// finds a full page, so a burst drains at the speed of the callbacks, `push_concurrency`
/// attempts at a time.
pub async fn worker(state: AppState, mut stop: StopSignal) {
    let poll = Duration::from_millis(state.config.official.poll_ms.max(10));
    // A claim is never cut short: the stop is seen between passes.
    while !stop.is_stopped() {
        match run_due(&state).await {
            // As many as there was room for: there may be more due at once.
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "official push worker"),
        }
        // A notification sent while we were busy is kept, so no new push waits a whole poll.
        tokio::select! {
            _ = tokio::time::timeout(poll, state.official.new_push.notified()) => {}
            _ = stop.stopped() => {}
        }
    }
    // Attempts in flight end within `push_timeout_secs`; wait for them, so a push the
    // developer got is also recorded as delivered.
    let all = u32::try_from(state.config.official.push_concurrency.max(1)).unwrap_or(u32::MAX);
    let _ = state.official.in_flight.acquire_many(all).await;
}

/// Due pushes read per look.
const DUE_PAGE: usize = 32;

/// Claims and starts the due pushes (at most [`DUE_PAGE`], and no more than there are free
/// slots under `push_concurrency`, so a claimed push never waits out its lease); `true` when it
/// filled all the room it had, so more may be due.
async fn run_due(state: &AppState) -> ApiResult<bool> {
    let slots = &state.official.in_flight;
    // Waits while `push_concurrency` attempts are in flight.
    let Ok(first) = slots.clone().acquire_owned().await else {
        return Ok(false);
    };
    let room = 1 + slots.available_permits().min(DUE_PAGE - 1);
    let now = now_ms();
    let lease = now + (state.config.official.push_timeout_secs as i64 + 10) * 1000;
    let claimed = state
        .core
        .store
        .oa_claim_due_pushes(now, lease, room as i64)
        .await?;
    let more = claimed.len() == room;
    let mut first = Some(first);
    for push in claimed {
        // Only this worker takes slots, so the ones counted above are still free.
        let permit = match first.take() {
            Some(p) => p,
            None => match slots.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let st = state.clone();
        tokio::spawn(async move {
            let id = push.id;
            let result = attempt(&st, push).await;
            drop(permit);
            if let Err(e) = result {
                tracing::warn!(push = id, error = %e, "push attempt bookkeeping failed");
            }
            // A finished attempt may unblock the follower's next push.
            st.official.new_push.notify_one();
        });
    }
    Ok(more)
}

/// The account's callback token in clear. It is stored sealed under the master key; a token
/// an earlier version stored in plain is sealed in place on first use.
async fn callback_token(
    state: &AppState,
    account_id: i64,
    url: &str,
    stored: &str,
) -> ApiResult<String> {
    if !crate::keys::Keys::is_sealed(stored) {
        let sealed = state.core.keys.encrypt(stored.as_bytes());
        state
            .core
            .store
            .oa_set_callback(account_id, Some((url, &sealed)))
            .await?;
        return Ok(stored.to_string());
    }
    let plain = state
        .core
        .keys
        .decrypt(stored)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("an account's callback token: {e}")))?;
    String::from_utf8(plain)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("an account's callback token: {e}")))
}

/// One delivery attempt of a claimed push (`attempts` counts this one).
async fn attempt(state: &AppState, push: OaPushRow) -> ApiResult<()> {
    let cfg = &state.config.official;
    let account = state.core.store.oa_account_by_id(push.account_id).await?;
    let target = account.as_ref().and_then(|a| {
        Some((a.callback_url.clone()?, a.callback_token.clone()?)).filter(|_| a.developer_mode)
    });
    let Some((url, token)) = target else {
        state
            .core
            .store
            .oa_push_outcome(
                push.id,
                "failed",
                push.next_at,
                Some("developer mode is off"),
                now_ms(),
            )
            .await?;
        return Ok(());
    };
    let token = callback_token(state, push.account_id, &url, &token).await?;
    let result = send_once(state, &url, &token, &push.xml).await;
    let now = now_ms();
    match result {
        Ok(reply) => {
            state
                .core
                .store
                .oa_push_outcome(push.id, "delivered", now, None, now)
                .await?;
            tracing::debug!(push = push.id, "push delivered");
            if let (Some(account), Some(reply)) = (account, reply) {
                passive_reply(state, &account, push.user_id, &reply).await?;
            }
        }
        Err(err) => {
            let retries_done = push.attempts - 1;
            if retries_done >= i64::from(cfg.push_retries) {
                tracing::warn!(push = push.id, attempts = push.attempts, error = %err, "push failed for good");
                state
                    .core
                    .store
                    .oa_push_outcome(push.id, "failed", now, Some(&err), now)
                    .await?;
            } else {
                let delay = cfg
                    .retry_delay_ms
                    .saturating_mul(1u64 << retries_done.clamp(0, 16))
                    as i64;
                tracing::info!(push = push.id, attempt = push.attempts, retry_in_ms = delay, error = %err, "push failed; will retry");
                state
                    .core
                    .store
                    .oa_push_outcome(push.id, "pending", now + delay, Some(&err), now)
                    .await?;
            }
        }
    }
    Ok(())
}

/// POSTs the XML; `Ok(Some(body))` when the receiver answered with a passive reply document.
async fn send_once(
    state: &AppState,
    url: &str,
    token: &str,
    doc: &str,
) -> Result<Option<String>, String> {
    let cfg = &state.config.official;
    let checked = check_url(url, cfg.allow_private_callbacks)
        .await
        .map_err(|e| e.to_string())?;
    let client = state
        .official
        .clients
        .get(&checked, Duration::from_secs(cfg.push_timeout_secs))
        .map_err(|e| e.to_string())?;
    let resp = client
        .post(signed_url(&checked.url, token, &[]))
        .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .body(doc.to_string())
        .send()
        .await
        .map_err(|e| short(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body = resp.text().await.map_err(|e| short(&e))?;
    let body = body.trim();
    Ok((!body.is_empty() && body != "success" && body.contains("<xml>")).then(|| body.to_string()))
}

/// A passive reply reaches the follower as the account's message.
async fn passive_reply(
    state: &AppState,
    account: &OaAccountRow,
    user_id: i64,
    doc: &str,
) -> ApiResult<()> {
    let Ok(fields) = xml::parse(doc) else {
        tracing::info!(account = %account.name, "ignored a passive reply that is not valid XML");
        return Ok(());
    };
    let kind = fields.get("MsgType").map(String::as_str).unwrap_or("text");
    let body = match kind {
        "text" => fields.get("Content").cloned(),
        "image" | "voice" | "video" => fields.get("MediaId").cloned(),
        _ => None,
    };
    let Some(body) = body.filter(|b| !b.is_empty()) else {
        return Ok(());
    };
    send_to_follower(state, account, user_id, kind, &body).await?;
    Ok(())
}

/// Stores an account → follower message and pushes it to the follower's devices.
pub async fn send_to_follower(
    state: &AppState,
    account: &OaAccountRow,
    user_id: i64,
    kind: &str,
    body: &str,
) -> ApiResult<OfficialMessage> {
    let row = state
        .core
        .store
        .oa_add_outbound(account.id, user_id, kind, body, now_ms())
        .await?;
    let msg = OfficialMessage {
        id: row.id,
        account: account.name.clone(),
        kind: row.kind,
        body: row.body,
        sent_at: row.sent_at,
    };
    state
        .core
        .hub
        .send_to_user(user_id, ServerFrame::OfficialMessage(msg.clone()));
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
