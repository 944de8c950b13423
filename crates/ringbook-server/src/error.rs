//! One error type for the whole HTTP and WebSocket surface. Each variant documents its status;
//! internal causes are logged once here and never sent to clients.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ringbook_proto::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a field is invalid.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: no valid session token, or a wrong secret.
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// 403: authenticated but not allowed (blocked account, disabled method, wrong address).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404: no such thing (or not visible to the caller).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// 409: the request conflicts with the current state (e.g. number on another device).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 410: the thing existed but expired (codes, tokens).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// 413: the body is larger than allowed.
    #[error("{message}")]
    TooLarge { message: String },
    /// 429: slow down; `retry_after_secs` says for how long.
    #[error("{message}")]
    RateLimited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// 502: an upstream service (SMS gateway…) failed.
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// 500: a bug or an unavailable database; logged with its cause, sent without it.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Gone {
            code,
            message: message.into(),
        }
    }
    pub fn rate_limited(
        code: &'static str,
        message: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        ApiError::RateLimited {
            code,
            message: message.into(),
            retry_after_secs,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body sent to the client; for `Internal` the cause is logged, not sent.
    pub fn body(&self) -> ErrorBody {
        let (code, message, retry_after_secs) = match self {
            ApiError::BadRequest { code, message }
            | ApiError::Unauthorized { code, message }
            | ApiError::Forbidden { code, message }
            | ApiError::NotFound { code, message }
            | ApiError::Conflict { code, message }
            | ApiError::Gone { code, message }
            | ApiError::Upstream { code, message } => (*code, message.clone(), None),
            ApiError::TooLarge { message } => ("body_too_large", message.clone(), None),
            ApiError::RateLimited {
                code,
                message,
                retry_after_secs,
            } => (*code, message.clone(), Some(*retry_after_secs)),
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                (
                    "internal",
                    "something went wrong on the server; try again, and report it if it persists"
                        .to_string(),
                    None,
                )
            }
        };
        ErrorBody {
            code: code.into(),
            message,
            retry_after_secs,
        }
    }
}

impl From<ringbook_store::StoreError> for ApiError {
    fn from(e: ringbook_store::StoreError) -> Self {
        ApiError::Internal(anyhow::Error::new(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = self.body();
        let mut resp = (status, axum::Json(&body)).into_response();
        if let Some(secs) = body.retry_after_secs {
            if let Ok(v) = secs.to_string().parse() {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What went wrong with an outbound HTTP call, without the URL: reqwest's own message names the
/// URL, and URLs carry secrets (Kannel's sendsms password, tokens in callback queries).
pub fn outbound_http(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or unreachable"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_body() || e.is_decode() {
        "the answer could not be read"
    } else if e.is_builder() {
        "the request could not be built; check the URL"
    } else {
        "the request failed"
    };
    // The causes below reqwest's own error (I/O, TLS, DNS) do not repeat the URL.
    let mut out = what.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
