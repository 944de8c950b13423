//! The `ringbook` binary end to end for profiles: a real `ringbook serve`, login by SMS code,
//! `mms send` (a real MM7 DeliverReq), `profile show/set/visibility/avatar`, `bind`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ringbook")
}

fn start(dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = dir.join("data");
    let child = Command::new(bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .env_remove("RINGBOOK_CONFIG")
        .env_remove("RINGBOOK_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "server did not become healthy");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, url, data }
}

fn run(srv: &Server, home: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--server")
        .arg(&srv.url)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(srv: &Server, home: &Path, args: &[&str]) -> String {
    let out = run(srv, home, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn last_code(srv: &Server, to: &str) -> String {
    let outbox = std::fs::read_to_string(srv.data.join("sms-outbox.jsonl")).unwrap();
    let line = outbox.lines().rev().find(|l| l.contains(to)).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["text"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string()
}

fn photo(path: &Path) {
    let img = image::RgbImage::from_fn(320, 240, |x, _| image::Rgb([(x % 256) as u8, 120, 60]));
    img.save(path).unwrap();
}

#[test]
fn mms_send_and_profile_commands() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path());
    let home = dir.path().join("home");
    let me = "+8613800138000";
    ok(&srv, &home, &["login", "--phone", me]);
    let code = last_code(&srv, me);
    ok(&srv, &home, &["login", "--phone", me, "--code", &code]);

    let jpg = dir.path().join("photo.jpg");
    photo(&jpg);
    let out = ok(
        &srv,
        &home,
        &[
            "mms",
            "send",
            "--from",
            me,
            "--image",
            jpg.to_str().unwrap(),
            "--text",
            "Nickname: Lei\n天天向上",
        ],
    );
    assert!(out.starts_with("DeliverRsp 1000"), "{out}");

    ok(
        &srv,
        &home,
        &[
            "profile",
            "set",
            "region",
            "Shanghai",
            "--visibility",
            "everyone",
        ],
    );
    ok(
        &srv,
        &home,
        &["profile", "visibility", "avatar", "contacts"],
    );
    let shown = ok(&srv, &home, &["profile", "show"]);
    assert!(shown.contains("nickname:  Lei"), "{shown}");
    assert!(shown.contains("signature: 天天向上"), "{shown}");
    assert!(shown.contains("region:    Shanghai  [everyone]"), "{shown}");
    assert!(shown.contains("avatar:    240x240 JPEG"), "{shown}");
    assert!(shown.contains("[contacts]"), "{shown}");

    let saved = dir.path().join("saved.jpg");
    ok(
        &srv,
        &home,
        &["profile", "avatar", "get", "--out", saved.to_str().unwrap()],
    );
    let bytes = std::fs::read(&saved).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    let thumb = dir.path().join("thumb.jpg");
    ok(
        &srv,
        &home,
        &[
            "profile",
            "avatar",
            "get",
            me,
            "--thumb",
            "--out",
            thumb.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read(&thumb).unwrap().len() < bytes.len());

    // Failures: one line, non-zero exit, nothing changed.
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"not a picture").unwrap();
    let out = run(
        &srv,
        &home,
        &["profile", "avatar", "set", bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("picture"),
        "{out:?}"
    );
    let out = run(
        &srv,
        &home,
        &["mms", "send", "--from", "+8613900139000", "--text", "hi"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("DeliverRsp 2001"),
        "{out:?}"
    );
    let out = run(&srv, &home, &["profile", "set", "shoe_size", "42"]);
    assert!(!out.status.success());
    assert_eq!(ok(&srv, &home, &["profile", "show"]), shown);

    let bound = ok(&srv, &home, &["bind", "list"]);
    assert!(bound.contains("(own number)"), "{bound}");
    let started = ok(&srv, &home, &["bind", "add", "+8613900139000"]);
    assert!(started.contains("code was sent"), "{started}");
    let code = last_code(&srv, "+8613900139000");
    ok(
        &srv,
        &home,
        &["bind", "add", "+8613900139000", "--code", &code],
    );
    let out = ok(
        &srv,
        &home,
        &[
            "mms",
            "send",
            "--from",
            "+8613900139000",
            "--text",
            "from phone two",
        ],
    );
    assert!(out.starts_with("DeliverRsp 1000"), "{out}");
    assert!(ok(&srv, &home, &["profile", "show"]).contains("signature: from phone two"));
}
