//! The real `ringbook` binary against a real server: phone-book import with skip reasons, two-way
//! phone book ↔ client sync, server sync, export, status and the activity monitor.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)] // test helpers (tests/common too)

mod support;

use support::{login, ok, ringbook, ServerProcess};

const BOOK: &str = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=9D=8E;=E9=9B=B7;;;\r\n\
TEL;CELL;PREF:+86 138 0000 0002\r\nTEL;CELL:+86 138 0000 0009\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Han Meimei\r\nitem1.TEL;TYPE=CELL:13800000003\r\nitem1.X-ABLabel:mobile\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Office\r\nTEL;TYPE=work,voice:010 6552 9988\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nobody\r\nEMAIL:n@example.com\r\nEND:VCARD\r\n";

#[test]
fn contacts_import_sync_export_status_and_monitor() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(&[]);
    let (a_home, b_home) = (dir.path().join("a"), dir.path().join("b"));
    let (pa, pb) = ("+8613800000001", "+8613800000002");
    login(&srv, &a_home, pa, pa);
    login(&srv, &b_home, pb, pb);

    // Import: two mobiles kept (the first stored number is the default), two skipped with reasons.
    let book = dir.path().join("book.vcf");
    std::fs::write(&book, BOOK).unwrap();
    let out = ok(
        &srv.url,
        &a_home,
        &["contacts", "import", book.to_str().unwrap()],
    );
    assert!(out.contains("imported 2 contacts"), "{out}");
    assert!(out.contains("skipped 2"), "{out}");
    assert!(out.contains("\"Office\": no mobile number"), "{out}");
    assert!(out.contains("\"Nobody\": no phone number"), "{out}");
    assert!(out.contains("server: uploaded 2"), "{out}");
    let list = ok(&srv.url, &a_home, &["contacts", "list"]);
    assert!(
        list.contains("+8613800000002  李雷  [ringbook user]"),
        "{list}"
    );
    assert!(list.contains("+8613800000003  Han Meimei"), "{list}");
    assert!(!list.contains("+8613800000009"), "{list}");

    // B adds A back on the server: A sees the mutual flag after a sync.
    let b_book = dir.path().join("b.vcf");
    std::fs::write(
        &b_book,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alice\r\nTEL;TYPE=CELL:+8613800000001\r\nEND:VCARD\r\n",
    )
    .unwrap();
    ok(
        &srv.url,
        &b_home,
        &["contacts", "import", b_book.to_str().unwrap()],
    );
    ok(&srv.url, &a_home, &["contacts", "sync"]);
    let list = ok(&srv.url, &a_home, &["contacts", "list"]);
    assert!(list.contains("[ringbook user, mutual]"), "{list}");

    // Two-way sync: first sync establishes the base; then an edit in the phone book reaches
    // the contacts, and a contact added on another device (via the server) reaches the phone book.
    let out = ok(
        &srv.url,
        &a_home,
        &["contacts", "sync", "--phonebook", book.to_str().unwrap()],
    );
    assert!(out.contains("phone book -> contacts: 0 added"), "{out}");
    let edited = std::fs::read_to_string(&book)
        .unwrap()
        .replace("FN:Han Meimei", "FN:Han Meimei (school)");
    std::fs::write(&book, edited).unwrap();
    let out = ok(&srv.url, &a_home, &["contacts", "sync"]);
    assert!(
        out.contains("phone book -> contacts: 0 added, 1 updated"),
        "{out}"
    );
    let list = ok(&srv.url, &a_home, &["contacts", "list"]);
    assert!(list.contains("Han Meimei (school)"), "{list}");

    // A second device of A (same account, new home) adds a contact and syncs with the server…
    let a2_home = dir.path().join("a2");
    std::fs::create_dir_all(&a2_home).unwrap();
    let extra = dir.path().join("extra.csv");
    std::fs::write(
        &extra,
        "Name,Phone 1 - Type,Phone 1 - Value\nZhang San,Mobile,+86 138 0000 0004\n",
    )
    .unwrap();
    // (same device identity: copy the client store so the login is the same device)
    for f in std::fs::read_dir(&a_home).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), a2_home.join(f.file_name())).unwrap();
    }
    ok(
        &srv.url,
        &a2_home,
        &["contacts", "import", extra.to_str().unwrap()],
    );
    // …and A's phone-book sync writes it back to the phone book, keeping the skipped entries.
    let out = ok(&srv.url, &a_home, &["contacts", "sync"]);
    assert!(out.contains("received 1 change,"), "{out}");
    let out = ok(&srv.url, &a_home, &["contacts", "sync"]);
    assert!(out.contains("contacts -> phone book: 1 added"), "{out}");
    let text = std::fs::read_to_string(&book).unwrap();
    assert!(text.contains("Zhang San"), "{text}");
    assert!(
        text.contains("FN:Office") && text.contains("FN:Nobody"),
        "skipped entries are kept: {text}"
    );
    // Deleting in the phone book deletes the contact.
    let cards: Vec<&str> = text
        .split_inclusive("END:VCARD\r\n")
        .filter(|c| !c.contains("Zhang San"))
        .collect();
    std::fs::write(&book, cards.concat()).unwrap();
    let out = ok(&srv.url, &a_home, &["contacts", "sync"]);
    assert!(out.contains("1 deleted"), "{out}");
    assert!(!ok(&srv.url, &a_home, &["contacts", "list"]).contains("Zhang San"));

    // Status: B sets busy; A sees the text, and offline while no device of B is connected
    // (issue 12: presence stayed busy while offline); export carries it in X- properties.
    let out = ok(
        &srv.url,
        &b_home,
        &["status", "set", "busy", "--text", "in a meeting"],
    );
    assert!(out.contains("busy \"in a meeting\""), "{out}");
    assert!(out.contains("others see you offline"), "{out}");
    let show = ok(&srv.url, &a_home, &["status", "show"]);
    assert!(
        show.contains("+8613800000002 (李雷): offline \"in a meeting\""),
        "{show}"
    );
    let export = dir.path().join("out.vcf");
    ok(
        &srv.url,
        &a_home,
        &["contacts", "export", export.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(text.contains("X-RINGBOOK-STATUS:offline"), "{text}");
    assert!(text.contains("X-RINGBOOK-USER:1"), "{text}");
    let bad = ringbook(&srv.url, &a_home, &["status", "set", "sleeping"]);
    assert!(!bad.status.success());

    // Monitor: a fake process table with zoom, and an event file; sends only on change.
    let proc_root = dir.path().join("proc");
    std::fs::create_dir_all(proc_root.join("4242")).unwrap();
    std::fs::write(proc_root.join("4242/comm"), "zoom\n").unwrap();
    std::fs::write(
        proc_root.join("4242/stat"),
        "4242 (zoom) S 1 1 1 0 -1 0 0 0 0 0 150 50 0 0 20 0 1 0 100 0 0\n",
    )
    .unwrap();
    std::fs::write(proc_root.join("4242/statm"), "1000 500 0 0 0 0 0\n").unwrap();
    let out = ok(
        &srv.url,
        &b_home,
        &[
            "monitor",
            "--once",
            "--proc-root",
            proc_root.to_str().unwrap(),
        ],
    );
    assert!(out.contains("process started: zoom"), "{out}");
    assert!(out.contains("activity status sent: In a meeting"), "{out}");
    let show = ok(&srv.url, &a_home, &["status", "show"]);
    assert!(show.contains("[In a meeting]"), "{show}");
    let events = dir.path().join("events.txt");
    std::fs::write(&events, "key pressed\nlock\n").unwrap();
    let out = ok(
        &srv.url,
        &b_home,
        &[
            "monitor",
            "--once",
            "--no-processes",
            "--events-from",
            events.to_str().unwrap(),
        ],
    );
    assert!(out.contains("system event: lock -> \"Away\""), "{out}");
    assert!(out.contains("activity status sent: Away"), "{out}");
    // Keyword table editing.
    ok(
        &srv.url,
        &b_home,
        &["monitor", "keywords", "add", "gimp", "Drawing"],
    );
    assert!(ok(&srv.url, &b_home, &["monitor", "keywords", "list"]).contains("gimp"));
    ok(
        &srv.url,
        &b_home,
        &["monitor", "keywords", "remove", "gimp"],
    );
    assert!(!ringbook(
        &srv.url,
        &b_home,
        &["monitor", "keywords", "remove", "gimp"]
    )
    .status
    .success());
    assert!(!ringbook(
        &srv.url,
        &b_home,
        &["monitor", "keywords", "add", "x", "y", "--kind", "weird"]
    )
    .status
    .success());

    // Bad input: a missing file fails with one line and changes nothing.
    let bad = ringbook(
        &srv.url,
        &a_home,
        &["contacts", "import", "/nonexistent.vcf"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot import"));
}
