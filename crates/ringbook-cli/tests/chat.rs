//! The chat people live in, end to end with the real binary and a real server (issue 12):
//! the outbox that never gives up (sent while the server is down, delivered once by the next
//! command; refused messages shown as failed), `history` with oneself, several commands of one
//! home at once, the conversation list, the full-screen chat in a pseudo-terminal between two
//! users (names, ticks, a live line that leaves the typed one alone, `/help` not sent, server
//! restart and `replaced` survived), the piped chat's exit code, and the CLI side of login.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::pty::Term;
use support::{free_port, login, ok, ringbook, ringbook_with_stdin, stderr, stdout, ServerProcess};

const ENV: &[(&str, &str)] = &[
    ("RINGBOOK_IDENTITY__CODES_PER_ADDR_PER_HOUR", "100000"),
    ("RINGBOOK_IDENTITY__LOGINS_PER_ADDR_PER_MINUTE", "100000"),
    ("RINGBOOK_MESSAGING__SENDS_PER_SECOND", "100000"),
];

const ALICE: &str = "+8613800000001";
const BOB: &str = "+8613800000002";
const CAROL: &str = "+8613800000003";

/// Gives `home` a contact list with these (number, name) pairs, uploaded to the server.
fn contacts(url: &str, home: &Path, entries: &[(&str, &str)]) {
    let mut vcf = String::new();
    for (number, name) in entries {
        vcf.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nTEL;TYPE=CELL:{number}\r\nEND:VCARD\r\n"
        ));
    }
    let file = home.with_extension("vcf");
    std::fs::write(&file, vcf).unwrap();
    ok(url, home, &["contacts", "import", file.to_str().unwrap()]);
}

/// Runs `ringbook … inbox` until `text` arrived (at most 30 s); returns everything printed.
fn inbox_until(url: &str, home: &Path, text: &str) -> String {
    let t0 = Instant::now();
    let mut all = String::new();
    while t0.elapsed() < Duration::from_secs(30) {
        all.push_str(&ok(url, home, &["inbox"]));
        if all.contains(text) {
            return all;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{text:?} never arrived: {all}");
}

#[test]
fn a_message_sent_while_the_server_is_down_is_delivered_once_by_the_next_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let srv = ServerProcess::start_in_on(&data, port, ENV);
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    let url = srv.url.clone();
    drop(srv);

    // The server is down: the message is kept, and the command says so without failing.
    let out = ok(&url, &ha, &["send", BOB, "written", "while", "down"]);
    assert!(out.contains("queued for +8613800000002"), "{out}");
    let local = ok(&url, &ha, &["history", BOB, "--local"]);
    assert!(
        local.contains("me: written while down [waiting to be sent]"),
        "{local}"
    );

    // Any later command sends it (here one that has nothing to do with messages).
    let srv = ServerProcess::start_in_on(&data, port, ENV);
    let o = ringbook(&url, &ha, &["whoami"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outbox: sent to +8613800000002"),
        "{}",
        stderr(&o)
    );
    // Once: later commands find nothing waiting, and Bob gets it one time.
    let o = ringbook(&url, &ha, &["whoami"]);
    assert!(!stderr(&o).contains("outbox"), "{}", stderr(&o));
    let inbox = ok(&srv.url, &hb, &["inbox"]);
    assert_eq!(inbox.matches("written while down").count(), 1, "{inbox}");
    assert!(ok(&srv.url, &hb, &["inbox"]).contains("no new messages"));
    let hist = ok(&srv.url, &ha, &["history", BOB]);
    assert!(
        hist.contains("me: written while down [delivered]"),
        "{hist}"
    );
}

#[test]
fn refused_messages_show_as_failed_and_are_never_retried() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let srv = ServerProcess::start_in_on(&data, port, ENV);
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);

    // Refused at once: a non-zero exit, and the history shows it failed, not as conversation.
    let nobody = "+8613800000099";
    let o = ringbook(&srv.url, &ha, &["send", nobody, "anyone there?"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not_a_user"), "{}", stderr(&o));
    let hist = ok(&srv.url, &ha, &["history", nobody, "--local"]);
    assert!(
        hist.contains("me: anyone there? [failed: +8613800000099 is not on Ringbook (not_a_user)]"),
        "{hist}"
    );

    // Refused later, from the outbox: Bob blocked Alice while her message waited.
    ok(&srv.url, &hb, &["block", ALICE]);
    let url = srv.url.clone();
    drop(srv);
    assert!(ok(&url, &ha, &["send", BOB, "let me in"]).contains("queued"));
    let srv = ServerProcess::start_in_on(&data, port, ENV);
    let o = ringbook(&url, &ha, &["chats"]);
    let err = stderr(&o);
    assert!(
        err.contains("outbox: not sent to +8613800000002: let me in — refused")
            && err.contains("blocked_by_recipient"),
        "{err}"
    );
    let list = stdout(&o);
    assert!(list.contains("me: let me in ✗ failed"), "{list}");
    // Never sent again, even after the block is lifted.
    ok(&srv.url, &hb, &["unblock", ALICE]);
    let o = ringbook(&url, &ha, &["whoami"]);
    assert!(!stderr(&o).contains("outbox"), "{}", stderr(&o));
    assert!(ok(&srv.url, &hb, &["inbox"]).contains("no new messages"));

    // The piped chat exits non-zero when a line was refused.
    ok(&srv.url, &hb, &["block", ALICE]);
    let o = ringbook_with_stdin(&srv.url, &ha, &["chat", BOB], "blocked line\n");
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("not sent: blocked line"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("refused"), "{}", stderr(&o));
}

#[test]
fn history_with_ones_own_number_lists_only_notes_to_oneself() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(ENV);
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    ok(&srv.url, &ha, &["send", BOB, "for bob"]);
    ok(&srv.url, &ha, &["send", ALICE, "note to self"]);
    ok(&srv.url, &hb, &["send", ALICE, "from bob"]);
    for local in [false, true] {
        let mut args = vec!["history", ALICE];
        if local {
            args.push("--local");
        }
        let hist = ok(&srv.url, &ha, &args);
        assert!(hist.contains("me: note to self"), "{hist}");
        assert_eq!(hist.matches("note to self").count(), 1, "{hist}");
        assert!(
            !hist.contains("for bob") && !hist.contains("from bob"),
            "{hist}"
        );
    }
}

#[test]
fn commands_of_one_home_do_not_kick_a_running_chat_off() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(ENV);
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    let mut chat = Command::new(support::BIN)
        .args(["--server", &srv.url, "--home"])
        .arg(&ha)
        .args(["chat", BOB])
        .env_remove("RINGBOOK_REGION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = chat.stdin.take().unwrap();
    input.write_all(b"first\n").unwrap();
    input.flush().unwrap();
    inbox_until(&srv.url, &hb, "first");
    // Other commands of the same home, each with its own connection, while the chat runs.
    for _ in 0..3 {
        ok(&srv.url, &ha, &["inbox"]);
        ok(&srv.url, &ha, &["chats"]);
        ok(&srv.url, &ha, &["send", BOB, "aside"]);
    }
    input.write_all(b"second\n").unwrap();
    drop(input);
    let o = chat.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("me: first [sent]") && stdout(&o).contains("me: second [sent]"),
        "{}",
        stdout(&o)
    );
    assert!(!stderr(&o).contains("reconnecting"), "{}", stderr(&o));
}

#[test]
fn chats_lists_conversations_with_names_unread_counts_and_presence() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(ENV);
    let (ha, hb, hc) = (
        dir.path().join("alice"),
        dir.path().join("bob"),
        dir.path().join("carol"),
    );
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    login(&srv, &hc, CAROL, CAROL);
    contacts(&srv.url, &ha, &[(BOB, "Li Lei")]);
    contacts(&srv.url, &hb, &[(ALICE, "Han Meimei")]);
    ok(
        &srv.url,
        &hb,
        &["status", "set", "busy", "--text", "in a meeting"],
    );
    ok(&srv.url, &ha, &["send", BOB, "hi Li"]);
    ok(&srv.url, &hb, &["send", ALICE, "one"]);
    ok(&srv.url, &hb, &["send", ALICE, "two"]);
    ok(&srv.url, &hc, &["send", ALICE, "hello from carol"]);

    let list = ok(&srv.url, &ha, &["chats"]);
    let lines: Vec<&str> = list.lines().collect();
    // Carol wrote last: first. No name for her, so her number.
    assert!(lines[0].starts_with("+8613800000003 · "), "{list}");
    assert!(lines[0].contains("1 unread"), "{list}");
    assert!(
        lines[1].contains("+8613800000003: hello from carol"),
        "{list}"
    );
    // Bob by name, with his presence (offline: no device connected; his text stays) and unread.
    assert!(
        lines[2].starts_with("Li Lei (+8613800000002) · offline")
            && lines[2].contains("\"in a meeting\"")
            && lines[2].contains("2 unread"),
        "{list}"
    );
    assert!(lines[3].contains("Li Lei: two"), "{list}");

    // Reading the chat clears the unread count.
    ringbook_with_stdin(&srv.url, &ha, &["chat", BOB], "");
    let list = ok(&srv.url, &ha, &["chats"]);
    assert!(!list.lines().nth(2).unwrap().contains("unread"), "{list}");
    // Bob sees Alice read his messages.
    let hist = ok(&srv.url, &hb, &["history", ALICE]);
    assert!(hist.contains("me: two [read]"), "{hist}");
}

#[test]
fn a_revoked_session_ends_the_chat_with_a_clear_reason() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(ENV);
    let (ha, hb) = (dir.path().join("alice"), dir.path().join("bob"));
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    let mut chat = Command::new(support::BIN)
        .args(["--server", &srv.url, "--home"])
        .arg(&ha)
        .args(["chat", BOB])
        .env_remove("RINGBOOK_REGION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = chat.stdin.take().unwrap();
    input.write_all(b"before\n").unwrap();
    input.flush().unwrap();
    inbox_until(&srv.url, &hb, "before");
    // The same device logs out from another terminal: the chat is told and ends.
    ok(&srv.url, &ha, &["logout"]);
    let o = chat.wait_with_output().unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("this device was logged out") && err.contains("ringbook login"),
        "{err}"
    );
}

/// Logs in at a terminal: a mistyped code is asked again with the server's words.
#[test]
fn login_at_a_terminal_asks_again_after_a_wrong_code() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(ENV);
    let home = dir.path().join("alice");
    let mut term = Term::start(&srv.url, &home, &["login", "--phone", ALICE], 80, 24);
    term.wait_text("Code:");
    let code = srv.last_code(ALICE);
    let wrong: String = code
        .chars()
        .map(|c| if c == '9' { '0' } else { (c as u8 + 1) as char })
        .collect();
    term.type_line(&wrong);
    term.wait_text("wrong code; 4 tries left");
    term.wait_for("the code asked again", |s| s.matches("Code:").count() == 2);
    term.type_line(&code);
    term.wait_text("registered and logged in as +8613800000001");
    assert_eq!(term.wait_exit(), 0);
    assert!(ok(&srv.url, &home, &["whoami"]).contains(ALICE));
}

#[test]
fn full_screen_chat_between_two_people_survives_restarts_and_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut srv = ServerProcess::start_in_on(&data, port, ENV);
    let url = srv.url.clone();
    let (ha, hb, hc) = (
        dir.path().join("alice"),
        dir.path().join("bob"),
        dir.path().join("carol"),
    );
    login(&srv, &ha, ALICE, ALICE);
    login(&srv, &hb, BOB, BOB);
    login(&srv, &hc, CAROL, CAROL);
    contacts(&url, &ha, &[(BOB, "Li Lei")]);
    contacts(&url, &hb, &[(ALICE, "Han Meimei")]);
    ok(
        &url,
        &hb,
        &["status", "set", "online", "--text", "at my desk"],
    );

    let mut alice = Term::start(&url, &ha, &["chat", BOB], 100, 24);
    alice.wait_text("connected");
    // The header: the contact's name and number; Bob is not connected, so offline.
    let s = alice.wait_text("Li Lei  +8613800000002");
    assert!(s.contains("offline"), "{s}");
    assert!(s.contains("\"at my desk\""), "{s}");

    let mut bob = Term::start(&url, &hb, &["chat", ALICE], 100, 24);
    bob.wait_text("connected");
    // Bob's presence reaches Alice's header live.
    alice.wait_text("Li Lei  +8613800000002 · online");

    // A line goes out, arrives by name, and the ticks follow: stored, delivered, read.
    alice.type_line("hello Li");
    bob.wait_text("Han Meimei: hello Li");
    alice.wait_text("me: hello Li ✓✓ read");
    assert!(
        !bob.screen().contains("+8613800000001: hello"),
        "{}",
        bob.screen()
    );

    // A line arriving while Alice types lands in the history; her half-typed line stays.
    alice.type_text("half typed");
    alice.wait_for("the typed text", |s| s.contains("> half typed"));
    bob.type_line("a live reply");
    alice.wait_text("Li Lei: a live reply");
    let rows = alice.rows();
    assert_eq!(rows.last().unwrap(), "> half typed", "{rows:#?}");
    alice.type_line(" and finished");
    alice.wait_text("me: half typed and finished");

    // Commands are never sent.
    alice.type_line("/help");
    alice.wait_text("Commands (never sent as messages)");
    alice.press_esc();
    alice.wait_for("help closed", |s| !s.contains("Commands (never"));
    let bob_hist = ok(&url, &hb, &["history", ALICE]);
    assert!(!bob_hist.contains("/help"), "{bob_hist}");
    assert!(
        !bob.screen().contains("Han Meimei: /help"),
        "{}",
        bob.screen()
    );

    // Someone else writes: announced in the status line, not mixed into this chat.
    ok(&url, &hc, &["send", ALICE, "carol here"]);
    alice.wait_text("new message from +8613800000003: carol here");
    let rows = alice.rows();
    let status_line = &rows[rows.len() - 2];
    assert!(status_line.contains("carol here"), "{rows:#?}");
    assert_eq!(
        rows.iter().filter(|r| r.contains("carol here")).count(),
        1,
        "{rows:#?}"
    );

    // The server is killed: both chats say they are reconnecting instead of exiting.
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    alice.wait_text("reconnecting");
    bob.wait_text("reconnecting");
    // Typed while the server is down: waiting, then delivered after the restart.
    alice.type_line("sent during the outage");
    alice.wait_text("me: sent during the outage … waiting");
    drop(srv);
    let srv = ServerProcess::start_in_on(&data, port, ENV);
    alice.wait_text("connected");
    bob.wait_text("Han Meimei: sent during the outage");
    alice.wait_text("me: sent during the outage ✓✓ read");

    // Replaced: the same device opens more connections than the server keeps; the chat's
    // connection (the oldest) is closed, and the chat reconnects by itself.
    let token = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = ringbook_client::ClientStore::open(&ha).await.unwrap();
            store.get("token").await.unwrap().unwrap()
        })
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let extra = rt.block_on(async {
        let client = ringbook_client::Client::new(&url)
            .unwrap()
            .with_token(token);
        let mut v = Vec::new();
        for _ in 0..8 {
            let mut ws = client.connect().await.unwrap();
            ws.next().await.unwrap();
            v.push(ws);
        }
        v
    });
    alice.wait_text("reconnecting");
    alice.wait_text("connected");
    drop(extra);
    alice.type_line("still here");
    bob.wait_text("Han Meimei: still here");

    // Bob leaves: Alice sees him offline with the time he was last seen.
    bob.type_line("/quit");
    assert_eq!(bob.wait_exit(), 0);
    alice.wait_text("offline, last seen");
    alice.type_line("/quit");
    assert_eq!(alice.wait_exit(), 0);
    drop(srv);
}
