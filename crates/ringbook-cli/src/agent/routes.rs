//! The agent's HTTP face: `GET /v1/visitor` and its CORS preflight. Every answer names only the
//! asking page's origin and is never cached.

use super::Agent;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

pub(super) fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/v1/visitor", get(visitor).options(preflight))
        .with_state(agent)
}

/// Only `Host: 127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT`: a page on a rebound DNS name
/// reaching this port sends its own name and is refused.
fn host_ok(headers: &HeaderMap, port: u16) -> bool {
    let Some(host) = headers.get("host").and_then(|h| h.to_str().ok()) else {
        return false;
    };
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(host))
}

/// The asking page's origin; only web pages (http or https) may ask.
fn page_origin(headers: &HeaderMap) -> Option<String> {
    let o = headers.get("origin")?.to_str().ok()?;
    (o.starts_with("http://") || o.starts_with("https://")).then(|| o.to_string())
}

/// A JSON answer readable by `origin`'s page only.
fn json_reply(origin: Option<&str>, status: StatusCode, body: serde_json::Value) -> Response {
    let mut resp = (status, Json(body)).into_response();
    let h = resp.headers_mut();
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        h.insert("access-control-allow-origin", o);
        h.insert("vary", HeaderValue::from_static("Origin"));
    }
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}

fn no_visitor(origin: Option<&str>) -> Response {
    json_reply(
        origin,
        StatusCode::OK,
        serde_json::json!({ "visitor": "none" }),
    )
}

async fn preflight(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    if !host_ok(&headers, agent.port) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut resp = json_reply(
        page_origin(&headers).as_deref(),
        StatusCode::NO_CONTENT,
        serde_json::Value::Null,
    );
    *resp.body_mut() = axum::body::Body::empty();
    let h = resp.headers_mut();
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET"),
    );
    // Chrome's Private Network Access: a public page may call this loopback agent.
    h.insert(
        "access-control-allow-private-network",
        HeaderValue::from_static("true"),
    );
    resp
}

async fn visitor(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    if !host_ok(&headers, agent.port) {
        return json_reply(
            None,
            StatusCode::FORBIDDEN,
            serde_json::json!({ "error": "wrong_host", "message": "the agent only answers requests addressed to 127.0.0.1" }),
        );
    }
    let Some(origin) = page_origin(&headers) else {
        return json_reply(
            None,
            StatusCode::FORBIDDEN,
            serde_json::json!({ "error": "no_origin", "message": "only web pages (with an Origin) may ask" }),
        );
    };
    match agent.decide(&origin).await {
        Ok(Some(r)) => json_reply(
            Some(&origin),
            StatusCode::OK,
            serde_json::json!({ "visitor": "token", "token": r.token, "site": r.site_name }),
        ),
        Ok(None) => no_visitor(Some(&origin)),
        Err(e) => {
            // The page learns nothing of the failure; the visitor sees it here.
            eprintln!("agent: {origin}: {e}");
            no_visitor(Some(&origin))
        }
    }
}

#[cfg(test)]
mod tests {
    //! The agent on port 0, asked over raw HTTP as a browser (or an attacker's page) would.
    //! Its Ringbook server is a closed port: every check here happens before the server is
    //! asked, and a server that cannot be reached must tell the page nothing.

    use super::super::{serve, Settings, WhenAsked};
    use futures_util::future::join_all;
    use ringbook_client::Client;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).unwrap()
        }
    }

    /// A running agent; dropped, it stops.
    struct RunningAgent {
        port: u16,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    async fn start_agent() -> RunningAgent {
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let client = Client::new(&server).unwrap().with_token("session");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let settings = Settings::new(
            listener.local_addr().unwrap(),
            WhenAsked::Deny,
            vec!["name".into()],
        )
        .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, client, settings, async {
            let _ = stopped.await;
        }));
        RunningAgent { port, _stop: stop }
    }

    async fn ask(port: u16, method: &str, headers: &[(&str, &str)]) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut req = format!("{method} /v1/visitor HTTP/1.1\r\nConnection: close\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        Reply {
            status: status.parse().unwrap(),
            headers: lines
                .filter_map(|l| l.split_once(": "))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_string(),
        }
    }

    /// DNS rebinding: a page on `evil.example`, resolved to 127.0.0.1, reaches the agent with
    /// its own name as the Host, many times at once; each is refused and gets no CORS grant.
    #[tokio::test]
    async fn a_rebound_host_is_refused_every_time() {
        let agent = start_agent().await;
        let port = agent.port;
        let evil_host = format!("evil.example:{port}");
        let other_port = format!("127.0.0.1:{}", port.wrapping_add(1));
        let hosts = [evil_host.as_str(), other_port.as_str(), "127.0.0.1"];
        let replies = join_all((0..60).map(|i| {
            let host = hosts[i % hosts.len()];
            async move {
                ask(
                    port,
                    "GET",
                    &[("Host", host), ("Origin", "http://evil.example")],
                )
                .await
            }
        }))
        .await;
        for r in &replies {
            assert_eq!(r.status, 403);
            assert_eq!(r.json()["error"], "wrong_host");
            assert_eq!(r.header("access-control-allow-origin"), None);
        }
        let preflight = ask(
            port,
            "OPTIONS",
            &[("Host", &evil_host), ("Origin", "http://evil.example")],
        )
        .await;
        assert_eq!(preflight.status, 403);
        assert_eq!(preflight.header("access-control-allow-origin"), None);
    }

    #[tokio::test]
    async fn only_web_pages_may_ask() {
        let agent = start_agent().await;
        let host = format!("127.0.0.1:{}", agent.port);
        for origin in [
            None,
            Some("null"),
            Some("file://"),
            Some("chrome-extension://x"),
        ] {
            let mut headers = vec![("Host", host.as_str())];
            headers.extend(origin.map(|o| ("Origin", o)));
            let r = ask(agent.port, "GET", &headers).await;
            assert_eq!(r.status, 403, "{origin:?}");
            assert_eq!(r.json()["error"], "no_origin", "{origin:?}");
            assert_eq!(r.header("access-control-allow-origin"), None);
        }
    }

    #[tokio::test]
    async fn the_preflight_grants_the_asking_page_only() {
        let agent = start_agent().await;
        let host = format!("localhost:{}", agent.port);
        let r = ask(
            agent.port,
            "OPTIONS",
            &[("Host", &host), ("Origin", "https://shop.example")],
        )
        .await;
        assert_eq!(r.status, 204);
        assert_eq!(r.body, "");
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://shop.example")
        );
        assert_eq!(r.header("access-control-allow-methods"), Some("GET"));
        assert_eq!(
            r.header("access-control-allow-private-network"),
            Some("true")
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }

    /// The Ringbook server cannot be reached: the page hears `none`, not why.
    #[tokio::test]
    async fn a_failure_tells_the_page_nothing() {
        let agent = start_agent().await;
        let host = format!("[::1]:{}", agent.port);
        let r = ask(
            agent.port,
            "GET",
            &[("Host", &host), ("Origin", "https://shop.example")],
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), serde_json::json!({ "visitor": "none" }));
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://shop.example")
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
}
