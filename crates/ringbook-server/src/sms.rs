//! The SMS gateway, behind one interface with three providers: a development outbox (default),
//! Kannel's HTTP `sendsms`, and a generic HTTP/JSON provider. Sends time out and are retried;
//! a failed send is returned to the caller, never swallowed.
//!
//! Every text goes in the coding its content needs: the GSM 7-bit default alphabet (160
//! characters in one SMS, 153 per part of a long one) when every character is in it, UCS-2
//! otherwise (70, 67 per part). A long text goes as one concatenated SMS: Kannel splits it
//! (its `max-messages`/`concatenation` settings, see docs/sms-gateways.md); Ringbook refuses a
//! text longer than `sms.max_parts` parts rather than let the gateway cut it.
//!
//! Each SMS is recorded under a random reference that rides in Kannel's `dlr-url`, so delivery
//! reports (`/v1/sms/dlr`) can say whether it reached the phone.
//!
//! Secrets stay out of errors and logs: reqwest's messages name the URL (with Kannel's password
//! and the text in it), so they are replaced by [`crate::error::outbound_http`]; a gateway's
//! answer is logged only after the configured secrets and the text are masked, and never sent
//! to a client.

use crate::config::{SmsConfig, SmsProvider};
use crate::metrics::{CodingLabels, KindLabels, SmsMetrics};
use crate::state::now_ms;
use ringbook_store::sms::{SmsDeliveryRow, SmsState};
use ringbook_store::{Store, StoreError};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway is not configured: {0}")]
    NotConfigured(&'static str),
    /// The gateway's answer (`detail`) stays out of the message: it may echo the request.
    #[error("the SMS gateway refused the message (HTTP {status})")]
    Refused { status: u16, detail: String },
    #[error("the SMS gateway could not be reached ({0})")]
    Unreachable(String),
    #[error("the text needs {parts} SMS parts; at most {max} are allowed (sms.max_parts)")]
    TooLong { parts: u32, max: u32 },
    #[error("could not write the SMS outbox: {0}")]
    Outbox(#[from] std::io::Error),
    #[error("could not record the SMS: {0}")]
    Record(#[from] StoreError),
}

/// The data coding an SMS goes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Coding {
    /// GSM 03.38 default alphabet (Kannel `coding=0`).
    Gsm7,
    /// UCS-2 (Kannel `coding=2`).
    Ucs2,
}

impl Coding {
    /// GSM 7-bit when every character is in the default alphabet or its extension table.
    pub fn for_text(text: &str) -> Coding {
        if gsm7_alt::is_gsm7_compatible(text) {
            Coding::Gsm7
        } else {
            Coding::Ucs2
        }
    }

    /// Kannel's `coding` value (sendsms parameter, `X-Kannel-Coding` reply header).
    pub fn kannel(self) -> &'static str {
        match self {
            Coding::Gsm7 => "0",
            Coding::Ucs2 => "2",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gsm7 => "gsm7",
            Coding::Ucs2 => "ucs2",
        }
    }
}

/// How many SMS `text` takes in `coding`: one up to 160 septets (GSM 7-bit, extension characters
/// count two) or 70 UTF-16 units (UCS-2); a longer text is concatenated, and each part loses 7
/// septets or 3 units to the concatenation header.
pub fn parts_for(text: &str, coding: Coding) -> u32 {
    let (units, single, per_part) = match coding {
        Coding::Gsm7 => (
            gsm7_alt::encoded_len(text).unwrap_or(usize::MAX / 2),
            160,
            153,
        ),
        Coding::Ucs2 => (text.encode_utf16().count(), 70, 67),
    };
    let parts = if units <= single {
        1
    } else {
        units.div_ceil(per_part)
    };
    u32::try_from(parts).unwrap_or(u32::MAX)
}

/// One SMS to send, as the outbox and the HTTP provider see it.
#[derive(Clone, Debug, Serialize)]
pub struct Sms {
    pub to: String,
    pub from: String,
    pub text: String,
    /// Why it was sent ("verification_code", "mms_prompt", …), for logs and the outbox.
    pub kind: &'static str,
    pub coding: Coding,
    pub parts: u32,
    /// Ringbook's reference for delivery reports (`/v1/sms/dlr?id=…`).
    pub reference: String,
}

/// What the gateway took.
#[derive(Clone, Debug)]
pub struct SentSms {
    /// The reference delivery reports name; also the code-status handle.
    pub id: String,
    pub coding: Coding,
    pub parts: u32,
}

pub struct SmsGateway {
    provider: Provider,
    from: String,
    retries: u32,
    max_parts: u32,
    dlr_url: Option<String>,
    /// Masked in anything logged: the gateway's password, API key and the callback key.
    secrets: Vec<String>,
    store: Store,
    metrics: SmsMetrics,
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

/// Kannel's delivery-report types asked for: delivered (1), undeliverable (2), queued on the
/// SMSC (4), accepted by the SMSC (8), rejected by the SMSC (16).
pub const KANNEL_DLR_MASK: u32 = 1 | 2 | 4 | 8 | 16;

impl SmsGateway {
    pub fn from_config(
        cfg: &SmsConfig,
        data_dir: &std::path::Path,
        store: Store,
        metrics: SmsMetrics,
    ) -> Result<Self, SmsError> {
        let client = || {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
                .build()
                .map_err(|e| SmsError::Unreachable(crate::error::outbound_http(&e)))
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
                    .as_ref()
                    .map(|u| u.expose().to_owned())
                    .ok_or(SmsError::NotConfigured("sms.url (Kannel sendsms URL)"))?,
                username: cfg
                    .username
                    .clone()
                    .ok_or(SmsError::NotConfigured("sms.username"))?,
                password: cfg
                    .password
                    .as_ref()
                    .map(|p| p.expose().to_owned())
                    .ok_or(SmsError::NotConfigured("sms.password"))?,
            },
            SmsProvider::Http => Provider::Http {
                client: client()?,
                url: cfg
                    .url
                    .as_ref()
                    .map(|u| u.expose().to_owned())
                    .ok_or(SmsError::NotConfigured("sms.url"))?,
                api_key: cfg.api_key.as_ref().map(|k| k.expose().to_owned()),
            },
        };
        let secrets = [&cfg.password, &cfg.api_key, &cfg.mo_key]
            .into_iter()
            .flatten()
            .map(|s| s.expose().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(SmsGateway {
            provider,
            from: cfg.service_number.clone(),
            retries: cfg.retries,
            max_parts: cfg.max_parts.max(1),
            dlr_url: cfg
                .dlr_url
                .as_ref()
                .map(|u| dlr_url_template(u.expose(), cfg.mo_key.as_ref().map(|k| k.expose()))),
            secrets,
            store,
            metrics,
        })
    }

    /// Sends `text` to `to`, retrying transient failures.
    pub async fn send(
        &self,
        to: &str,
        text: &str,
        kind: &'static str,
    ) -> Result<SentSms, SmsError> {
        self.send_about(to, text, kind, None).await
    }

    /// [`SmsGateway::send`] for an SMS about something (`order:42`) that wants to hear when it
    /// could not be delivered.
    pub async fn send_about(
        &self,
        to: &str,
        text: &str,
        kind: &'static str,
        subject: Option<String>,
    ) -> Result<SentSms, SmsError> {
        let result = self.try_send(to, text, kind, subject).await;
        let counter = match &result {
            Ok(sent) => {
                self.metrics
                    .parts
                    .get_or_create(&CodingLabels {
                        coding: sent.coding.as_str().into(),
                    })
                    .inc_by(u64::from(sent.parts));
                &self.metrics.sent
            }
            Err(_) => &self.metrics.failed,
        };
        counter
            .get_or_create(&KindLabels { kind: kind.into() })
            .inc();
        result
    }

    async fn try_send(
        &self,
        to: &str,
        text: &str,
        kind: &'static str,
        subject: Option<String>,
    ) -> Result<SentSms, SmsError> {
        let coding = Coding::for_text(text);
        let parts = parts_for(text, coding);
        if parts > self.max_parts {
            let e = SmsError::TooLong {
                parts,
                max: self.max_parts,
            };
            tracing::warn!(to, kind, error = %e, "sms not sent");
            return Err(e);
        }
        let sms = Sms {
            to: to.into(),
            from: self.from.clone(),
            text: text.into(),
            kind,
            coding,
            parts,
            reference: hex::encode(rand::random::<[u8; 16]>()),
        };
        // Recorded first: a delivery report may come back before the gateway's answer does.
        let now = now_ms();
        self.store
            .record_sms(&SmsDeliveryRow {
                id: sms.reference.clone(),
                kind: kind.into(),
                recipient: to.into(),
                subject,
                parts: i64::from(parts),
                state: SmsState::Sent,
                detail: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
        let mut attempt = 0;
        loop {
            let error = match self.send_once(&sms).await {
                Ok(()) => {
                    tracing::info!(to, kind, coding = coding.as_str(), parts, "sms sent");
                    return Ok(SentSms {
                        id: sms.reference,
                        coding,
                        parts,
                    });
                }
                // A refusal is an answer, not a transient failure: do not retry it.
                Err(e @ (SmsError::Refused { .. } | SmsError::NotConfigured(_))) => e,
                Err(e) if attempt >= self.retries => e,
                Err(e) => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "sms send failed, retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    continue;
                }
            };
            let detail = match &error {
                SmsError::Refused { detail, .. } => self.mask(detail, text),
                _ => String::new(),
            };
            tracing::warn!(to, kind, error = %error, detail = %detail, "sms failed");
            // The caller hears it now; the record says so too (the login explains it).
            if let Err(e) = self
                .store
                .report_sms_delivery(
                    &sms.reference,
                    SmsState::Failed,
                    Some(&error.to_string()),
                    now_ms(),
                )
                .await
            {
                tracing::warn!(error = %e, "could not record a failed sms");
            }
            return Err(error);
        }
    }

    /// `detail` with every configured secret, the text and the text's digit runs (the code)
    /// masked, in plain and URL-encoded form.
    fn mask(&self, detail: &str, text: &str) -> String {
        let digit_runs = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|run| run.len() >= 4)
            .map(str::to_string);
        let mut masked = detail.to_string();
        for secret in self
            .secrets
            .iter()
            .cloned()
            .chain(std::iter::once(text.to_string()))
            .chain(digit_runs)
        {
            let encoded = serde_urlencoded::to_string([("", secret.as_str())])
                .map(|s| s.trim_start_matches('=').to_string())
                .unwrap_or_default();
            for form in [secret, encoded] {
                if !form.is_empty() {
                    masked = masked.replace(&form, "***");
                }
            }
        }
        masked
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
                // Not the text: it may be a code.
                tracing::info!(to = %sms.to, kind = sms.kind, "sms written to the outbox");
                Ok(())
            }
            Provider::Kannel {
                client,
                url,
                username,
                password,
            } => {
                let mut query = vec![
                    ("username", username.as_str()),
                    ("password", password.as_str()),
                    ("from", sms.from.as_str()),
                    ("to", sms.to.as_str()),
                    ("text", sms.text.as_str()),
                    ("charset", "UTF-8"),
                    ("coding", sms.coding.kannel()),
                ];
                let mask = KANNEL_DLR_MASK.to_string();
                let dlr_url = self
                    .dlr_url
                    .as_deref()
                    .map(|template| template.replace("{id}", &sms.reference));
                if let Some(dlr_url) = &dlr_url {
                    query.push(("dlr-mask", mask.as_str()));
                    query.push(("dlr-url", dlr_url.as_str()));
                }
                let resp = client
                    .get(url)
                    .query(&query)
                    .send()
                    .await
                    .map_err(|e| SmsError::Unreachable(crate::error::outbound_http(&e)))?;
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
                    .map_err(|e| SmsError::Unreachable(crate::error::outbound_http(&e)))?;
                check(resp).await
            }
        }
    }
}

/// The `dlr-url` handed to Kannel, with `{id}` for the SMS's reference and Kannel's own escapes:
/// `%d` the report type, `%A` the SMSC's report text. The callback key rides along as `key=`
/// unless the URL carries credentials of its own (HTTP basic auth, which Kannel also sends).
fn dlr_url_template(base: &str, key: Option<&str>) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{sep}id={{id}}&type=%d&reply=%A");
    let has_credentials = base
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .is_some_and(|authority| authority.contains('@'));
    if let Some(key) = key.filter(|_| !has_credentials) {
        if let Ok(pair) = serde_urlencoded::to_string([("key", key)]) {
            url.push('&');
            url.push_str(&pair);
        }
    }
    url
}

async fn check(resp: reqwest::Response) -> Result<(), SmsError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let detail: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    if status.is_server_error() {
        return Err(SmsError::Unreachable(format!("HTTP {}", status.as_u16())));
    }
    Err(SmsError::Refused {
        status: status.as_u16(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_texts_go_in_seven_bits_and_others_in_ucs2() {
        let code = "Your Ringbook code is 819052. It expires in 5 minutes. Do not share it.";
        assert_eq!(Coding::for_text(code), Coding::Gsm7);
        assert_eq!(parts_for(code, Coding::Gsm7), 1);
        // The extension table (€, braces) and accented Latin letters are in the alphabet.
        assert_eq!(
            Coding::for_text("Prix: 3€ {promo} à Zürich? Ça! ß"),
            Coding::Gsm7
        );
        // ë is not.
        assert_eq!(Coding::for_text("Noël"), Coding::Ucs2);
        assert_eq!(Coding::for_text("Y 7209 确认"), Coding::Ucs2);
        assert_eq!(Coding::for_text("emoji 🙂"), Coding::Ucs2);
    }

    #[test]
    fn parts_follow_the_concatenation_limits() {
        let a = |n| "a".repeat(n);
        assert_eq!(parts_for(&a(160), Coding::Gsm7), 1);
        assert_eq!(parts_for(&a(161), Coding::Gsm7), 2);
        assert_eq!(parts_for(&a(306), Coding::Gsm7), 2);
        assert_eq!(parts_for(&a(307), Coding::Gsm7), 3);
        // An extension character takes two septets.
        assert_eq!(parts_for(&"€".repeat(80), Coding::Gsm7), 1);
        assert_eq!(parts_for(&"€".repeat(81), Coding::Gsm7), 2);
        let han = |n| "确".repeat(n);
        assert_eq!(parts_for(&han(70), Coding::Ucs2), 1);
        assert_eq!(parts_for(&han(71), Coding::Ucs2), 2);
        assert_eq!(parts_for(&han(134), Coding::Ucs2), 2);
        assert_eq!(parts_for(&han(135), Coding::Ucs2), 3);
        // Outside the basic plane: two UTF-16 units.
        assert_eq!(parts_for(&"🙂".repeat(35), Coding::Ucs2), 1);
        assert_eq!(parts_for(&"🙂".repeat(36), Coding::Ucs2), 2);
    }

    #[test]
    fn the_dlr_url_carries_kannel_escapes_and_the_key() {
        assert_eq!(
            dlr_url_template("http://127.0.0.1:8080/v1/sms/dlr", Some("k&1")),
            "http://127.0.0.1:8080/v1/sms/dlr?id={id}&type=%d&reply=%A&key=k%261"
        );
        assert_eq!(
            dlr_url_template("http://kannel:k@127.0.0.1:8080/v1/sms/dlr?x=1", Some("k")),
            "http://kannel:k@127.0.0.1:8080/v1/sms/dlr?x=1&id={id}&type=%d&reply=%A"
        );
    }
}
