//! `ringbook contacts …`: phone-book import (PB-8), phone book ↔ client two-way sync with write
//! back and a watch mode (PB-9, PB-10), export, and client ↔ server sync (PB-11).

use crate::ctx::{Ctx, Global};
use anyhow::Context;
use ringbook_phonebook::{
    export_vcard, import_file, sniff, sync_plan, Change, Format, ImportReport, PhonebookContact,
    VcardVersion, EXT_NICKNAME, EXT_SIGNATURE, EXT_STATUS, EXT_USER,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// The IM contact list: import, list, sync with the phone book and the server, export.
    #[command(subcommand)]
    Contacts(ContactsCmd),
}

#[derive(clap::Subcommand)]
pub enum ContactsCmd {
    /// Import a phone-book file (vCard 2.1/3.0/4.0 or Google/Outlook CSV) into the contact list.
    Import {
        file: PathBuf,
        /// Region for numbers written without a country code.
        #[arg(long, env = "RINGBOOK_REGION", default_value = "CN")]
        region: String,
        /// Do not upload to the server afterwards even when logged in.
        #[arg(long)]
        local: bool,
    },
    /// List the contacts with what the server said about them.
    List,
    /// Two-way sync with a phone-book file (when given, or the one of the last sync), then with
    /// the server (when logged in).
    Sync {
        /// The phone-book file (vCard or CSV); remembered for the next sync.
        #[arg(long)]
        phonebook: Option<PathBuf>,
        /// Keep running: re-sync when the file changes, and with the server periodically.
        #[arg(long)]
        watch: bool,
        /// Seconds between checks of the file in watch mode.
        #[arg(long, default_value_t = 2)]
        interval: u64,
        /// Seconds between server syncs in watch mode.
        #[arg(long, default_value_t = 60)]
        server_every: u64,
        #[arg(long, env = "RINGBOOK_REGION", default_value = "CN")]
        region: String,
        /// Only the phone-book side; do not talk to the server.
        #[arg(long)]
        local: bool,
    },
    /// Write the contact list as vCard, with the IM data in X-RINGBOOK-* properties (PB-10).
    Export {
        file: PathBuf,
        /// vCard version: 3.0 or 4.0.
        #[arg(long, default_value = "3.0")]
        vcard_version: String,
    },
}

pub async fn run(global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    let Cmd::Contacts(cmd) = cmd;
    let ctx = global.ctx().await?;
    match cmd {
        ContactsCmd::Import {
            file,
            region,
            local,
        } => import(&ctx, &file, &region, local).await,
        ContactsCmd::List => list(&ctx).await,
        ContactsCmd::Sync {
            phonebook,
            watch,
            interval,
            server_every,
            region,
            local,
        } => {
            let phonebook = match phonebook {
                Some(p) => {
                    let abs = std::path::absolute(&p).unwrap_or(p);
                    ctx.store
                        .set("phonebook_path", &abs.to_string_lossy())
                        .await?;
                    Some(abs)
                }
                None => ctx.store.get("phonebook_path").await?.map(PathBuf::from),
            };
            if watch {
                watch_loop(
                    &ctx,
                    phonebook.as_deref(),
                    &region,
                    local,
                    interval,
                    server_every,
                )
                .await
            } else {
                if let Some(p) = &phonebook {
                    phonebook_sync(&ctx, p, &region).await?;
                }
                if !local {
                    server_sync(&ctx, phonebook.is_none()).await?;
                }
                Ok(())
            }
        }
        ContactsCmd::Export {
            file,
            vcard_version,
        } => export(&ctx, &file, &vcard_version).await,
    }
}

/// Reads a phone book with a progress bar on big files; prints every skipped entry.
fn read_phonebook(path: &Path, region: &str, verbose: bool) -> anyhow::Result<ImportReport> {
    let bar = indicatif::ProgressBar::hidden();
    let show = crate::ctx::interactive();
    let mut progress = |done: usize, total: usize| {
        if done == 0 && total >= 200 && show {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "importing {bar:40} {pos}/{len} contacts ({eta} left)",
            ) {
                bar.set_style(style);
            }
        }
        if done.is_multiple_of(100) || done == total {
            bar.set_position(done as u64);
        }
    };
    let report = import_file(path, region, &mut progress)
        .with_context(|| format!("cannot import {}", path.display()))?;
    bar.finish_and_clear();
    if verbose {
        for s in &report.skipped {
            let name = s.name.as_deref().unwrap_or("(no name)");
            println!("skipped entry {} {name:?}: {}", s.index + 1, s.reason);
        }
    }
    Ok(report)
}

/// IM data (PB-10) is derived, never a phone-book edit: drop it when reading the phone book.
fn strip_im_data(mut c: PhonebookContact) -> PhonebookContact {
    for k in [EXT_STATUS, EXT_USER, EXT_NICKNAME, EXT_SIGNATURE] {
        c.extensions.remove(k);
    }
    c
}

async fn import(ctx: &Ctx, file: &Path, region: &str, local: bool) -> anyhow::Result<()> {
    let report = read_phonebook(file, region, true)?;
    let contacts: Vec<PhonebookContact> = report.contacts.into_iter().map(strip_im_data).collect();
    let applied = ctx.store.upsert_local(&contacts, true).await?;
    println!(
        "imported {} contacts ({} new, {} updated, {} unchanged), skipped {}",
        contacts.len(),
        applied.added,
        applied.updated,
        applied.unchanged,
        report.skipped.len()
    );
    if !local && ctx.client.token().is_some() {
        server_sync(ctx, false).await?;
    }
    Ok(())
}

async fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let contacts = ctx.store.local_contacts().await?;
    if contacts.is_empty() {
        println!("no contacts; import a phone book with `ringbook contacts import FILE`");
        return Ok(());
    }
    for c in &contacts {
        let mut tags = Vec::new();
        if c.is_user {
            tags.push(if c.flag == 2 {
                "ringbook user, mutual"
            } else {
                "ringbook user"
            });
        }
        if !c.synced_server {
            tags.push("not on server yet");
        }
        if !c.synced_phonebook {
            tags.push("not in phone book yet");
        }
        let mut line = format!("{}  {}", c.contact.mobile, c.contact.display_name);
        if !tags.is_empty() {
            line.push_str(&format!("  [{}]", tags.join(", ")));
        }
        if let Some(s) = &c.im_status {
            line.push_str(&format!("  {s}"));
            if let Some(t) = &c.self_status {
                line.push_str(&format!(" \"{t}\""));
            }
        }
        println!("{line}");
    }
    println!("{} contacts", contacts.len());
    Ok(())
}

/// The local contacts with their IM data as X-RINGBOOK-* extensions.
async fn with_im_data(
    ctx: &Ctx,
    list: Vec<PhonebookContact>,
) -> anyhow::Result<Vec<PhonebookContact>> {
    let local: HashMap<String, ringbook_client::contacts_store::LocalContact> = ctx
        .store
        .local_contacts()
        .await?
        .into_iter()
        .map(|c| (c.contact.mobile.clone(), c))
        .collect();
    Ok(list
        .into_iter()
        .map(|mut c| {
            if let Some(l) = local.get(&c.mobile) {
                if l.is_user {
                    c.extensions.insert(EXT_USER.into(), "1".into());
                }
                for (k, v) in [
                    (EXT_STATUS, &l.im_status),
                    (EXT_NICKNAME, &l.nickname),
                    (EXT_SIGNATURE, &l.signature),
                ] {
                    if let Some(v) = v {
                        c.extensions.insert(k.into(), v.clone());
                    }
                }
            }
            c
        })
        .collect())
}

async fn export(ctx: &Ctx, file: &Path, version: &str) -> anyhow::Result<()> {
    let version = match version {
        "3.0" | "3" => VcardVersion::V3,
        "4.0" | "4" => VcardVersion::V4,
        other => anyhow::bail!("unsupported vCard version {other:?}; use 3.0 or 4.0"),
    };
    let list: Vec<PhonebookContact> = ctx
        .store
        .local_contacts()
        .await?
        .into_iter()
        .map(|c| c.contact)
        .collect();
    let list = with_im_data(ctx, list).await?;
    write_atomically(file, export_vcard(&list, version).as_bytes())?;
    println!("exported {} contacts to {}", list.len(), file.display());
    Ok(())
}

fn write_atomically(file: &Path, data: &[u8]) -> anyhow::Result<()> {
    let tmp = file.with_extension("ringbook-tmp");
    std::fs::write(&tmp, data).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot replace {}", file.display()))?;
    Ok(())
}

/// The raw text of each card of a vCard file, in order (for keeping skipped cards verbatim).
fn raw_cards(text: &str) -> Vec<String> {
    let mut cards = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim().to_ascii_uppercase();
        if t == "BEGIN:VCARD" {
            cur = Some(String::new());
        }
        if let Some(c) = cur.as_mut() {
            c.push_str(line);
        }
        if t == "END:VCARD" {
            if let Some(c) = cur.take() {
                cards.push(c);
            }
        }
    }
    cards
}

/// One two-way phone book ↔ IM contacts sync (PB-9). Conflict rule: see `docs/contacts-presence.md`.
pub async fn phonebook_sync(ctx: &Ctx, path: &Path, region: &str) -> anyhow::Result<()> {
    let data = if path.exists() {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
    } else {
        Vec::new()
    };
    let (report, format) = if data.iter().all(u8::is_ascii_whitespace) {
        (ImportReport::default(), Format::Vcard)
    } else {
        let format = sniff(data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data))
            .context("the phone book is neither vCard nor CSV")?;
        (read_phonebook(path, region, false)?, format)
    };
    let phonebook: Vec<PhonebookContact> =
        report.contacts.iter().cloned().map(strip_im_data).collect();
    let base = ctx.store.phonebook_base().await?;
    let im: Vec<PhonebookContact> = ctx
        .store
        .local_contacts()
        .await?
        .into_iter()
        .map(|c| c.contact)
        .collect();
    let plan = sync_plan(&base, &phonebook, &im);
    let (new_pb, new_im) = plan.apply(&phonebook, &im);

    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    for ch in &plan.to_im {
        match ch {
            Change::Add(c) | Change::Update(c) => upserts.push(c.clone()),
            Change::Delete(k) => deletes.push(k.clone()),
        }
    }
    ctx.store.upsert_local(&upserts, true).await?;
    ctx.store.delete_local(&deletes).await?;

    let mut written_to = None;
    if !plan.to_phonebook.is_empty() {
        let text = String::from_utf8_lossy(&data);
        let cards = raw_cards(&text);
        let keep_skipped =
            format == Format::Vcard && cards.len() == report.contacts.len() + report.skipped.len();
        let mut out = export_vcard(&with_im_data(ctx, new_pb.clone()).await?, VcardVersion::V3);
        if keep_skipped {
            // Entries Ringbook does not import (no mobile number) stay in the phone book as they were.
            for s in &report.skipped {
                if let Some(card) = cards.get(s.index) {
                    out.push_str(card);
                    if !card.ends_with('\n') {
                        out.push_str("\r\n");
                    }
                }
            }
            write_atomically(path, out.as_bytes())?;
            written_to = Some(path.to_path_buf());
        } else {
            // Rewriting would lose entries or change the file's format: write beside it.
            let side = path.with_extension("ringbook.vcf");
            write_atomically(&side, out.as_bytes())?;
            written_to = Some(side);
        }
    }
    // The base only changes when the lists did (rewriting 10,000 rows for nothing is slow).
    let mut sorted_base = base.clone();
    sorted_base.sort_by(|a, b| a.mobile.cmp(&b.mobile));
    let mut sorted_new = new_im.clone();
    sorted_new.sort_by(|a, b| a.mobile.cmp(&b.mobile));
    if sorted_base != sorted_new || !plan.is_empty() {
        ctx.store.set_phonebook_base(&new_im).await?;
    }

    let count = |changes: &[Change]| {
        let (mut a, mut u, mut d) = (0, 0, 0);
        for c in changes {
            match c {
                Change::Add(_) => a += 1,
                Change::Update(_) => u += 1,
                Change::Delete(_) => d += 1,
            }
        }
        (a, u, d)
    };
    let (ia, iu, id) = count(&plan.to_im);
    let (pa, pu, pd) = count(&plan.to_phonebook);
    println!("phone book -> contacts: {ia} added, {iu} updated, {id} deleted");
    println!("contacts -> phone book: {pa} added, {pu} updated, {pd} deleted");
    for c in &plan.conflicts {
        println!(
            "conflict on {}: {:?} ({}), resolved",
            c.key,
            c.kind,
            c.fields.join(", ")
        );
    }
    if let Some(p) = written_to {
        if p != path {
            println!("the phone book has entries or a format Ringbook cannot rewrite; wrote the merged book to {}", p.display());
        } else {
            println!("wrote {}", p.display());
        }
    }
    let _ = new_pb;
    Ok(())
}

/// Client ↔ server sync (PB-11), then the contacts' presence (PB-13).
pub async fn server_sync(ctx: &Ctx, required: bool) -> anyhow::Result<()> {
    let Ok(client) = ctx.authed() else {
        if required {
            anyhow::bail!("not logged in; run `ringbook login --phone NUMBER` first, or give --phonebook FILE --local");
        }
        println!("not logged in: the contacts stay on this device until `ringbook contacts sync`");
        return Ok(());
    };
    let s = ctx
        .store
        .sync_with_server(client)
        .await
        .context("contact sync with the server failed")?;
    println!(
        "server: uploaded {}, deleted {}, received {} changes, {} Ringbook users in the book",
        s.uploaded, s.deleted_on_server, s.received, s.users
    );
    if let Ok(p) = client.contacts_presence().await {
        ctx.store.record_presence(&p.presence).await?;
    }
    Ok(())
}

async fn watch_loop(
    ctx: &Ctx,
    phonebook: Option<&Path>,
    region: &str,
    local: bool,
    interval: u64,
    server_every: u64,
) -> anyhow::Result<()> {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last_seen = None;
    let mut last_server = None::<std::time::Instant>;
    println!(
        "watching{}; Ctrl-C to stop",
        phonebook
            .map(|p| format!(" {}", p.display()))
            .unwrap_or_default()
    );
    loop {
        if let Some(p) = phonebook {
            let now = mtime(p);
            if last_seen.is_none() || now != last_seen.flatten() {
                if let Err(e) = phonebook_sync(ctx, p, region).await {
                    eprintln!("phone-book sync failed: {e:#}");
                }
                last_seen = Some(mtime(p));
            }
        }
        if !local && last_server.is_none_or(|t| t.elapsed() >= Duration::from_secs(server_every)) {
            if let Err(e) = server_sync(ctx, false).await {
                eprintln!("server sync failed: {e:#}");
            }
            last_server = Some(std::time::Instant::now());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(interval.max(1))) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
