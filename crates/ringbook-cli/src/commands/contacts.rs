//! `ringbook contacts …`: phone-book import (PB-8), phone book ↔ client two-way sync with write
//! back and a watch mode (PB-9, PB-10), export, editing the contact list, and client ↔ server
//! sync (PB-11).
//!
//! The phone book is the user's: it is read and written through [`PhoneBook`], which keeps
//! every entry's bytes, so a write-back or an export changes only the `X-RINGBOOK-*`
//! properties and the contacts Ringbook added, edited or removed. The account's own number (a
//! phone's "my card") stays in the phone book but is never one of the contacts.

use crate::ctx::{Ctx, Global};
use anyhow::Context;
use ringbook_phonebook::{
    normalize_mobile, normalize_number, sync_plan, Change, Format, PhoneBook, PhonebookContact,
    SkipReason, VcardVersion, EXT_NICKNAME, EXT_PREFIX, EXT_SIGNATURE, EXT_STATUS, EXT_USER,
};
use std::collections::{BTreeMap, HashMap};
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
    /// Add a contact to the list (written into the phone book at the next `sync --phonebook`).
    Add {
        number: String,
        /// The name to show (default: the number).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, env = "RINGBOOK_REGION", default_value = "CN")]
        region: String,
    },
    /// Rename a contact (the phone book's card follows at the next `sync --phonebook`).
    Edit {
        number: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "RINGBOOK_REGION", default_value = "CN")]
        region: String,
    },
    /// Remove a contact from the list and the server (and from the phone book at the next
    /// `sync --phonebook`).
    Remove {
        number: String,
        #[arg(long, env = "RINGBOOK_REGION", default_value = "CN")]
        region: String,
    },
    /// Contacts that reached this account in a vCard sent by MMS (syncs with the server first).
    Received,
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
    /// Write the contact list as vCard or CSV, with the IM data in X-RINGBOOK-* properties
    /// (PB-10). Cards read from a phone book are written as they were read.
    Export {
        file: PathBuf,
        /// vCard version of cards Ringbook makes itself (contacts added here): 2.1, 3.0 or 4.0.
        #[arg(long, default_value = "3.0")]
        vcard_version: String,
        /// vcard or csv (default: csv for a .csv file, else vcard). CSV keeps every column of
        /// the CSV phone book the contacts came from.
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        #[arg(long, env = "RINGBOOK_REGION", default_value = "CN")]
        region: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Vcard,
    Csv,
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
        ContactsCmd::Add {
            number,
            name,
            region,
        } => add(&ctx, &number, name, &region).await,
        ContactsCmd::Edit {
            number,
            name,
            region,
        } => edit(&ctx, &number, &name, &region).await,
        ContactsCmd::Remove { number, region } => remove(&ctx, &number, &region).await,
        ContactsCmd::Received => received(&ctx).await,
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
            format,
            region,
        } => export(&ctx, &file, &vcard_version, format, &region).await,
    }
}

/// `n thing` / `n things`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Reads a phone book with a progress bar on big files; prints every skipped entry.
fn read_phonebook(path: &Path, region: &str, verbose: bool) -> anyhow::Result<PhoneBook> {
    let data = std::fs::read(path).with_context(|| format!("cannot import {}", path.display()))?;
    let bar = indicatif::ProgressBar::hidden();
    let show = crate::terminal::interactive();
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
    let book = PhoneBook::parse_with_progress(&data, region, &mut progress)
        .with_context(|| format!("cannot import {}", path.display()))?;
    bar.finish_and_clear();
    if verbose {
        for (i, e) in book.entries().iter().enumerate() {
            if let Err(reason) = &e.parsed {
                let name = e.name.as_deref().unwrap_or("(no name)");
                println!("skipped entry {} {name:?}: {reason}", i + 1);
            }
        }
    }
    Ok(book)
}

/// IM data (PB-10) is derived, never a phone-book edit: drop it when reading the phone book.
fn strip_im_data(mut c: PhonebookContact) -> PhonebookContact {
    for k in [EXT_STATUS, EXT_USER, EXT_NICKNAME, EXT_SIGNATURE] {
        c.extensions.remove(k);
    }
    c
}

/// The account's own number, once logged in.
async fn own_number(ctx: &Ctx) -> anyhow::Result<Option<String>> {
    Ok(ctx.store.own_user().await?.number)
}

/// Tells once (per home) that the own number stays in the phone book but is not a contact.
async fn notice_own_card(ctx: &Ctx, own: &str) -> anyhow::Result<()> {
    if ctx.store.get("own_card_noticed").await?.as_deref() != Some(own) {
        println!(
            "note: your own number {own} is in the phone book (your own card); it stays there but is not one of your contacts"
        );
        ctx.store.set("own_card_noticed", own).await?;
    }
    Ok(())
}

/// The book's contacts (IM data stripped) without the own number, with each one's entry index.
fn book_contacts(book: &PhoneBook, own: Option<&str>) -> Vec<(usize, PhonebookContact)> {
    book.entries()
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.parsed.as_ref().ok().map(|c| (i, c)))
        .filter(|(_, c)| Some(c.mobile.as_str()) != own)
        .map(|(i, c)| (i, strip_im_data(c.clone())))
        .collect()
}

/// Keeps each contact's phone-book entry beside it, for an export that writes the card whole.
async fn store_sources(
    ctx: &Ctx,
    book: &PhoneBook,
    contacts: &[(usize, PhonebookContact)],
) -> anyhow::Result<()> {
    let sources: Vec<(String, ringbook_phonebook::EntrySource, i64)> = contacts
        .iter()
        .filter_map(|(i, c)| {
            book.source(*i)
                .map(|s| (c.mobile.clone(), s, i64::try_from(*i).unwrap_or(i64::MAX)))
        })
        .collect();
    ctx.store.set_sources(&sources).await?;
    Ok(())
}

async fn import(ctx: &Ctx, file: &Path, region: &str, local: bool) -> anyhow::Result<()> {
    let book = read_phonebook(file, region, true)?;
    let own = own_number(ctx).await?;
    let entries = book_contacts(&book, own.as_deref());
    let own_in_book = own.as_deref().filter(|o| book.position(o).is_some());
    let contacts: Vec<PhonebookContact> = entries.iter().map(|(_, c)| c.clone()).collect();
    let applied = ctx.store.upsert_local(&contacts, true).await?;
    store_sources(ctx, &book, &entries).await?;
    let skipped = book.entries().iter().filter(|e| e.parsed.is_err()).count();
    println!(
        "imported {} ({} new, {} updated, {} unchanged), skipped {}",
        plural(contacts.len(), "contact", "contacts"),
        applied.added,
        applied.updated,
        applied.unchanged,
        skipped
    );
    if let Some(own) = own_in_book {
        notice_own_card(ctx, own).await?;
    }
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
        if c.received_via.as_deref() == Some("mms") {
            tags.push("received by MMS");
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
    println!("{}", plural(contacts.len(), "contact", "contacts"));
    Ok(())
}

/// A number as the user typed it, in E.164 (any valid number, for edit and remove).
fn e164(number: &str, region: &str) -> anyhow::Result<String> {
    normalize_number(number, region)
        .map(|(n, _)| n)
        .map_err(|e| anyhow::anyhow!("{number:?} is not a valid phone number: {e}"))
}

async fn add(ctx: &Ctx, number: &str, name: Option<String>, region: &str) -> anyhow::Result<()> {
    let mobile = normalize_mobile(number, region)
        .map_err(|e| anyhow::anyhow!("{number:?} cannot be a contact: {e}"))?;
    if own_number(ctx).await?.as_deref() == Some(mobile.as_str()) {
        anyhow::bail!("{mobile} is your own number; it cannot be one of your contacts");
    }
    let existing = ctx.store.local_contacts().await?;
    if let Some(c) = existing.iter().find(|c| c.contact.mobile == mobile) {
        anyhow::bail!(
            "{mobile} is already a contact ({}); rename it with `ringbook contacts edit {mobile} --name NAME`",
            c.contact.display_name
        );
    }
    let name = name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| mobile.clone());
    let contact = PhonebookContact {
        display_name: name.clone(),
        mobile: mobile.clone(),
        ..PhonebookContact::default()
    };
    ctx.store.upsert_local(&[contact], false).await?;
    println!("added {mobile} ({name})");
    sync_after_edit(ctx).await
}

async fn edit(ctx: &Ctx, number: &str, name: &str, region: &str) -> anyhow::Result<()> {
    let number = e164(number, region)?;
    let name = name.trim();
    if name.is_empty() {
        anyhow::bail!("the name cannot be empty");
    }
    let Some(mut c) = ctx
        .store
        .local_contacts()
        .await?
        .into_iter()
        .find(|c| c.contact.mobile == number)
    else {
        anyhow::bail!("{number} is not one of your contacts");
    };
    c.contact.display_name = name.to_string();
    ctx.store.upsert_local(&[c.contact], false).await?;
    println!("renamed {number} to {name}");
    sync_after_edit(ctx).await
}

async fn remove(ctx: &Ctx, number: &str, region: &str) -> anyhow::Result<()> {
    let number = e164(number, region)?;
    if ctx
        .store
        .delete_local(std::slice::from_ref(&number))
        .await?
        == 0
    {
        anyhow::bail!("{number} is not one of your contacts");
    }
    println!("removed {number}");
    sync_after_edit(ctx).await
}

/// After an edit of the list: the server gets it at once when logged in; the phone book at
/// the next `contacts sync --phonebook` (or now, when a phone book was synced before).
async fn sync_after_edit(ctx: &Ctx) -> anyhow::Result<()> {
    if ctx.client.token().is_some() {
        server_sync(ctx, false).await?;
    }
    if ctx.store.get("phonebook_path").await?.is_some() {
        println!("the phone book follows at the next `ringbook contacts sync`");
    }
    Ok(())
}

async fn received(ctx: &Ctx) -> anyhow::Result<()> {
    if ctx.client.token().is_some() {
        server_sync(ctx, false).await?;
    }
    let mut list: Vec<_> = ctx
        .store
        .local_contacts()
        .await?
        .into_iter()
        .filter(|c| c.received_via.is_some())
        .collect();
    list.sort_by_key(|c| std::cmp::Reverse(c.received_at));
    if list.is_empty() {
        println!("no contacts received by MMS");
        return Ok(());
    }
    for c in &list {
        let when = c.received_at.map(crate::time::local).unwrap_or_default();
        println!(
            "{}  {}  (received by MMS {when})",
            c.contact.mobile, c.contact.display_name
        );
    }
    println!(
        "{}",
        plural(list.len(), "contact received", "contacts received")
    );
    Ok(())
}

/// The IM data (PB-10) of each local contact as `X-RINGBOOK-*` properties.
async fn im_data(ctx: &Ctx) -> anyhow::Result<HashMap<String, BTreeMap<String, String>>> {
    Ok(ctx
        .store
        .local_contacts()
        .await?
        .into_iter()
        .map(|l| {
            let mut ext: BTreeMap<String, String> = l
                .contact
                .extensions
                .iter()
                .filter(|(k, _)| k.starts_with(EXT_PREFIX))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if l.is_user {
                ext.insert(EXT_USER.into(), "1".into());
            }
            for (k, v) in [
                (EXT_STATUS, &l.im_status),
                (EXT_NICKNAME, &l.nickname),
                (EXT_SIGNATURE, &l.signature),
            ] {
                if let Some(v) = v {
                    ext.insert(k.into(), v.clone());
                }
            }
            (l.contact.mobile, ext)
        })
        .collect())
}

/// The header of a CSV export when no contact came from a CSV phone book (Google's layout).
const GOOGLE_CSV_HEADER: &str = "Name,Given Name,Family Name,Nickname,Notes,Group Membership,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Organization 1 - Name,Organization 1 - Title\r\n";

async fn export(
    ctx: &Ctx,
    file: &Path,
    version: &str,
    format: Option<ExportFormat>,
    region: &str,
) -> anyhow::Result<()> {
    let version = VcardVersion::parse(version)
        .with_context(|| format!("unsupported vCard version {version:?}; use 2.1, 3.0 or 4.0"))?;
    let format = format.unwrap_or_else(|| match file.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => ExportFormat::Csv,
        _ => ExportFormat::Vcard,
    });
    let mut list = ctx.store.local_contacts().await?;
    let sources = ctx.store.sources().await?;
    // The phone book's order first, then contacts added here, by name.
    list.sort_by_key(|c| {
        sources
            .get(&c.contact.mobile)
            .map_or(i64::MAX, |(_, pos)| *pos)
    });
    let mut book = match format {
        ExportFormat::Vcard => PhoneBook::new_vcard(version, region)?,
        ExportFormat::Csv => match sources.values().find(|(s, _)| s.format == Format::Csv) {
            Some((s, _)) => PhoneBook::new_csv_like(s, region)?,
            None => PhoneBook::parse(GOOGLE_CSV_HEADER.as_bytes(), region)?,
        },
    };
    for c in &list {
        let pushed = sources
            .get(&c.contact.mobile)
            .is_some_and(|(s, _)| book.push_source(s));
        // Edits made here since the entry was read change only the edited properties.
        if !(pushed && book.update(&c.contact.mobile, &c.contact)) {
            book.add(&c.contact);
        }
    }
    book.set_all_extensions(&im_data(ctx).await?);
    write_atomically(file, &book.to_bytes())?;
    println!(
        "exported {} to {}",
        plural(list.len(), "contact", "contacts"),
        file.display()
    );
    Ok(())
}

fn write_atomically(file: &Path, data: &[u8]) -> anyhow::Result<()> {
    let tmp = file.with_extension("ringbook-tmp");
    std::fs::write(&tmp, data).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot replace {}", file.display()))?;
    Ok(())
}

/// One two-way phone book ↔ IM contacts sync (PB-9). Conflict rule: see `docs/contacts-presence.md`.
pub async fn phonebook_sync(ctx: &Ctx, path: &Path, region: &str) -> anyhow::Result<()> {
    let data = if path.exists() {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
    } else {
        Vec::new()
    };
    let mut book = if data.iter().all(u8::is_ascii_whitespace) {
        PhoneBook::parse(&data, region)?
    } else {
        read_phonebook(path, region, false)?
    };
    let own = own_number(ctx).await?;
    let not_own = |c: &PhonebookContact| Some(c.mobile.as_str()) != own.as_deref();
    let phonebook: Vec<PhonebookContact> = book_contacts(&book, own.as_deref())
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let base: Vec<PhonebookContact> = ctx
        .store
        .phonebook_base()
        .await?
        .into_iter()
        .filter(not_own)
        .collect();
    let im: Vec<PhonebookContact> = ctx
        .store
        .local_contacts()
        .await?
        .into_iter()
        .map(|c| c.contact)
        .filter(not_own)
        .collect();
    let plan = sync_plan(&base, &phonebook, &im);
    let (_, new_im) = plan.apply(&phonebook, &im);

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

    // Write back: the book's own entries are edited in place; only what changed, and the
    // X-RINGBOOK-* properties, differ from the file as it was.
    book.apply(&plan.to_phonebook);
    book.set_all_extensions(&im_data(ctx).await?);
    let out = book.to_bytes();
    let written = out != data;
    if written {
        write_atomically(path, &out)?;
    }
    store_sources(ctx, &book, &book_contacts(&book, own.as_deref())).await?;
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
    if let Some(own) = own.as_deref().filter(|o| book.position(o).is_some()) {
        notice_own_card(ctx, own).await?;
    }
    let unreadable = book
        .entries()
        .iter()
        .filter(|e| matches!(e.parsed, Err(SkipReason::Malformed(_))))
        .count();
    if unreadable > 0 {
        println!(
            "{} of the phone book could not be read; kept as they are",
            plural(unreadable, "entry", "entries")
        );
    }
    if written {
        println!("wrote {}", path.display());
    }
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
    if let Some(own) = &s.own_number_skipped {
        notice_own_card(ctx, own).await?;
    }
    println!(
        "server: uploaded {}, deleted {}, received {}, {} in the book",
        s.uploaded,
        s.deleted_on_server,
        plural(s.received, "change", "changes"),
        plural(s.users, "Ringbook user", "Ringbook users")
    );
    if s.received_by_mms > 0 {
        println!(
            "{} by MMS; see `ringbook contacts received`",
            plural(s.received_by_mms, "contact received", "contacts received")
        );
    }
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
