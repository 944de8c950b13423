//! Typed calls to the HTTP API.

use ringbook_proto::api::*;
use ringbook_proto::{DeviceIdentity, ErrorBody};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use reqwest::Method;
use std::time::Duration;

/// Bytes kept as they are in a path segment: RFC 3986's unreserved characters except `.`
/// (so that `.` and `..` can never become dot-segments that `Url::join` would resolve).
const SEGMENT_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a user-given value for one URL path segment: `Acme Supplies` →
/// `Acme%20Supplies`, `+86…` → `%2B86…`, UTF-8 for non-ASCII; `/`, `?` and `#` cannot escape
/// the segment. Every client call that puts a value into a path goes through it (query values
/// use [`query_value`]).
pub fn path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT_KEEP).to_string()
}

/// Encodes a user-given value for a query string (`application/x-www-form-urlencoded`).
pub fn query_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body; `message` is meant for people.
    #[error("{}", body.message)]
    Api { status: u16, body: ErrorBody },
    #[error("cannot reach the server at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    #[error("not logged in; run `ringbook login --phone NUMBER` first")]
    NotLoggedIn,
    #[error("invalid server URL '{0}'")]
    BadUrl(String),
    #[error("WebSocket: {0}")]
    WebSocket(String),
    #[error("client store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("client store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The server's stable error code, if the server answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => Some(&body.code),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    base: url::Url,
    token: Option<String>,
}

impl Client {
    pub fn new(server: &str) -> Result<Self, ClientError> {
        let base = url::Url::parse(server).map_err(|_| ClientError::BadUrl(server.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl(server.to_string()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(Client {
            http,
            base,
            token: None,
        })
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn base_url(&self) -> &url::Url {
        &self.base
    }

    pub fn url(&self, path: &str) -> Result<url::Url, ClientError> {
        self.base
            .join(path)
            .map_err(|_| ClientError::BadUrl(path.to_string()))
    }

    /// Sends a request and decodes the JSON answer, or the error body.
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, ClientError> {
        let resp = self.send(method, path, body).await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(format!("{e}")))
    }

    /// Like [`call`](Self::call) for answers without a body.
    pub async fn call_empty<B: Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        self.send(method, path, body).await.map(|_| ())
    }

    async fn send<B: Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.url(path)?;
        let mut req = self.http.request(method, url.clone());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.to_string(),
                source,
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = resp.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice::<ErrorBody>(&bytes).unwrap_or_else(|_| ErrorBody {
            code: format!("http_{}", status.as_u16()),
            message: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            retry_after_secs: None,
        });
        Err(ClientError::Api {
            status: status.as_u16(),
            body,
        })
    }

    pub async fn request_code(&self, phone: &str) -> Result<CodeSent, ClientError> {
        self.call(
            reqwest::Method::POST,
            "/v1/auth/code",
            Some(&CodeRequest {
                phone: phone.into(),
            }),
        )
        .await
    }

    /// Whether the SMS with a code reached the phone (`CodeSent::delivery_id`).
    pub async fn code_delivery(&self, delivery_id: &str) -> Result<CodeDelivery, ClientError> {
        self.call::<(), _>(
            reqwest::Method::GET,
            &format!("/v1/auth/code/{delivery_id}"),
            None,
        )
        .await
    }

    pub async fn login(&self, req: &LoginRequest) -> Result<LoginResponse, ClientError> {
        self.call(reqwest::Method::POST, "/v1/auth/login", Some(req))
            .await
    }

    pub async fn mo_start(&self, device: &DeviceIdentity) -> Result<MoStarted, ClientError> {
        self.call(
            reqwest::Method::POST,
            "/v1/auth/mo/start",
            Some(&MoStartRequest {
                device: device.clone(),
            }),
        )
        .await
    }

    /// Polls an MO login token; only the device it was issued to learns the number.
    pub async fn mo_state(&self, token: &str, device_id: &str) -> Result<MoState, ClientError> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("device_id", device_id)
            .finish();
        self.call::<(), _>(
            reqwest::Method::GET,
            &format!("/v1/auth/mo/{}?{query}", path_segment(token)),
            None,
        )
        .await
    }

    pub async fn me(&self) -> Result<Me, ClientError> {
        self.call::<(), _>(reqwest::Method::GET, "/v1/me", None)
            .await
    }

    pub async fn set_rescue_password(
        &self,
        password: &str,
        current: Option<&str>,
    ) -> Result<(), ClientError> {
        let body = SetRescuePassword {
            password: password.into(),
            current_password: current.map(Into::into),
        };
        self.call_empty(reqwest::Method::PUT, "/v1/me/rescue-password", Some(&body))
            .await
    }

    pub async fn set_secure_mode(&self, enabled: bool) -> Result<(), ClientError> {
        self.call_empty(
            reqwest::Method::PUT,
            "/v1/me/secure-mode",
            Some(&SetSecureMode { enabled }),
        )
        .await
    }

    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, ClientError> {
        self.call::<(), _>(reqwest::Method::GET, "/v1/sessions", None)
            .await
    }

    pub async fn revoke_session(&self, id: &str) -> Result<(), ClientError> {
        self.call_empty::<()>(
            reqwest::Method::DELETE,
            &format!("/v1/sessions/{}", path_segment(id)),
            None,
        )
        .await
    }

    pub async fn logout(&self) -> Result<(), ClientError> {
        self.call_empty::<()>(reqwest::Method::POST, "/v1/auth/logout", None)
            .await
    }

    /// Operator: block or unblock a number (needs the admin token, or a loopback server).
    pub async fn admin_set_blocked(
        &self,
        phone: &str,
        blocked: bool,
    ) -> Result<serde_json::Value, ClientError> {
        let action = if blocked { "block" } else { "unblock" };
        let mut url = self.url("/v1/admin/users")?;
        url.path_segments_mut()
            .map_err(|_| ClientError::BadUrl(self.base.to_string()))?
            .push(phone)
            .push(action);
        self.call::<(), _>(reqwest::Method::POST, url.path(), None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("Acme Supplies"), "Acme%20Supplies");
        assert_eq!(path_segment("+8613800138000"), "%2B8613800138000");
        assert_eq!(
            path_segment("咖啡/../x?y#z"),
            "%E5%92%96%E5%95%A1%2F%2E%2E%2Fx%3Fy%23z"
        );
        assert_eq!(path_segment(".."), "%2E%2E");
        assert_eq!(query_value("a b+c"), "a+b%2Bc");
        let c = Client::new("http://127.0.0.1:1/").expect("client");
        let url = c
            .url(&format!(
                "/v1/openplatform/consents/{}",
                path_segment("Acme Supplies")
            ))
            .expect("url");
        assert_eq!(url.path(), "/v1/openplatform/consents/Acme%20Supplies");
    }
}
