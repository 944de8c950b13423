//! The client side of the WebSocket protocol (`docs/protocol.md`).

use crate::{Client, ClientError};
use futures_util::{SinkExt, StreamExt};
use ringbook_proto::ws::{ClientFrame, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Connection {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Opens the WebSocket with this client's session token.
    pub async fn connect(&self) -> Result<Connection, ClientError> {
        let token = self.token().ok_or(ClientError::NotLoggedIn)?;
        let mut url = self.url("/v1/ws")?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|_| ClientError::BadUrl(url.to_string()))?;
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::WebSocket(e.to_string()))?;
        let auth = format!("Bearer {token}")
            .parse()
            .map_err(|_| ClientError::Protocol("token is not a valid header value".into()))?;
        req.headers_mut().insert("authorization", auth);
        let (inner, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(resp) => {
                    let body = resp
                        .body()
                        .as_ref()
                        .and_then(|b| serde_json::from_slice::<ringbook_proto::ErrorBody>(b).ok());
                    match body {
                        Some(body) => ClientError::Api {
                            status: resp.status().as_u16(),
                            body,
                        },
                        None => ClientError::WebSocket(format!("HTTP {}", resp.status())),
                    }
                }
                other => ClientError::WebSocket(other.to_string()),
            })?;
        Ok(Connection { inner })
    }
}

impl Connection {
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let text =
            serde_json::to_string(frame).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.inner
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| ClientError::WebSocket(e.to_string()))
    }

    /// Sends raw text, for tests of malformed input.
    pub async fn send_raw(&mut self, text: &str) -> Result<(), ClientError> {
        self.inner
            .send(Message::Text(text.to_string().into()))
            .await
            .map_err(|e| ClientError::WebSocket(e.to_string()))
    }

    /// The next frame from the server; `None` when the connection closed.
    pub async fn next(&mut self) -> Result<Option<ServerFrame>, ClientError> {
        while let Some(msg) = self.inner.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    return serde_json::from_str(&t)
                        .map(Some)
                        .map_err(|e| ClientError::Protocol(format!("bad frame {t}: {e}")));
                }
                Ok(Message::Close(_)) => return Ok(None),
                Ok(_) => continue,
                Err(e) => return Err(ClientError::WebSocket(e.to_string())),
            }
        }
        Ok(None)
    }

    /// Closes politely without waiting on a peer that is gone (at most one second).
    pub async fn shutdown(&mut self) {
        // Best effort: the connection may already be broken, which is fine when leaving.
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(1), self.inner.close(None)).await;
    }

    pub async fn close(mut self) -> Result<(), ClientError> {
        self.inner
            .close(None)
            .await
            .map_err(|e| ClientError::WebSocket(e.to_string()))
    }
}
