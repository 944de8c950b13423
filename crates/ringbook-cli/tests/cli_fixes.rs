//! Regression tests for the smaller client bugs of issue 12, each against the real binary and
//! (where a server is involved) a real server: user values in URL paths, a closed stdout,
//! `serve`'s flags and logs, contacts sent by MMS, official-account inbox times.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{login, ok, ringbook, stderr, ServerProcess, BIN};

/// `consent allow/deny/revoke` with a site name holding a space and non-ASCII: the name was
/// form-encoded into the path (`Acme+Supplies`) and the server answered "no registered
/// website".
#[test]
fn consent_commands_take_names_with_spaces_and_non_ascii() {
    let srv = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    login(&srv, dir.path(), "13800138200", "+8613800138200");
    for (name, port) in [("Acme Supplies", 1), ("咖啡 Café+Co", 2)] {
        let origin = format!("http://127.0.0.1:{port}");
        ok(
            &srv.url,
            dir.path(),
            &[
                "site",
                "register",
                "--name",
                name,
                "--origin",
                &origin,
                "--addr",
                "127.0.0.1",
            ],
        );
        let out = ok(
            &srv.url,
            dir.path(),
            &["consent", "allow", name, "--fields", "name"],
        );
        assert!(
            out.contains(&format!("{name} [")) && out.contains("allow"),
            "{out}"
        );
        let out = ok(&srv.url, dir.path(), &["consent", "deny", name]);
        assert!(out.contains("deny"), "{out}");
        let out = ok(&srv.url, dir.path(), &["consent", "revoke", name]);
        assert!(
            out.contains(&format!("Consent for {name} withdrawn")),
            "{out}"
        );
    }
    // A name that is not registered still fails clearly (and names it unchanged).
    let o = ringbook(&srv.url, dir.path(), &["consent", "revoke", "No Such/Site"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("No Such/Site"), "{}", stderr(&o));
}

/// `ringbook contacts list | head -1`: the CLI went on writing into the closed pipe and
/// panicked ("failed printing to stdout: Broken pipe") with a backtrace.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // More output than a pipe buffers (64 KiB), so the command is still writing when the
    // reader goes away.
    let mut book = String::new();
    for i in 0..3000 {
        book.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Contact number {i} with a long enough name\r\nTEL;TYPE=CELL:+86138{i:08}\r\nEND:VCARD\r\n"
        ));
    }
    let file = dir.path().join("big.vcf");
    std::fs::write(&file, book).unwrap();
    let home = dir.path().join("h");
    ok(
        "http://127.0.0.1:9",
        &home,
        &["contacts", "import", file.to_str().unwrap(), "--local"],
    );
    let mut child = Command::new(BIN)
        .arg("--home")
        .arg(&home)
        .args(["contacts", "list"])
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("+86138"), "{first}");
    // The reader is dropped here: the rest of the output meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
    use std::os::unix::process::ExitStatusExt;
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?}",
        out.status
    );
}

#[test]
fn serve_help_and_log_format() {
    let o = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--listen"), "{help}");
    assert!(
        !help.contains("--server") && !help.contains("--home"),
        "client flags listed for serve: {help}"
    );
    let o = Command::new(BIN)
        .args(["serve", "--log-format", "yaml"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("yaml") && err.contains("text") && err.contains("json"),
        "{err}"
    );
}

/// A server whose log goes to a file writes no colour codes, and logs its configuration one
/// field per line rather than as one line.
#[test]
fn redirected_server_log_is_plain() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let port = support::free_port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .env("RINGBOOK_LOG", "debug,sqlx=warn,hyper=warn,tower_http=warn")
        .env_remove("RINGBOOK_CONFIG")
        .env_remove("RINGBOOK_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("listening")
    {
        assert!(std::time::Instant::now() < deadline, "server did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a redirected log: {text}"
    );
    assert!(text.contains("starting"), "{text}");
    for line in text.lines() {
        assert!(
            line.len() < 400,
            "the configuration is logged as one line: {line}"
        );
    }
}

/// A vCard sent by MMS adds contacts on the server; they reached no device. Now a live
/// `contacts_changed` notice goes out, the next sync brings them, and `contacts received`
/// lists them.
#[test]
fn contacts_sent_by_mms_reach_the_device() {
    let srv = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("me");
    let me = "+8613800138300";
    login(&srv, &home, me, me);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A second device of the account listens on the WebSocket.
    let token = rt.block_on(async {
        let store = ringbook_client::ClientStore::open(&home).await.unwrap();
        store.get("token").await.unwrap().unwrap()
    });
    let client = ringbook_client::Client::new(&srv.url)
        .unwrap()
        .with_token(token);
    let mut ws = rt.block_on(client.connect()).unwrap();
    let vcf = dir.path().join("cards.vcf");
    std::fs::write(
        &vcf,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zhao Liu\r\nTEL;TYPE=CELL:+86 137 0000 0301\r\nEMAIL:zl@example.com\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Qian Qi\r\nTEL;TYPE=CELL:+86 137 0000 0302\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let out = ok(
        &srv.url,
        &home,
        &[
            "mms",
            "send",
            "--from",
            me,
            "--vcard",
            vcf.to_str().unwrap(),
        ],
    );
    assert!(out.contains("2 contacts"), "{out}");
    let frame = rt.block_on(async {
        loop {
            let f = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
                .await
                .expect("a frame within 10 s")
                .unwrap()
                .expect("connection open");
            if let ringbook_proto::ws::ServerFrame::ContactsChanged { count, source, .. } = f {
                break (count, source);
            }
        }
    });
    assert_eq!(frame, (2, "mms".to_string()));
    let out = ok(&srv.url, &home, &["contacts", "received"]);
    assert!(out.contains("2 contacts received by MMS"), "{out}");
    assert!(
        out.contains("+8613700000301  Zhao Liu  (received by MMS"),
        "{out}"
    );
    let list = ok(&srv.url, &home, &["contacts", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("+8613700000302  Qian Qi  [") && l.contains("received by MMS")),
        "{list}"
    );
    // The whole card came along: an export carries the e-mail.
    let export = dir.path().join("out.vcf");
    ok(
        &srv.url,
        &home,
        &["contacts", "export", export.to_str().unwrap()],
    );
    assert!(std::fs::read_to_string(&export)
        .unwrap()
        .contains("zl@example.com"));
}

#[test]
fn oa_inbox_shows_dates_not_milliseconds() {
    let srv = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (owner, fan) = (dir.path().join("owner"), dir.path().join("fan"));
    login(&srv, &owner, "13800138400", "+8613800138400");
    login(&srv, &fan, "13800138401", "+8613800138401");
    ok(
        &srv.url,
        &owner,
        &["oa", "create", "weather", "--password", "correct horse"],
    );
    ok(&srv.url, &fan, &["oa", "follow", "weather"]);
    ok(&srv.url, &owner, &["oa", "broadcast", "weather", "sunny"]);
    let out = ok(&srv.url, &fan, &["oa", "inbox"]);
    let line = out.lines().find(|l| l.contains("sunny")).expect(&out);
    let stamp = line.split("  ").next().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{line}"
    );
}

/// An order through a shared service sends both sides a notice; it was shown as if the friend
/// had written it.
#[test]
fn order_notices_are_marked_as_notices() {
    let srv = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let (pa, pb) = ("+8613800138500", "+8613800138501");
    login(&srv, &a, pa, pa);
    login(&srv, &b, pb, pb);
    ok(
        &srv.url,
        &a,
        &["services", "book", "add", &format!("{pb}=Bob")],
    );
    ok(
        &srv.url,
        &b,
        &["services", "book", "add", &format!("{pa}=Alice")],
    );
    ok(&srv.url, &a, &["services", "grant", pa, "color-ring"]);
    ok(&srv.url, &a, &["services", "share", "color-ring"]);
    ok(&srv.url, &b, &["services", "order", pa, "color-ring"]);
    let inbox = ok(&srv.url, &b, &["inbox"]);
    let line = inbox
        .lines()
        .find(|l| l.contains("color-ring"))
        .expect(&inbox);
    assert!(line.contains(&format!("[notice about {pa}]: ")), "{inbox}");
    let history = ok(&srv.url, &b, &["history", pa]);
    assert!(
        history.contains(&format!("[notice about {pa}]: ")),
        "{history}"
    );
    assert!(!history.contains(&format!("{pa}: ")), "{history}");
}

/// An inconsistent configuration stops `serve` before it listens, with every problem on its own
/// line naming the key, and no secret of the file in the output (issue 16).
#[test]
fn serve_refuses_an_inconsistent_config_with_one_line_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ringbook.toml");
    std::fs::write(
        &config,
        r#"
master_key = "hunter2-is-not-hex"
[sms]
provider = "kannel"
password = "kannel-secret"
[services]
platform = "http"
"#,
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("RINGBOOK_DATABASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(!err.contains("listening"), "{err}");
    for key in [
        "master_key:",
        "sms.url:",
        "sms.username",
        "services.platform_url:",
    ] {
        let lines = err.lines().filter(|l| l.starts_with(key)).count();
        assert_eq!(lines, 1, "{key} in:\n{err}");
    }
    assert!(err.contains("4 problem(s)"), "{err}");
    assert!(
        !err.contains("hunter2") && !err.contains("kannel-secret"),
        "{err}"
    );
    // Nothing was created: the data folder is made only by a server that starts.
    assert!(!dir.path().join("data").exists());
}
