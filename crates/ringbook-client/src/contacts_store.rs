//! The client's IM contact table (PB-7), its phone-book sync base (PB-9), the server sync
//! (PB-11) and the process/message → status keyword table (PB-15).

use crate::store::now_ms;
use crate::{Client, ClientError, ClientStore};
use ringbook_phonebook::{EntrySource, Format, PhonebookContact};
use ringbook_proto::contacts::{ContactEntry, ContactSyncRequest, ContactUpsert};
use ringbook_proto::presence::PresenceInfo;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// Upserts + deletes per sync request (the server accepts up to 2,000 by default).
pub const SYNC_BATCH: usize = 1000;
/// Settings key of the server sync cursor.
pub const CURSOR_KEY: &str = "contacts_cursor";

/// One row of the IM contact table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalContact {
    pub contact: PhonebookContact,
    pub created_at: i64,
    pub updated_at: i64,
    pub synced_phonebook: bool,
    pub synced_server: bool,
    pub is_user: bool,
    pub flag: i64,
    pub im_status: Option<String>,
    pub self_status: Option<String>,
    pub nickname: Option<String>,
    pub signature: Option<String>,
    /// How the contact reached this device when another channel brought it (`mms`: a vCard
    /// sent in an MMS, MM-1), and when.
    pub received_via: Option<String>,
    pub received_at: Option<i64>,
}

/// What a local change did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

/// What a server sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerSync {
    pub uploaded: usize,
    pub deleted_on_server: usize,
    pub received: usize,
    pub users: usize,
    pub requests: usize,
    pub cursor: i64,
    /// The account's own number was in the contact list: it was kept off the server (and out
    /// of this list) instead of failing the sync.
    pub own_number_skipped: Option<String>,
    /// Contacts that arrived from a vCard sent in an MMS (MM-1) in this sync.
    pub received_by_mms: usize,
}

/// One keyword of the status mapping table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusKeyword {
    pub id: i64,
    pub keyword: String,
    pub status: String,
    /// 1 process name, 2 system message, 3 key message.
    pub kind: i64,
    pub added_at: i64,
}

/// A contact's stored entry: bytes, format name, place in the book.
type StoredSource = (Option<Vec<u8>>, Option<String>, Option<i64>);

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Vcard => "vcard",
        Format::Csv => "csv",
    }
}

fn decode(data: &str, number: &str, name: &str) -> PhonebookContact {
    serde_json::from_str(data).unwrap_or_else(|_| PhonebookContact {
        display_name: name.to_string(),
        mobile: number.to_string(),
        ..Default::default()
    })
}

fn encode(c: &PhonebookContact) -> Result<String, ClientError> {
    serde_json::to_string(c).map_err(|e| ClientError::Protocol(e.to_string()))
}

fn from_server(e: &ContactEntry) -> PhonebookContact {
    match serde_json::from_value::<PhonebookContact>(e.fields.clone()) {
        Ok(c) if c.mobile == e.phone => c,
        _ => PhonebookContact {
            display_name: if e.name.is_empty() {
                e.phone.clone()
            } else {
                e.name.clone()
            },
            mobile: e.phone.clone(),
            groups: e.group.iter().cloned().collect(),
            ..Default::default()
        },
    }
}

fn to_server(c: &PhonebookContact) -> ContactUpsert {
    let mut fields = serde_json::to_value(c).ok();
    if fields.as_ref().is_some_and(|f| f.to_string().len() > 3500) {
        // Too big for the server's per-contact limit: keep the essentials.
        fields = Some(
            serde_json::json!({"display_name": c.display_name, "mobile": c.mobile, "groups": c.groups}),
        );
    }
    ContactUpsert {
        phone: c.mobile.clone(),
        name: c.display_name.clone(),
        group: c.groups.first().cloned(),
        fields,
    }
}

impl ClientStore {
    /// Live IM contacts, by number.
    pub async fn local_contacts(&self) -> Result<Vec<LocalContact>, ClientError> {
        let rows = sqlx::query(
            "SELECT number, name, created_at, updated_at, synced_phonebook, synced_server, data, is_user, flag, \
             im_status, self_status, nickname, signature, received_via, received_at FROM contacts \
             WHERE deleted = 0 ORDER BY name, number",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let number: String = r.try_get("number")?;
                let name: String = r.try_get("name")?;
                let data: String = r.try_get("data")?;
                Ok(LocalContact {
                    contact: decode(&data, &number, &name),
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    synced_phonebook: r.try_get::<i64, _>("synced_phonebook")? != 0,
                    synced_server: r.try_get::<i64, _>("synced_server")? != 0,
                    is_user: r.try_get::<i64, _>("is_user")? != 0,
                    flag: r.try_get("flag")?,
                    im_status: r.try_get("im_status")?,
                    self_status: r.try_get("self_status")?,
                    nickname: r.try_get("nickname")?,
                    signature: r.try_get("signature")?,
                    received_via: r.try_get("received_via")?,
                    received_at: r.try_get("received_at")?,
                })
            })
            .collect()
    }

    /// Adds or edits contacts (one transaction); changed rows must go to the server again.
    pub async fn upsert_local(
        &self,
        contacts: &[PhonebookContact],
        from_phonebook: bool,
    ) -> Result<Applied, ClientError> {
        let mut out = Applied::default();
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        for c in contacts {
            let data = encode(c)?;
            let existing = sqlx::query("SELECT data, deleted FROM contacts WHERE number = $1")
                .bind(&c.mobile)
                .fetch_optional(&mut *tx)
                .await?;
            match existing {
                Some(r)
                    if r.try_get::<i64, _>("deleted")? == 0
                        && r.try_get::<String, _>("data")? == data =>
                {
                    out.unchanged += 1;
                    continue;
                }
                Some(r) if r.try_get::<i64, _>("deleted")? == 0 => out.updated += 1,
                _ => out.added += 1,
            }
            sqlx::query(
                "INSERT INTO contacts (number, name, created_at, updated_at, synced_phonebook, synced_server, deleted, data) \
                 VALUES ($1, $2, $3, $3, $4, 0, 0, $5) ON CONFLICT (number) DO UPDATE SET name = excluded.name, \
                 updated_at = excluded.updated_at, synced_phonebook = excluded.synced_phonebook, synced_server = 0, \
                 deleted = 0, data = excluded.data",
            )
            .bind(&c.mobile)
            .bind(&c.display_name)
            .bind(now)
            .bind(i64::from(from_phonebook))
            .bind(data)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes contacts by number (kept as tombstones until the server has the deletion).
    pub async fn delete_local(&self, numbers: &[String]) -> Result<usize, ClientError> {
        let mut n = 0;
        let mut tx = self.pool().begin().await?;
        for number in numbers {
            n += sqlx::query(
                "UPDATE contacts SET deleted = 1, synced_server = 0, updated_at = $2 WHERE number = $1 AND deleted = 0",
            )
            .bind(number)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Keeps the phone-book entry each contact was read from (PB-8 … PB-10): `(number,
    /// entry, place in the book)`. Contacts not listed keep theirs.
    pub async fn set_sources(
        &self,
        sources: &[(String, EntrySource, i64)],
    ) -> Result<(), ClientError> {
        // One read, then writes only for what changed: a sync of an unchanged 10,000-card
        // book writes nothing.
        let rows = sqlx::query(
            "SELECT number, source, source_format, source_pos FROM contacts WHERE deleted = 0",
        )
        .fetch_all(self.pool())
        .await?;
        let mut stored: HashMap<String, StoredSource> = HashMap::with_capacity(rows.len());
        for r in &rows {
            stored.insert(
                r.try_get("number")?,
                (
                    r.try_get("source")?,
                    r.try_get("source_format")?,
                    r.try_get("source_pos")?,
                ),
            );
        }
        let mut tx = self.pool().begin().await?;
        for (number, source, pos) in sources {
            match stored.get(number) {
                None => continue,
                Some((bytes, format, p))
                    if bytes.as_deref() == Some(source.bytes.as_slice())
                        && format.as_deref() == Some(format_name(source.format))
                        && *p == Some(*pos) =>
                {
                    continue
                }
                Some(_) => {}
            }
            sqlx::query(
                "UPDATE contacts SET source = $2, source_format = $3, source_pos = $4 WHERE number = $1",
            )
            .bind(number)
            .bind(&source.bytes)
            .bind(format_name(source.format))
            .bind(pos)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The phone-book entries of the live contacts, by number, with their place in the book.
    pub async fn sources(&self) -> Result<HashMap<String, (EntrySource, i64)>, ClientError> {
        let rows = sqlx::query(
            "SELECT number, source, source_format, source_pos FROM contacts \
             WHERE deleted = 0 AND source IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in &rows {
            let format = match r.try_get::<Option<String>, _>("source_format")?.as_deref() {
                Some("csv") => Format::Csv,
                _ => Format::Vcard,
            };
            out.insert(
                r.try_get("number")?,
                (
                    EntrySource {
                        format,
                        bytes: r.try_get("source")?,
                    },
                    r.try_get::<Option<i64>, _>("source_pos")?
                        .unwrap_or(i64::MAX),
                ),
            );
        }
        Ok(out)
    }

    /// Forgets a contact without telling the server (the account's own number, which must
    /// never be one of its contacts); returns whether there was one.
    pub async fn forget_local(&self, number: &str) -> Result<bool, ClientError> {
        let n = sqlx::query("DELETE FROM contacts WHERE number = $1")
            .bind(number)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// The contact list as it was at the last phone-book sync.
    pub async fn phonebook_base(&self) -> Result<Vec<PhonebookContact>, ClientError> {
        let rows = sqlx::query("SELECT number, data FROM phonebook_sync_base ORDER BY number")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let number: String = r.try_get("number")?;
                let data: String = r.try_get("data")?;
                Ok(decode(&data, &number, &number))
            })
            .collect()
    }

    /// Records a finished phone-book sync: `list` is both sides now.
    pub async fn set_phonebook_base(&self, list: &[PhonebookContact]) -> Result<(), ClientError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM phonebook_sync_base")
            .execute(&mut *tx)
            .await?;
        for c in list {
            sqlx::query("INSERT INTO phonebook_sync_base (number, data) VALUES ($1, $2) ON CONFLICT (number) DO NOTHING")
                .bind(&c.mobile)
                .bind(encode(c)?)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE contacts SET synced_phonebook = 1 WHERE deleted = 0")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores the presence the server reported for contacts.
    pub async fn record_presence(&self, list: &[PresenceInfo]) -> Result<(), ClientError> {
        let mut tx = self.pool().begin().await?;
        for p in list {
            sqlx::query(
                "UPDATE contacts SET im_status = $2, self_status = $3, nickname = $4, signature = $5 WHERE number = $1",
            )
            .bind(&p.phone)
            .bind(p.im_status.as_str())
            .bind(p.self_status.clone())
            .bind(p.nickname.clone())
            .bind(p.signature.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Incremental two-way sync with the server (PB-11): uploads what changed here since the
    /// last sync (in batches), applies what changed there, learns which contacts are users.
    pub async fn sync_with_server(&self, client: &Client) -> Result<ServerSync, ClientError> {
        let mut cursor: i64 = self
            .get(CURSOR_KEY)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // The account's own number is never uploaded as a contact (the server refuses it):
        // it stays in the phone book, and leaves this list without a word to the server.
        let own = self.own_user().await?.number;
        let mut own_number_skipped = None;
        if let Some(own) = &own {
            if self.forget_local(own).await? {
                own_number_skipped = Some(own.clone());
            }
        }
        let rows =
            sqlx::query("SELECT number, name, data, deleted FROM contacts WHERE synced_server = 0")
                .fetch_all(self.pool())
                .await?;
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for r in &rows {
            let number: String = r.try_get("number")?;
            if r.try_get::<i64, _>("deleted")? != 0 {
                deletes.push(number);
            } else {
                let name: String = r.try_get("name")?;
                let data: String = r.try_get("data")?;
                upserts.push(to_server(&decode(&data, &number, &name)));
            }
        }
        let mut summary = ServerSync {
            uploaded: upserts.len(),
            deleted_on_server: deletes.len(),
            own_number_skipped,
            ..Default::default()
        };
        let mut batches: Vec<ContactSyncRequest> = Vec::new();
        for chunk in upserts.chunks(SYNC_BATCH) {
            batches.push(ContactSyncRequest {
                since: 0,
                upserts: chunk.to_vec(),
                deletes: vec![],
            });
        }
        for chunk in deletes.chunks(SYNC_BATCH) {
            batches.push(ContactSyncRequest {
                since: 0,
                upserts: vec![],
                deletes: chunk.to_vec(),
            });
        }
        if batches.is_empty() {
            batches.push(ContactSyncRequest::default());
        }
        let mut users = Vec::new();
        for mut batch in batches {
            batch.since = cursor;
            let resp = client.sync_contacts(&batch).await?;
            summary.requests += 1;
            let sent: Vec<String> = batch
                .upserts
                .iter()
                .map(|u| u.phone.clone())
                .chain(batch.deletes.iter().cloned())
                .collect();
            let mut tx = self.pool().begin().await?;
            for n in &sent {
                sqlx::query("UPDATE contacts SET synced_server = 1 WHERE number = $1")
                    .bind(n)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM contacts WHERE number = $1 AND deleted = 1")
                    .bind(n)
                    .execute(&mut *tx)
                    .await?;
            }
            for e in &resp.changes {
                if own.as_deref() == Some(e.phone.as_str()) {
                    continue;
                }
                summary.received += 1;
                if e.deleted {
                    sqlx::query("DELETE FROM contacts WHERE number = $1")
                        .bind(&e.phone)
                        .execute(&mut *tx)
                        .await?;
                    continue;
                }
                let c = from_server(e);
                sqlx::query(
                    "INSERT INTO contacts (number, name, created_at, updated_at, synced_phonebook, synced_server, deleted, data, flag) \
                     VALUES ($1, $2, $3, $3, 0, 1, 0, $4, $5) ON CONFLICT (number) DO UPDATE SET name = excluded.name, \
                     updated_at = excluded.updated_at, synced_server = 1, deleted = 0, flag = excluded.flag, \
                     synced_phonebook = CASE WHEN contacts.data = excluded.data THEN contacts.synced_phonebook ELSE 0 END, \
                     data = excluded.data",
                )
                .bind(&c.mobile)
                .bind(&c.display_name)
                .bind(now_ms())
                .bind(encode(&c)?)
                .bind(e.flag)
                .execute(&mut *tx)
                .await?;
                if e.fields.get("source").and_then(|s| s.as_str()) == Some("mms") {
                    // A vCard sent in an MMS (MM-1): remembered so `contacts received` lists it.
                    let n = sqlx::query(
                        "UPDATE contacts SET received_via = 'mms', received_at = $2 \
                         WHERE number = $1 AND received_via IS NULL",
                    )
                    .bind(&c.mobile)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    summary.received_by_mms += n as usize;
                }
            }
            tx.commit().await?;
            cursor = resp.version;
            self.set(CURSOR_KEY, &cursor.to_string()).await?;
            users = resp.users;
        }
        let user_set: HashSet<&str> = users.iter().map(|u| u.phone.as_str()).collect();
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE contacts SET is_user = 0, flag = 1")
            .execute(&mut *tx)
            .await?;
        for u in &users {
            sqlx::query("UPDATE contacts SET is_user = 1, flag = $2 WHERE number = $1")
                .bind(&u.phone)
                .bind(u.flag)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        summary.users = user_set.len();
        summary.cursor = cursor;
        Ok(summary)
    }

    pub async fn status_keywords(&self) -> Result<Vec<StatusKeyword>, ClientError> {
        let rows = sqlx::query("SELECT id, keyword, status, kind, added_at FROM status_keywords ORDER BY kind, keyword")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StatusKeyword {
                    id: r.try_get("id")?,
                    keyword: r.try_get("keyword")?,
                    status: r.try_get("status")?,
                    kind: r.try_get("kind")?,
                    added_at: r.try_get("added_at")?,
                })
            })
            .collect()
    }

    /// Adds a keyword (or changes the status of an existing one of the same kind).
    pub async fn add_status_keyword(
        &self,
        keyword: &str,
        status: &str,
        kind: i64,
    ) -> Result<(), ClientError> {
        sqlx::query(
            "INSERT INTO status_keywords (keyword, status, kind, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (keyword, kind) DO UPDATE SET status = excluded.status, added_at = excluded.added_at",
        )
        .bind(keyword.to_lowercase())
        .bind(status)
        .bind(kind)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a keyword (of every kind when `kind` is `None`); returns how many went.
    pub async fn remove_status_keyword(
        &self,
        keyword: &str,
        kind: Option<i64>,
    ) -> Result<u64, ClientError> {
        let q = match kind {
            Some(k) => sqlx::query("DELETE FROM status_keywords WHERE keyword = $1 AND kind = $2")
                .bind(keyword.to_lowercase())
                .bind(k),
            None => sqlx::query("DELETE FROM status_keywords WHERE keyword = $1")
                .bind(keyword.to_lowercase()),
        };
        Ok(q.execute(self.pool()).await?.rows_affected())
    }
}
