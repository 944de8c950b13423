//! Prompts back to the phone (MM-6): why an MMS changed nothing and what to do. Sent by MM7
//! `SubmitReq` to the MMSC (`profiles.prompts.mmsc_url`) or by SMS through the SMS gateway,
//! in the background so the MMSC gets its DeliverRsp at once.

use super::PromptVia;
use crate::secret::Secret;
use crate::state::AppState;
use ringbook_mm7::{build_submit_request, parse_submit_response, Mm7Version, SubmitReqBuilder};
use std::time::Duration;

/// The texts of MM-6.
pub mod text {
    pub fn register() -> String {
        "Ringbook: this number is not on Ringbook yet, so your MMS did not change any profile. \
         Register first (install Ringbook and log in with this number), then send the MMS again; \
         to update another account's profile, bind this number to it in the app."
            .into()
    }

    pub fn bind() -> String {
        "Ringbook: profile updates by MMS are switched off for this number, so nothing was \
         changed. Bind the number in the app (Profile > Bindings) and send the MMS again."
            .into()
    }

    pub fn refused(reason: &str) -> String {
        format!("Ringbook: your profile was not changed: {reason}.")
    }
}

/// What the MMS being answered looked like (to reply in its schema, with its LinkedID).
#[derive(Clone, Debug, Default)]
pub struct ReplyTo {
    pub version: Mm7Version,
    pub linked_id: Option<String>,
}

/// Sends `text` to `to` in the background.
pub fn send(state: &AppState, to: &str, text: String, reply: ReplyTo) {
    let job_state = state.clone();
    let to = to.to_string();
    state.core.workers.spawn_job("mms prompt", async move {
        if let Err(e) = send_now(&job_state, &to, &text, &reply).await {
            tracing::warn!(to = %to, error = %e, "MMS prompt not sent");
        }
    });
}

async fn send_now(state: &AppState, to: &str, text: &str, reply: &ReplyTo) -> anyhow::Result<()> {
    let cfg = &state.config.profiles.prompts;
    let via = match cfg.via {
        PromptVia::Auto if cfg.mmsc_url.is_some() => PromptVia::Mm7,
        PromptVia::Auto => PromptVia::Sms,
        v => v,
    };
    match via {
        PromptVia::Off => Ok(()),
        PromptVia::Sms | PromptVia::Auto => {
            state.sms.send(to, text, "mms_prompt").await?;
            Ok(())
        }
        PromptVia::Mm7 => {
            let url = cfg
                .mmsc_url
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("profiles.prompts.mmsc_url is not set"))?;
            let builder = SubmitReqBuilder {
                transaction_id: format!("rb-{}", hex::encode(rand::random::<[u8; 8]>())),
                version: reply.version.clone(),
                vasp_id: cfg.vasp_id.clone(),
                vas_id: cfg.vas_id.clone(),
                sender_address: cfg.sender_address.clone(),
                to: vec![to.to_string()],
                service_code: cfg.service_code.clone(),
                linked_id: reply.linked_id.clone(),
                subject: Some("Ringbook".into()),
                delivery_report: false,
                text: text.to_string(),
            };
            let (content_type, body) = build_submit_request(&builder);
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
                .build()?;
            let mut req = client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .header("SOAPAction", "\"\"")
                .body(body);
            if let Some(user) = &cfg.mmsc_username {
                req = req.basic_auth(user, cfg.mmsc_password.as_ref().map(Secret::expose));
            }
            // Without the URL in the error: it may carry the MMSC's credentials.
            let resp = req
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(crate::error::outbound_http(&e)))?;
            let ct = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("text/xml")
                .to_string();
            let status = resp.status();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| anyhow::anyhow!(crate::error::outbound_http(&e)))?;
            let parsed = parse_submit_response(&ct, &bytes).map_err(|e| {
                anyhow::anyhow!("MMSC answered HTTP {status} with no SubmitRsp: {e}")
            })?;
            if !parsed.is_success() {
                anyhow::bail!(
                    "MMSC refused the prompt: {} {}",
                    parsed.status_code,
                    parsed.status_text.unwrap_or_default()
                );
            }
            tracing::info!(to, message_id = ?parsed.message_id, "MMS prompt sent by MM7");
            Ok(())
        }
    }
}
