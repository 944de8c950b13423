//! What the agent answers a site: the visitor's standing choice at the server decides; when it
//! is `ask`, the agent asks at this terminal (or answers as `--answer` says) and may save the
//! reply as the new standing choice.

use super::Agent;
use crate::terminal::{interactive, prompt};
use ringbook_proto::openplatform::{Choice, SetConsent};

/// What to do when the standing choice for a site is `ask` (`ringbook agent --answer`).
// Plain comments on the variants: doc comments would change `--help`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum WhenAsked {
    // Ask at this terminal; without a terminal, answer none.
    Ask,
    // Answer without asking: save `allow` for the site.
    Allow,
    // Answer without asking: none, this time.
    Deny,
}

/// A site's page may recognise the visitor with `token`.
pub(super) struct Recognised {
    pub site_name: String,
    pub token: String,
}

impl Agent {
    /// The token for this origin, or `None`, after applying the standing choice (asking if
    /// need be).
    pub(super) async fn decide(&self, origin: &str) -> anyhow::Result<Option<Recognised>> {
        let first = match self.client.op_token(origin).await {
            Ok(a) => a,
            Err(e) if e.code() == Some("unknown_site") => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match first.choice {
            Choice::Allow => {
                eprintln!(
                    "agent: {} ({origin}) recognised you (standing choice: allow)",
                    first.site_name
                );
                return Ok(recognised(first.site_name, first.token));
            }
            Choice::Deny => {
                eprintln!(
                    "agent: {} ({origin}) asked; answered none (standing choice: deny)",
                    first.site_name
                );
                return Ok(None);
            }
            Choice::Ask => {}
        }
        let reply = match self.when_asked {
            WhenAsked::Allow => "always".to_string(),
            WhenAsked::Deny => "no".to_string(),
            WhenAsked::Ask if interactive() => {
                let _one = self.asking.lock().await;
                let q = format!(
                    "\n{} ({origin}) asks who you are. Share {}? [y]es always / [n]o this time / n[e]ver: ",
                    first.site_name,
                    self.fields.join(", ")
                );
                tokio::task::spawn_blocking(move || prompt(&q))
                    .await??
                    .to_lowercase()
            }
            WhenAsked::Ask => "no".to_string(),
        };
        let site_ref = first.site_id.to_string();
        match reply.as_str() {
            "y" | "yes" | "always" => {
                self.client
                    .op_set_consent(
                        &site_ref,
                        &SetConsent {
                            choice: Choice::Allow,
                            fields: self.fields.clone(),
                            raw_id: false,
                        },
                    )
                    .await?;
                let again = self.client.op_token(origin).await?;
                eprintln!(
                    "agent: {} ({origin}) may now recognise you",
                    again.site_name
                );
                Ok(recognised(again.site_name, again.token))
            }
            "e" | "never" => {
                self.client
                    .op_set_consent(
                        &site_ref,
                        &SetConsent {
                            choice: Choice::Deny,
                            fields: vec![],
                            raw_id: false,
                        },
                    )
                    .await?;
                eprintln!("agent: {} will not be answered again", first.site_name);
                Ok(None)
            }
            _ => {
                eprintln!("agent: {} ({origin}) asked; answered none", first.site_name);
                Ok(None)
            }
        }
    }
}

fn recognised(site_name: String, token: Option<String>) -> Option<Recognised> {
    token.map(|token| Recognised { site_name, token })
}
