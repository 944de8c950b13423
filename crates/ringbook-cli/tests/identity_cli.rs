//! The identity commands as other tooling drives them: `serve`, `login`, `whoami`, sessions,
//! rescue password, admin block — against the real binary.

mod support;

use support::{ringbook, stderr, stdout, ServerProcess};

#[test]
fn login_whoami_and_errors_through_the_cli() {
    let server = ServerProcess::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    // Not logged in yet: one clear line, non-zero exit.
    let o = ringbook(&server.url, h, &["whoami"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not logged in"), "{}", stderr(&o));

    // Without --code and no terminal: asks for a code and exits 0.
    let o = ringbook(
        &server.url,
        h,
        &[
            "login",
            "--phone",
            "138 0013 8000",
            "--imei",
            "351234567890123",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("A code was sent by SMS to +8613800138000"),
        "{}",
        stdout(&o)
    );
    let code = server.last_code("+8613800138000");

    // A wrong code: non-zero, one line saying so.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let o = ringbook(
        &server.url,
        h,
        &["login", "--phone", "13800138000", "--code", wrong],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with("error: wrong code"),
        "{}",
        stderr(&o)
    );

    let o = ringbook(
        &server.url,
        h,
        &["login", "--phone", "13800138000", "--code", &code],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("registered and logged in as +8613800138000"));

    let o = ringbook(&server.url, h, &["whoami"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("+8613800138000\n"), "{out}");
    assert!(
        out.contains("device: ") && out.contains("imei: 351234567890123"),
        "{out}"
    );

    let o = ringbook(
        &server.url,
        h,
        &["rescue-password", "set", "--password", "long enough secret"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ringbook(&server.url, h, &["sessions", "list"]);
    assert!(stdout(&o).contains("(this one)"), "{}", stdout(&o));

    // A second home is another device: refused, then moved with the rescue password.
    let other = tempfile::tempdir().unwrap();
    let o = ringbook(
        &server.url,
        other.path(),
        &["login", "--phone", "13800138000"],
    );
    assert!(o.status.success());
    let code = server.last_code("+8613800138000");
    let o = ringbook(
        &server.url,
        other.path(),
        &["login", "--phone", "13800138000", "--code", &code],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("registered on another device"),
        "{}",
        stderr(&o)
    );
    // The refusal left the code unused: the move goes with the same code.
    let o = ringbook(
        &server.url,
        other.path(),
        &[
            "login",
            "--phone",
            "13800138000",
            "--code",
            &code,
            "--move",
            "--rescue-password",
            "long enough secret",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("account moved"), "{}", stdout(&o));
    // The old device's session is gone.
    let o = ringbook(&server.url, h, &["whoami"]);
    assert!(!o.status.success());

    // Operator blocks the number (from loopback).
    let o = ringbook(&server.url, h, &["admin", "block", "+86 138 0013 8000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "+8613800138000 blocked");
    let o = ringbook(&server.url, other.path(), &["whoami"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("blocked"), "{}", stderr(&o));
}

#[test]
fn invalid_number_and_unreachable_server_fail_with_one_line() {
    let home = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&[]);
    let o = ringbook(
        &server.url,
        home.path(),
        &["login", "--phone", "010 6552 9988"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a mobile number"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);

    let o = ringbook(
        "http://127.0.0.1:9",
        home.path(),
        &["login", "--phone", "13800138000"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot reach the server"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn mo_sms_login_through_the_cli() {
    let server = ServerProcess::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(support::BIN)
        .args(["--server", &server.url, "--home"])
        .arg(home.path())
        .args(["login", "--mo", "--wait", "30"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read the instructions line to learn the token, then play the SMS gateway.
    use std::io::BufRead;
    let mut line = String::new();
    let mut out_reader = std::io::BufReader::new(child.stdout.take().unwrap());
    out_reader.read_line(&mut line).unwrap();
    let token = line.split_whitespace().nth(1).unwrap().to_string();
    assert!(line.contains("10690000"), "{line}");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "GET /v1/sms/mo?from=8613800000042&to=10690000&text={token} HTTP/1.0\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.contains("confirmed"), "{reply}");
    let mut rest = String::new();
    out_reader.read_to_string(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rest.contains("registered and logged in as +8613800000042"),
        "{rest}"
    );
    let o = ringbook(&server.url, home.path(), &["whoami"]);
    assert!(stdout(&o).starts_with("+8613800000042"), "{}", stdout(&o));
}
