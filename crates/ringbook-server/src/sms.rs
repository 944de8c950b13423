//! The SMS gateway, behind one interface with three providers: a development outbox (default),
//! Kannel's HTTP `sendsms`, and a generic HTTP/JSON provider. Sends time out and are retried;
//! a failed send is returned to the caller, never swallowed.

use crate::config::{SmsConfig, SmsProvider};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway is not configured: {0}")]
    NotConfigured(&'static str),
    #[error("the SMS gateway refused the message: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the SMS gateway could not be reached: {0}")]
    Unreachable(String),
    #[error("could not write the SMS outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

/// One SMS to send.
#[derive(Clone, Debug, Serialize)]
pub struct Sms {
    pub to: String,
    pub from: String,
    pub text: String,
    /// Why it was sent ("verification_code", "mms_prompt", …), for logs and the outbox.
    pub kind: &'static str,
}

pub struct SmsGateway {
    provider: Provider,
    from: String,
    retries: u32,
}

enum Provider {
    Outbox {
        path: PathBuf,
        lock: Mutex<()>,
    },
    Kannel {
        client: reqwest::Client,
        url: String,
        username: String,
        password: String,
    },
    Http {
        client: reqwest::Client,
        url: String,
        api_key: Option<String>,
    },
}

impl SmsGateway {
    pub fn from_config(cfg: &SmsConfig, data_dir: &std::path::Path) -> Result<Self, SmsError> {
        let client = || {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
                .build()
                .map_err(|e| SmsError::Unreachable(e.to_string()))
        };
        let provider = match cfg.provider {
            SmsProvider::Outbox => Provider::Outbox {
                path: data_dir.join("sms-outbox.jsonl"),
                lock: Mutex::new(()),
            },
            SmsProvider::Kannel => Provider::Kannel {
                client: client()?,
                url: cfg
                    .url
                    .clone()
                    .ok_or(SmsError::NotConfigured("sms.url (Kannel sendsms URL)"))?,
                username: cfg
                    .username
                    .clone()
                    .ok_or(SmsError::NotConfigured("sms.username"))?,
                password: cfg
                    .password
                    .clone()
                    .ok_or(SmsError::NotConfigured("sms.password"))?,
            },
            SmsProvider::Http => Provider::Http {
                client: client()?,
                url: cfg.url.clone().ok_or(SmsError::NotConfigured("sms.url"))?,
                api_key: cfg.api_key.clone(),
            },
        };
        Ok(SmsGateway {
            provider,
            from: cfg.service_number.clone(),
            retries: cfg.retries,
        })
    }

    /// Sends `text` to `to`, retrying transient failures.
    pub async fn send(&self, to: &str, text: &str, kind: &'static str) -> Result<(), SmsError> {
        let sms = Sms {
            to: to.into(),
            from: self.from.clone(),
            text: text.into(),
            kind,
        };
        let mut attempt = 0;
        loop {
            match self.send_once(&sms).await {
                Ok(()) => {
                    tracing::info!(to = %sms.to, kind, "sms sent");
                    return Ok(());
                }
                // A refusal is an answer, not a transient failure: do not retry it.
                Err(e @ SmsError::Refused { .. }) | Err(e @ SmsError::NotConfigured(_)) => {
                    return Err(e)
                }
                Err(e) if attempt >= self.retries => {
                    tracing::warn!(to = %sms.to, kind, error = %e, "sms failed");
                    return Err(e);
                }
                Err(e) => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "sms send failed, retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
    }

    async fn send_once(&self, sms: &Sms) -> Result<(), SmsError> {
        match &self.provider {
            Provider::Outbox { path, lock } => {
                let mut line = serde_json::to_vec(sms).map_err(std::io::Error::other)?;
                line.push(b'\n');
                // One writer at a time so lines never interleave.
                let _guard = lock.lock().await;
                // 0600: the outbox holds live codes.
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(path)
                    .await?;
                file.write_all(&line).await?;
                file.flush().await?;
                tracing::info!(to = %sms.to, text = %sms.text, "sms written to the outbox");
                Ok(())
            }
            Provider::Kannel {
                client,
                url,
                username,
                password,
            } => {
                let resp = client
                    .get(url)
                    .query(&[
                        ("username", username.as_str()),
                        ("password", password.as_str()),
                        ("from", sms.from.as_str()),
                        ("to", sms.to.as_str()),
                        ("text", sms.text.as_str()),
                        ("charset", "UTF-8"),
                        ("coding", "2"),
                    ])
                    .send()
                    .await
                    .map_err(|e| SmsError::Unreachable(e.to_string()))?;
                check(resp).await
            }
            Provider::Http {
                client,
                url,
                api_key,
            } => {
                let mut req = client.post(url).json(sms);
                if let Some(key) = api_key {
                    req = req.bearer_auth(key);
                }
                let resp = req
                    .send()
                    .await
                    .map_err(|e| SmsError::Unreachable(e.to_string()))?;
                check(resp).await
            }
        }
    }
}

async fn check(resp: reqwest::Response) -> Result<(), SmsError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    if status.is_server_error() {
        return Err(SmsError::Unreachable(format!("HTTP {status}: {body}")));
    }
    Err(SmsError::Refused {
        status: status.as_u16(),
        body,
    })
}
