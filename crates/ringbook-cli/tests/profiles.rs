//! The `ringbook` binary end to end for profiles: a real `ringbook serve`, login by SMS code,
//! `mms send` (a real MM7 DeliverReq), `profile show/set/visibility/avatar`, `bind`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use support::{ok, ringbook, ServerProcess};

fn photo(path: &Path) {
    let img = image::RgbImage::from_fn(320, 240, |x, _| image::Rgb([(x % 256) as u8, 120, 60]));
    img.save(path).unwrap();
}

#[test]
fn mms_send_and_profile_commands() {
    let dir = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(&[]);
    let home = dir.path().join("home");
    let me = "+8613800138000";
    ok(&srv.url, &home, &["login", "--phone", me]);
    let code = srv.last_code(me);
    ok(&srv.url, &home, &["login", "--phone", me, "--code", &code]);

    let jpg = dir.path().join("photo.jpg");
    photo(&jpg);
    let out = ok(
        &srv.url,
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
        &srv.url,
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
        &srv.url,
        &home,
        &["profile", "visibility", "avatar", "contacts"],
    );
    let shown = ok(&srv.url, &home, &["profile", "show"]);
    assert!(shown.contains("nickname:  Lei"), "{shown}");
    assert!(shown.contains("signature: 天天向上"), "{shown}");
    assert!(shown.contains("region:    Shanghai  [everyone]"), "{shown}");
    assert!(shown.contains("avatar:    240x240 JPEG"), "{shown}");
    assert!(shown.contains("[contacts]"), "{shown}");

    let saved = dir.path().join("saved.jpg");
    ok(
        &srv.url,
        &home,
        &["profile", "avatar", "get", "--out", saved.to_str().unwrap()],
    );
    let bytes = std::fs::read(&saved).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    let thumb = dir.path().join("thumb.jpg");
    ok(
        &srv.url,
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
    let out = ringbook(
        &srv.url,
        &home,
        &["profile", "avatar", "set", bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("picture"),
        "{out:?}"
    );
    let out = ringbook(
        &srv.url,
        &home,
        &["mms", "send", "--from", "+8613900139000", "--text", "hi"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("DeliverRsp 2001"),
        "{out:?}"
    );
    let out = ringbook(&srv.url, &home, &["profile", "set", "shoe_size", "42"]);
    assert!(!out.status.success());
    assert_eq!(ok(&srv.url, &home, &["profile", "show"]), shown);

    let bound = ok(&srv.url, &home, &["bind", "list"]);
    assert!(bound.contains("(own number)"), "{bound}");
    let started = ok(&srv.url, &home, &["bind", "add", "+8613900139000"]);
    assert!(started.contains("code was sent"), "{started}");
    let code = srv.last_code("+8613900139000");
    ok(
        &srv.url,
        &home,
        &["bind", "add", "+8613900139000", "--code", &code],
    );
    let out = ok(
        &srv.url,
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
    assert!(ok(&srv.url, &home, &["profile", "show"]).contains("signature: from phone two"));
}
