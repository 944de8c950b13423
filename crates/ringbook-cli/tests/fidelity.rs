//! The phone book is the user's (PB-8 … PB-10): the real `ringbook` binary against a real
//! server on phone books shaped like an iPhone export (vCard 3.0, `itemN.` groups, `X-ABLabel`,
//! a folded PHOTO), an Android export (vCard 2.1, quoted-printable, GBK) and a Google CSV export,
//! each holding the owner's own card, fixed lines, e-mails, addresses and photos. Import, two-way
//! sync with write-back and export change nothing but the added `X-RINGBOOK-*` properties; the
//! own number stays in the book and never reaches the server; `contacts add/edit/remove` flow
//! both ways.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use support::{login, ok, ringbook, sdk_login, stderr, stdout, ServerProcess};

const OWNER: &str = "+8613800138100";
const FRIEND: &str = "+8613800138101"; // Li Lei, a Ringbook user
const OTHER: &str = "+8613900000102"; // Han Meimei, not a user

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A vCard file without its `X-RINGBOOK-*` lines.
fn without_ringbook_lines(vcf: &[u8]) -> Vec<u8> {
    vcf.split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"X-RINGBOOK-"))
        .flatten()
        .copied()
        .collect()
}

/// A CSV file (rows end in CRLF, quoted line breaks are bare LF) without its trailing
/// `X-RINGBOOK-*` columns; also returns those column names.
fn without_ringbook_columns(csv: &str) -> (String, Vec<String>) {
    let header = csv.split("\r\n").next().unwrap();
    let names: Vec<&str> = header.split(',').collect();
    let first = names
        .iter()
        .position(|n| n.starts_with("X-RINGBOOK-"))
        .unwrap_or(names.len());
    let extra = names.len() - first;
    let stripped: Vec<String> = csv
        .split("\r\n")
        .map(|row| {
            let mut row = row.to_string();
            if !row.is_empty() {
                for _ in 0..extra {
                    let cut = row.rfind(',').unwrap();
                    row.truncate(cut);
                }
            }
            row
        })
        .collect();
    (
        stripped.join("\r\n"),
        names[first..].iter().map(|s| s.to_string()).collect(),
    )
}

struct World {
    srv: ServerProcess,
    dir: tempfile::TempDir,
    home: PathBuf,
}

fn world() -> World {
    let srv = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("owner");
    login(&srv, &home, OWNER, OWNER);
    login(&srv, &dir.path().join("friend"), FRIEND, FRIEND);
    World { srv, dir, home }
}

impl World {
    fn ok(&self, args: &[&str]) -> String {
        ok(&self.srv.url, &self.home, args)
    }

    fn book(&self, fixture_name: &str) -> (PathBuf, Vec<u8>) {
        let original = std::fs::read(fixture(fixture_name)).unwrap();
        let path = self.dir.path().join(fixture_name);
        std::fs::write(&path, &original).unwrap();
        (path, original)
    }

    /// The numbers the server holds in the owner's book.
    fn server_book(&self) -> Vec<String> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let token = {
                let store = ringbook_client::ClientStore::open(&self.home)
                    .await
                    .unwrap();
                store.get("token").await.unwrap().unwrap()
            };
            let c = ringbook_client::Client::new(&self.srv.url)
                .unwrap()
                .with_token(token);
            let mut list: Vec<String> = c
                .server_contacts()
                .await
                .unwrap()
                .contacts
                .into_iter()
                .map(|e| e.phone)
                .collect();
            list.sort();
            list
        })
    }
}

/// Import, sync with write-back, a second sync, export: checks shared by the three books.
fn import_sync_export(w: &World, name: &str) -> (PathBuf, Vec<u8>, Vec<u8>) {
    let (book, original) = w.book(name);
    let book_arg = book.to_str().unwrap();

    // Import: the own card is a notice, not an error; fixed-line-only entries are skipped.
    let out = w.ok(&["contacts", "import", book_arg]);
    assert!(out.contains("imported 2 contacts"), "{out}");
    assert!(
        out.contains(&format!("your own number {OWNER} is in the phone book")),
        "{out}"
    );
    assert!(out.contains("server: uploaded 2"), "{out}");
    assert_eq!(w.server_book(), vec![FRIEND.to_string(), OTHER.to_string()]);
    let list = w.ok(&["contacts", "list"]);
    assert!(!list.contains(OWNER), "{list}");
    assert!(list.contains(&format!("{FRIEND}  ")), "{list}");

    // Two-way sync writes the book back: only X-RINGBOOK-* is added (Li Lei is a user).
    let out = w.ok(&["contacts", "sync", "--phonebook", book_arg]);
    assert!(out.contains("wrote "), "{out}");
    assert!(
        !out.contains("your own number"),
        "the notice is given once: {out}"
    );
    let after = std::fs::read(&book).unwrap();
    assert_ne!(after, original, "the IM data was added");

    // A second sync changes nothing, and the server still never got the own number.
    let out = w.ok(&["contacts", "sync"]);
    assert!(!out.contains("wrote "), "{out}");
    assert_eq!(std::fs::read(&book).unwrap(), after);
    assert_eq!(w.server_book(), vec![FRIEND.to_string(), OTHER.to_string()]);

    let ext = if name.ends_with(".csv") { "csv" } else { "vcf" };
    let export = w.dir.path().join(format!("export-{name}.{ext}"));
    let out = w.ok(&["contacts", "export", export.to_str().unwrap()]);
    assert!(out.contains("exported 2 contacts"), "{out}");
    (book, original, std::fs::read(&export).unwrap())
}

fn vcard_book(name: &str) {
    let w = world();
    let (book, original, exported) = import_sync_export(&w, name);
    let after = std::fs::read(&book).unwrap();
    assert_eq!(
        without_ringbook_lines(&after),
        original,
        "the write-back differs in more than X-RINGBOOK-* lines:\n{}",
        String::from_utf8_lossy(&after)
    );
    let added: Vec<&[u8]> = after
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"X-RINGBOOK-"))
        .collect();
    assert!(
        added.iter().any(|l| l.starts_with(b"X-RINGBOOK-USER:1")),
        "{}",
        String::from_utf8_lossy(&after)
    );
    // The export holds the two contacts' own cards, each byte for byte plus X-RINGBOOK-*.
    let text = String::from_utf8_lossy(&exported);
    let cards: Vec<&[u8]> = exported
        .split_inclusive(|&b| b == b'\n')
        .collect::<Vec<_>>()
        .split_inclusive(|l| l.starts_with(b"END:VCARD"))
        .map(|lines| {
            let start = lines[0].as_ptr() as usize - exported.as_ptr() as usize;
            let len: usize = lines.iter().map(|l| l.len()).sum();
            &exported[start..start + len]
        })
        .collect();
    assert_eq!(cards.len(), 2, "{text}");
    for card in cards {
        let card = without_ringbook_lines(card);
        assert!(
            original.windows(card.len()).any(|w| w == card.as_slice()),
            "exported card is not the phone book's:\n{}",
            String::from_utf8_lossy(&card)
        );
    }
    assert!(text.contains("X-RINGBOOK-USER:1"), "{text}");
}

#[test]
fn iphone_book_keeps_every_property() {
    vcard_book("iphone.vcf");
}

#[test]
fn android_book_keeps_every_property() {
    vcard_book("android.vcf");
}

#[test]
fn google_csv_book_keeps_every_column() {
    let w = world();
    let (book, original, exported) = import_sync_export(&w, "google.csv");
    let original = String::from_utf8(original).unwrap();
    let after = String::from_utf8(std::fs::read(&book).unwrap()).unwrap();
    let (stripped, columns) = without_ringbook_columns(&after);
    assert_eq!(stripped, original, "{after}");
    assert!(columns.contains(&"X-RINGBOOK-USER".to_string()), "{after}");
    // The CSV export has every column of the phone book, and the two contacts' rows.
    let exported = String::from_utf8(exported).unwrap();
    let (stripped, _) = without_ringbook_columns(&exported);
    let mut lines = stripped.split("\r\n");
    assert_eq!(lines.next(), original.split("\r\n").next());
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 2, "{exported}");
    for row in rows {
        assert!(original.contains(row), "{row}");
    }
}

#[test]
fn add_edit_remove_flow_both_ways() {
    let w = world();
    let (book, original) = w.book("iphone.vcf");
    let book_arg = book.to_str().unwrap();
    w.ok(&["contacts", "sync", "--phonebook", book_arg]);

    // Added here: on the server at once, in the phone book at the next sync.
    let out = w.ok(&["contacts", "add", "137 0000 0103", "--name", "王五"]);
    assert!(out.contains("added +8613700000103 (王五)"), "{out}");
    assert!(w.server_book().contains(&"+8613700000103".to_string()));
    let out = w.ok(&["contacts", "sync"]);
    assert!(out.contains("contacts -> phone book: 1 added"), "{out}");
    let text = String::from_utf8(std::fs::read(&book).unwrap()).unwrap();
    assert!(
        text.ends_with(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:王五\r\nN:;;;;\r\nTEL;TYPE=CELL,PREF:+8613700000103\r\nEND:VCARD\r\n"
        ),
        "{text}"
    );

    // Renamed here: only the FN line of Li Lei's card changes.
    w.ok(&["contacts", "edit", FRIEND, "--name", "Li Lei (Initech)"]);
    w.ok(&["contacts", "sync"]);
    let text = String::from_utf8(std::fs::read(&book).unwrap()).unwrap();
    let expected_card = String::from_utf8(original.clone())
        .unwrap()
        .replace("FN:Li Lei\r\n", "FN:Li Lei (Initech)\r\n");
    assert!(
        without_ringbook_lines(text.as_bytes())
            .starts_with(without_ringbook_lines(expected_card.as_bytes()).as_slice()),
        "{text}"
    );

    // Removed here: gone from the server and, at the next sync, from the phone book.
    let out = w.ok(&["contacts", "remove", "+86 137 0000 0103"]);
    assert!(out.contains("removed +8613700000103"), "{out}");
    assert!(!w.server_book().contains(&"+8613700000103".to_string()));
    w.ok(&["contacts", "sync"]);
    let text = String::from_utf8(std::fs::read(&book).unwrap()).unwrap();
    assert!(!text.contains("王五"), "{text}");

    // Removed in the phone book: gone from the list and from the server.
    let without_other: String = text
        .split_inclusive("END:VCARD\r\n")
        .filter(|c| !c.contains("Han Meimei"))
        .collect();
    std::fs::write(&book, without_other).unwrap();
    let out = w.ok(&["contacts", "sync"]);
    assert!(
        out.contains("phone book -> contacts: 0 added, 0 updated, 1 deleted"),
        "{out}"
    );
    assert_eq!(w.server_book(), vec![FRIEND.to_string()]);

    // The own number cannot be added; unknown numbers cannot be edited or removed.
    let o = ringbook(&w.srv.url, &w.home, &["contacts", "add", OWNER]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("your own number"), "{}", stderr(&o));
    let o = ringbook(&w.srv.url, &w.home, &["contacts", "remove", "13700000199"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not one of your contacts"),
        "{}",
        stderr(&o)
    );
    let o = ringbook(
        &w.srv.url,
        &w.home,
        &["contacts", "add", OTHER.trim_start_matches('+')],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ringbook(&w.srv.url, &w.home, &["contacts", "add", OTHER]);
    assert!(stderr(&o).contains("already a contact"), "{}", stdout(&o));
}

/// An own number that reached the contact list before the login (import while logged out) is
/// kept off the server instead of failing every sync.
#[test]
fn own_number_imported_before_login_is_not_uploaded() {
    let srv = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("h");
    let book = dir.path().join("book.vcf");
    std::fs::copy(fixture("iphone.vcf"), &book).unwrap();
    let out = ok(
        &srv.url,
        &home,
        &["contacts", "import", book.to_str().unwrap(), "--local"],
    );
    assert!(out.contains("imported 3 contacts"), "{out}");
    login(&srv, &home, OWNER, OWNER);
    let out = ok(&srv.url, &home, &["contacts", "sync"]);
    assert!(out.contains("server: uploaded 2"), "{out}");
    assert!(out.contains("your own number"), "{out}");
    assert!(!ok(&srv.url, &home, &["contacts", "list"]).contains(OWNER));
    // A raw API caller still gets the server's refusal.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = sdk_login(&srv, "+8613800138150").await;
        let err = c
            .sync_contacts(&ringbook_proto::contacts::ContactSyncRequest {
                since: 0,
                upserts: vec![ringbook_proto::contacts::ContactUpsert {
                    phone: "+8613800138150".into(),
                    name: "me".into(),
                    group: None,
                    fields: None,
                }],
                deletes: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("own_number"));
    });
}

#[test]
fn one_contact_is_singular() {
    let srv = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("one.vcf");
    std::fs::write(
        &book,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nTEL;TYPE=CELL:13800138000\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let out = ok(
        &srv.url,
        dir.path(),
        &["contacts", "import", book.to_str().unwrap(), "--local"],
    );
    assert!(out.contains("imported 1 contact ("), "{out}");
    assert!(ok(&srv.url, dir.path(), &["contacts", "list"]).contains("\n1 contact\n"));
}
