//! `ringbook services …` against the real binary and a real server: two people put each other in
//! their books and become matched friends; a bad number is refused with one clear line and
//! changes nothing.

mod support;

use support::{login, ok, ringbook, stderr, ServerProcess};

#[test]
fn books_make_friends_and_bad_numbers_change_nothing() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    login(&server, &a, "13800000001", "+8613800000001");
    login(&server, &b, "13800000002", "+8613800000002");

    let out = ok(&server.url, &a, &["services", "friends"]);
    assert!(out.contains("no matched friends yet"), "{out}");

    // One side only: not friends yet.
    let out = ok(
        &server.url,
        &a,
        &["services", "book", "add", "13800000002=Bob"],
    );
    assert!(out.contains("1 added or changed, 0 removed"), "{out}");
    assert!(ok(&server.url, &b, &["services", "friends"]).contains("no matched friends yet"));

    // Both sides: each sees the other, under the name in their own book.
    ok(
        &server.url,
        &b,
        &["services", "book", "add", "+86 138 0000 0001"],
    );
    let out = ok(&server.url, &a, &["services", "friends"]);
    assert!(
        out.contains("+8613800000002 (Bob): shares nothing"),
        "{out}"
    );
    let out = ok(&server.url, &b, &["services", "friends"]);
    assert!(out.contains("+8613800000001"), "{out}");

    // A bad number in the batch: non-zero exit, the reason, and Bob keeps his name.
    let o = ringbook(
        &server.url,
        &a,
        &["services", "book", "add", "13800000002=Robert", "hello"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("hello"), "{}", stderr(&o));
    assert!(ok(&server.url, &a, &["services", "friends"]).contains("(Bob)"));

    // Removing B ends the match for both.
    ok(
        &server.url,
        &a,
        &["services", "book", "remove", "+8613800000002"],
    );
    assert!(ok(&server.url, &b, &["services", "friends"]).contains("no matched friends yet"));

    // The catalogue lists the carrier's services.
    let out = ok(&server.url, &a, &["services", "catalog"]);
    assert!(out.lines().count() >= 1 && out.contains("carrier"), "{out}");
}
