//! The resolution method of OA-4 / OA-5 (see the crate docs).

use crate::store::MessageRow;
use crate::Shared;
use std::io::Write;

/// How a message's sender was (or was not) found.
pub enum Outcome {
    Found {
        fake_id: String,
        info: serde_json::Value,
        method: &'static str,
    },
    Ambiguous(String),
    NotYet(String),
}

/// Appends a line to `resolver.log` in the data folder (and the tracing log).
pub fn log_line(shared: &Shared, line: &str) {
    tracing::info!("{line}");
    let path = shared.config.data_dir.join("resolver.log");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{} {line}", now_secs()));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write {}", path.display());
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Resolves one message and records the outcome in the store and the log.
pub async fn resolve_and_record(shared: &Shared, m: MessageRow) {
    let _one_at_a_time = shared.lock.lock().await;
    // Another task may have resolved it while this one waited.
    let m = match shared.store.message(m.id).await {
        Ok(Some(fresh)) if fresh.status == "pending" || fresh.status == "ambiguous" => fresh,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "reading a message failed");
            return;
        }
    };
    let outcome = match resolve(shared, &m).await {
        Ok(o) => o,
        Err(e) => Outcome::NotYet(format!("{e:#}")),
    };
    let what = if m.msg_type == "event" {
        format!("event {}", m.event.as_deref().unwrap_or("?"))
    } else {
        format!("{} {:?}", m.msg_type, m.content)
    };
    let saved = match &outcome {
        Outcome::Found {
            fake_id,
            info,
            method,
        } => {
            log_line(
                shared,
                &format!(
                    "account={} msg_id={} {what} from fake_id={fake_id} open_id={} info={info} method={method}",
                    m.account, m.msg_id, m.open_id
                ),
            );
            shared
                .store
                .set_outcome(
                    m.id,
                    "resolved",
                    Some(fake_id),
                    Some(info),
                    Some(method),
                    None,
                )
                .await
        }
        Outcome::Ambiguous(note) => {
            log_line(
                shared,
                &format!(
                    "account={} msg_id={} {what}: ambiguous: {note}; will retry",
                    m.account, m.msg_id
                ),
            );
            shared
                .store
                .set_outcome(m.id, "ambiguous", None, None, None, Some(note))
                .await
        }
        Outcome::NotYet(note) => {
            log_line(
                shared,
                &format!(
                    "account={} msg_id={} {what}: not resolved yet: {note}; will retry",
                    m.account, m.msg_id
                ),
            );
            let status = if m.attempts >= 20 {
                "unresolved"
            } else {
                "pending"
            };
            shared
                .store
                .set_outcome(m.id, status, None, None, None, Some(note))
                .await
        }
    };
    if let Err(e) = saved {
        tracing::warn!(error = %e, "recording a resolution failed");
    }
}

async fn resolve(shared: &Shared, m: &MessageRow) -> anyhow::Result<Outcome> {
    // Step 1: already known.
    if let Some(u) = shared.store.known_user(&m.account, &m.open_id).await? {
        return Ok(Outcome::Found {
            fake_id: u.fake_id,
            info: u.info,
            method: "store",
        });
    }
    // Step 2: the account from the URL, its credentials from our own config.
    let creds =
        shared.config.accounts.get(&m.account).ok_or_else(|| {
            anyhow::anyhow!("no credentials for account {} in the config", m.account)
        })?;
    let (acct, pw) = (m.account.as_str(), creds.password.as_str());
    let first_follow = m.msg_type == "event";
    let found = if first_follow {
        by_open_id(shared, acct, pw, &m.open_id)
            .await?
            .map(|f| (f, "openid"))
    } else {
        match by_create_time(shared, acct, pw, m).await? {
            Ok(Some(f)) => Some((f, "create_time")),
            Ok(None) => None,
            // Retried after an ambiguity: fall back to the openID method.
            Err(note) if m.status == "ambiguous" => {
                match by_open_id(shared, acct, pw, &m.open_id).await? {
                    Some(f) => Some((f, "openid")),
                    None => return Ok(Outcome::Ambiguous(note)),
                }
            }
            Err(note) => return Ok(Outcome::Ambiguous(note)),
        }
    };
    let Some((fake_id, method)) = found else {
        return Ok(Outcome::NotYet("no follower matches yet".into()));
    };
    // Step 3: information by FakeID, stored with FakeID and openID.
    let info = shared.console.user_info(acct, pw, &fake_id).await?;
    let info = serde_json::to_value(&info.fields)?;
    shared
        .store
        .remember(acct, &m.open_id, &fake_id, &info, method)
        .await?;
    Ok(Outcome::Found {
        fake_id,
        info,
        method,
    })
}

/// The openID method: information pages of followers not yet obtained, until one matches.
async fn by_open_id(
    shared: &Shared,
    acct: &str,
    pw: &str,
    open_id: &str,
) -> anyhow::Result<Option<String>> {
    let obtained = shared.store.obtained(acct).await?;
    for f in shared.console.followers(acct, pw).await? {
        if obtained.contains(&f.fake_id) {
            continue;
        }
        let page = shared.console.follower_page(acct, pw, &f.fake_id).await?;
        if page.open_id == open_id {
            return Ok(Some(page.fake_id));
        }
    }
    Ok(None)
}

/// The create-time method: the message page at the push's create time; `Err(note)` when
/// several followers remain possible.
async fn by_create_time(
    shared: &Shared,
    acct: &str,
    pw: &str,
    m: &MessageRow,
) -> anyhow::Result<Result<Option<String>, String>> {
    let rows = shared.console.messages_at(acct, pw, m.create_time).await?;
    let others = shared.store.fake_ids_of_others(acct, &m.open_id).await?;
    let candidates: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.create_time == m.create_time
                && r.msg_type == m.msg_type
                && !others.contains(&r.fake_id)
        })
        .collect();
    let distinct = |rows: &[&ringbook_proto::official::ConsoleMessage]| {
        let mut ids: Vec<String> = rows.iter().map(|r| r.fake_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let ids = distinct(&candidates);
    if ids.len() <= 1 {
        return Ok(Ok(ids.into_iter().next()));
    }
    // Several senders in that second: tell them apart by content.
    let same_content: Vec<_> = candidates
        .iter()
        .copied()
        .filter(|r| r.content == m.content)
        .collect();
    let ids2 = distinct(&same_content);
    match ids2.len() {
        1 => Ok(Ok(ids2.into_iter().next())),
        0 => Ok(Ok(None)),
        n => Ok(Err(format!(
            "{n} followers sent the same {} at {}",
            m.msg_type, m.create_time
        ))),
    }
}
