//! Messaging against the real server (PB-16, PB-17, X-3): online and offline delivery, acks after
//! storage, duplicates suppressed, order, receipts, several devices, blocking, limits, history.

mod common;

use common::{phone, TestServer};
use ringbook_client::ws::Connection;
use ringbook_client::Client;
use ringbook_proto::messaging::SendRequest;
use ringbook_proto::ws::{ChatMessage, ClientFrame, ServerFrame};
use std::time::Duration;

async fn next(ws: &mut Connection) -> ServerFrame {
    tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a frame within 10 s")
        .unwrap()
        .expect("connection open")
}

/// Connects and consumes `hello`.
async fn connect(c: &Client) -> Connection {
    let mut ws = c.connect().await.unwrap();
    assert!(matches!(next(&mut ws).await, ServerFrame::Hello { .. }));
    ws
}

fn send(id: &str, to: &str, body: &str) -> ClientFrame {
    ClientFrame::Send {
        client_msg_id: id.into(),
        to: to.into(),
        body: body.into(),
        kind: None,
        sent_at: Some(1),
    }
}

async fn ack(ws: &mut Connection) -> (String, i64, i64, bool) {
    match next(ws).await {
        ServerFrame::Ack {
            client_msg_id,
            id,
            seq,
            duplicate,
            ..
        } => (client_msg_id, id, seq, duplicate),
        other => panic!("expected an ack, got {other:?}"),
    }
}

async fn message(ws: &mut Connection) -> ChatMessage {
    match next(ws).await {
        ServerFrame::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn failed(ws: &mut Connection) -> (String, String) {
    match next(ws).await {
        ServerFrame::SendFailed {
            client_msg_id,
            error,
        } => (client_msg_id, error.code),
        other => panic!("expected send_failed, got {other:?}"),
    }
}

async fn sync(ws: &mut Connection, after: i64) -> (Vec<ChatMessage>, i64) {
    ws.sync(after, |f| panic!("unexpected frame during sync: {f:?}"))
        .await
        .unwrap()
}

#[tokio::test]
async fn online_recipient_gets_it_at_once_on_every_device_and_sender_gets_ack() {
    let srv = TestServer::start().await;
    let (alice, ..) = srv.login(&phone(1)).await;
    let (bob, _, bob_device) = srv.login(&phone(2)).await;
    // Bob's second connected client: a second session of the same number and device.
    let second = srv.login_device(&phone(2), &bob_device).await.unwrap();
    let bob2 = srv.client().with_token(second.token);
    let mut a = connect(&alice).await;
    let mut b = connect(&bob).await;
    let mut b2 = connect(&bob2).await;

    a.send(&send("m1", &phone(2), "hello bob")).await.unwrap();
    let (cid, id, seq, dup) = ack(&mut a).await;
    assert_eq!((cid.as_str(), seq, dup), ("m1", 1, false));
    for ws in [&mut b, &mut b2] {
        let m = message(ws).await;
        assert_eq!(
            (m.id, m.seq, m.from.as_str(), m.to.as_str()),
            (id, 1, phone(1).as_str(), phone(2).as_str())
        );
        assert_eq!(
            (m.body.as_str(), m.kind.as_str(), m.client_msg_id.as_str()),
            ("hello bob", "text", "m1")
        );
    }
    // Stored: the server history has it.
    let page = bob.history(&phone(1), None, None).await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].message.id, id);
}

#[tokio::test]
async fn offline_recipient_syncs_at_reconnect_in_order_and_paged() {
    let srv = TestServer::start_with(|c| c.messaging.sync_page = 7).await;
    let (alice, ..) = srv.login(&phone(1)).await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let mut a = connect(&alice).await;
    for i in 0..30 {
        a.send(&send(&format!("c{i}"), &phone(2), &format!("n{i}")))
            .await
            .unwrap();
    }
    let mut seqs = std::collections::HashMap::new();
    for _ in 0..30 {
        let (cid, _, seq, _) = ack(&mut a).await;
        seqs.insert(cid, seq);
    }
    // Stored in send order: message i has Bob's sequence number i + 1.
    for i in 0..30 {
        assert_eq!(seqs[&format!("c{i}")], i + 1);
    }
    // Bob comes online and syncs from 0: all 30 in order, across pages of 7.
    let mut b = connect(&bob).await;
    let (got, last) = sync(&mut b, 0).await;
    assert_eq!(last, 30);
    assert_eq!(
        got.iter().map(|m| m.body.clone()).collect::<Vec<_>>(),
        (0..30).map(|i| format!("n{i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        got.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
    // Resuming from the middle gives the rest only; from the end, nothing.
    let (rest, last) = sync(&mut b, 25).await;
    assert_eq!((rest.len(), rest[0].seq, last), (5, 26, 30));
    let (none, last) = sync(&mut b, 30).await;
    assert!(none.is_empty());
    assert_eq!(last, 30);
}

#[tokio::test]
async fn a_resend_is_acked_again_but_never_stored_or_delivered_twice() {
    let srv = TestServer::start().await;
    let (alice, ..) = srv.login(&phone(1)).await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let mut a = connect(&alice).await;
    let mut b = connect(&bob).await;
    a.send(&send("same", &phone(2), "once")).await.unwrap();
    let (_, id1, seq1, dup1) = ack(&mut a).await;
    assert!(!dup1);
    assert_eq!(message(&mut b).await.id, id1);
    // Same ID again, even with a different body, and on a new connection (a retry after a drop).
    a.send(&send("same", &phone(2), "once (retry)"))
        .await
        .unwrap();
    let (_, id2, seq2, dup2) = ack(&mut a).await;
    assert_eq!((id2, seq2, dup2), (id1, seq1, true));
    drop(a);
    let mut a2 = connect(&alice).await;
    a2.send(&send("same", &phone(2), "once")).await.unwrap();
    assert_eq!(ack(&mut a2).await.1, id1);
    // The HTTP form dedupes against the same ID too.
    let http = alice
        .send_message(&SendRequest {
            client_msg_id: "same".into(),
            to: phone(2),
            body: "x".into(),
            kind: None,
            sent_at: None,
        })
        .await
        .unwrap();
    assert!(http.duplicate);
    assert_eq!(http.id, id1);
    // Bob got exactly one: a ping now is answered before any other message frame.
    b.send(&ClientFrame::Ping { nonce: 9 }).await.unwrap();
    assert_eq!(next(&mut b).await, ServerFrame::Pong { nonce: 9 });
    let (all, _) = sync(&mut b, 0).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].body, "once");
    // Many copies in flight at once (one batch) are still one message.
    for _ in 0..20 {
        a2.send(&send("burst", &phone(2), "b")).await.unwrap();
    }
    let ids: Vec<i64> = {
        let mut v = Vec::new();
        for _ in 0..20 {
            v.push(ack(&mut a2).await.1);
        }
        v
    };
    assert!(ids.iter().all(|&i| i == ids[0]));
    assert_eq!(message(&mut b).await.body, "b");
    let (all, _) = sync(&mut b, 0).await;
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn order_is_kept_per_conversation_with_several_senders() {
    let srv = TestServer::start().await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let mut b = connect(&bob).await;
    let mut senders = Vec::new();
    for n in [1, 3, 4] {
        let (c, ..) = srv.login(&phone(n)).await;
        senders.push((n, connect(&c).await));
    }
    for i in 0..40 {
        for (n, ws) in senders.iter_mut() {
            ws.send(&send(&format!("{n}-{i}"), &phone(2), &format!("{i}")))
                .await
                .unwrap();
        }
    }
    let mut seen: std::collections::HashMap<String, Vec<i64>> = Default::default();
    let mut seqs = Vec::new();
    for _ in 0..120 {
        let m = message(&mut b).await;
        seqs.push(m.seq);
        seen.entry(m.from.clone())
            .or_default()
            .push(m.body.parse().unwrap());
    }
    // Live pushes come in the recipient's sequence order, and each sender's messages in the order sent.
    assert_eq!(seqs, (1..=120).collect::<Vec<_>>());
    for n in [1, 3, 4] {
        assert_eq!(seen[&phone(n)], (0..40).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn delivered_and_read_receipts_reach_the_sender_once() {
    let srv = TestServer::start().await;
    let (alice, ..) = srv.login(&phone(1)).await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let mut a = connect(&alice).await;
    let mut b = connect(&bob).await;
    a.send(&send("r1", &phone(2), "did you get it?"))
        .await
        .unwrap();
    let (_, id, ..) = ack(&mut a).await;
    message(&mut b).await;

    b.send(&ClientFrame::Delivered { ids: vec![id] })
        .await
        .unwrap();
    match next(&mut a).await {
        ServerFrame::Receipt(r) => {
            assert_eq!(
                (
                    r.id,
                    r.client_msg_id.as_str(),
                    r.status.as_str(),
                    r.by.as_str()
                ),
                (id, "r1", "delivered", phone(2).as_str())
            )
        }
        other => panic!("{other:?}"),
    }
    // Again: no second receipt. Then read.
    b.send(&ClientFrame::Delivered { ids: vec![id] })
        .await
        .unwrap();
    b.send(&ClientFrame::Read { ids: vec![id] }).await.unwrap();
    match next(&mut a).await {
        ServerFrame::Receipt(r) => assert_eq!((r.id, r.status.as_str()), (id, "read")),
        other => panic!("{other:?}"),
    }
    let page = alice.history(&phone(2), None, None).await.unwrap();
    assert!(page.messages[0].delivered_at.is_some() && page.messages[0].read_at.is_some());

    // Alice cannot mark her own sent message (she is not its recipient): nothing changes, no receipt.
    a.send(&ClientFrame::Read { ids: vec![id] }).await.unwrap();
    a.send(&ClientFrame::Ping { nonce: 1 }).await.unwrap();
    assert_eq!(next(&mut a).await, ServerFrame::Pong { nonce: 1 });
    // Too many IDs in one frame: a clear error.
    b.send(&ClientFrame::Read {
        ids: (0..1001).collect(),
    })
    .await
    .unwrap();
    match next(&mut b).await {
        ServerFrame::Error(e) => assert_eq!(e.code, "too_many_ids"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_sends_fail_with_clear_codes_and_store_nothing() {
    let srv = TestServer::start_with(|c| c.messaging.max_body_bytes = 100).await;
    let (alice, ..) = srv.login(&phone(1)).await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let mut a = connect(&alice).await;
    a.send(&send("big", &phone(2), &"x".repeat(101)))
        .await
        .unwrap();
    assert_eq!(
        failed(&mut a).await,
        ("big".into(), "message_too_large".into())
    );
    a.send(&send("nobody", &phone(99), "hi")).await.unwrap();
    assert_eq!(failed(&mut a).await, ("nobody".into(), "not_a_user".into()));
    a.send(&send("badnum", "12", "hi")).await.unwrap();
    assert_eq!(
        failed(&mut a).await,
        ("badnum".into(), "invalid_phone".into())
    );
    a.send(&send("empty", &phone(2), "")).await.unwrap();
    assert_eq!(
        failed(&mut a).await,
        ("empty".into(), "empty_message".into())
    );
    a.send(&ClientFrame::Send {
        client_msg_id: "k".into(),
        to: phone(2),
        body: "x".into(),
        kind: Some("fax".into()),
        sent_at: None,
    })
    .await
    .unwrap();
    assert_eq!(failed(&mut a).await, ("k".into(), "bad_kind".into()));
    a.send(&send("", &phone(2), "x")).await.unwrap();
    assert_eq!(failed(&mut a).await.1, "bad_client_msg_id");
    // Malformed frame.
    a.send_raw(r#"{"type":"send","to":"x"}"#).await.unwrap();
    assert!(matches!(next(&mut a).await, ServerFrame::Error(e) if e.code == "bad_frame"));
    // Nothing stored; the exact-limit message goes through.
    let mut b = connect(&bob).await;
    assert!(sync(&mut b, 0).await.0.is_empty());
    a.send(&send("fits", &phone(2), &"x".repeat(100)))
        .await
        .unwrap();
    assert_eq!(ack(&mut a).await.2, 1);
}

#[tokio::test]
async fn sending_too_fast_is_refused_with_retry_after() {
    let srv = TestServer::start_with(|c| c.messaging.sends_per_second = 3).await;
    let (alice, ..) = srv.login(&phone(1)).await;
    srv.login(&phone(2)).await;
    let mut a = connect(&alice).await;
    for i in 0..6 {
        a.send(&send(&format!("f{i}"), &phone(2), "hi"))
            .await
            .unwrap();
    }
    let mut acked = 0;
    let mut limited = 0;
    for _ in 0..6 {
        match next(&mut a).await {
            ServerFrame::Ack { .. } => acked += 1,
            ServerFrame::SendFailed { error, .. } => {
                assert_eq!(error.code, "sending_too_fast");
                assert!(error.retry_after_secs.unwrap() >= 1);
                limited += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        acked >= 3 && limited >= 1,
        "acked {acked}, limited {limited}"
    );
    let e = alice
        .send_message(&SendRequest {
            client_msg_id: "h".into(),
            to: phone(2),
            body: "x".into(),
            kind: None,
            sent_at: None,
        })
        .await;
    // Either still limited (429) or allowed if a second passed; never a server error.
    if let Err(e) = e {
        assert_eq!(e.code(), Some("sending_too_fast"));
    }
}

#[tokio::test]
async fn a_blocked_sender_gets_a_clear_error_until_unblocked() {
    let srv = TestServer::start().await;
    let (alice, ..) = srv.login(&phone(1)).await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let blocked = bob.block(&format!("{} ", phone(1))).await.unwrap();
    assert_eq!(blocked.phone, phone(1));
    bob.block(&phone(1)).await.unwrap(); // idempotent
    assert_eq!(bob.blocked().await.unwrap().len(), 1);
    assert_eq!(
        bob.block(&phone(2)).await.unwrap_err().code(),
        Some("cannot_block_self")
    );
    assert_eq!(
        bob.block("nonsense").await.unwrap_err().code(),
        Some("invalid_phone")
    );

    let mut a = connect(&alice).await;
    a.send(&send("x", &phone(2), "let me in")).await.unwrap();
    assert_eq!(
        failed(&mut a).await,
        ("x".into(), "blocked_by_recipient".into())
    );
    let mut b = connect(&bob).await;
    assert!(sync(&mut b, 0).await.0.is_empty());
    // Bob can still write to Alice.
    b.send(&send("y", &phone(1), "no")).await.unwrap();
    assert!(matches!(next(&mut b).await, ServerFrame::Ack { .. }));

    bob.unblock(&phone(1)).await.unwrap();
    assert_eq!(
        bob.unblock(&phone(1)).await.unwrap_err().code(),
        Some("not_blocked")
    );
    assert!(bob.blocked().await.unwrap().is_empty());
    a.send(&send("x", &phone(2), "now?")).await.unwrap();
    loop {
        match next(&mut a).await {
            ServerFrame::Ack { client_msg_id, .. } => {
                assert_eq!(client_msg_id, "x");
                break;
            }
            ServerFrame::Message(_) => continue, // Bob's "no"
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(message(&mut b).await.body, "now?");
}

#[tokio::test]
async fn history_pages_backwards_through_both_directions() {
    let srv = TestServer::start().await;
    let (alice, ..) = srv.login(&phone(1)).await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let (carol, ..) = srv.login(&phone(3)).await;
    for i in 0..9 {
        let (from, to) = if i % 2 == 0 {
            (&alice, phone(2))
        } else {
            (&bob, phone(1))
        };
        from.send_message(&SendRequest {
            client_msg_id: format!("h{i}"),
            to,
            body: format!("{i}"),
            kind: None,
            sent_at: None,
        })
        .await
        .unwrap();
    }
    carol
        .send_message(&SendRequest {
            client_msg_id: "c".into(),
            to: phone(1),
            body: "other chat".into(),
            kind: None,
            sent_at: None,
        })
        .await
        .unwrap();
    let mut bodies = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = alice.history(&phone(2), before, Some(4)).await.unwrap();
        pages += 1;
        bodies.extend(page.messages.iter().map(|m| m.message.body.clone()));
        match page.next_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(
        bodies,
        (0..9).rev().map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(pages, 3);
    // Bob sees the same conversation; Carol's chat with Alice is separate.
    assert_eq!(
        bob.history(&phone(1), None, Some(100))
            .await
            .unwrap()
            .messages
            .len(),
        9
    );
    assert_eq!(
        alice
            .history(&phone(3), None, None)
            .await
            .unwrap()
            .messages
            .len(),
        1
    );
    assert_eq!(
        alice
            .history(&phone(2), None, Some(0))
            .await
            .unwrap_err()
            .code(),
        Some("bad_limit")
    );
    assert_eq!(
        alice
            .history("garbage", None, None)
            .await
            .unwrap_err()
            .code(),
        Some("invalid_phone")
    );
    // Without a session: 401.
    assert_eq!(
        srv.client()
            .history(&phone(2), None, None)
            .await
            .unwrap_err()
            .code(),
        Some("missing_token")
    );
}

#[tokio::test]
async fn deliver_from_other_parts_still_works() {
    let srv = TestServer::start().await;
    let (_alice, a_login, ..) = srv.login(&phone(1)).await;
    let (bob, ..) = srv.login(&phone(2)).await;
    let mut b = connect(&bob).await;
    let from = ringbook_proto::PhoneNumber::parse(&phone(1), "CN").unwrap();
    let to = ringbook_proto::PhoneNumber::parse(&phone(2), "CN").unwrap();
    let user = srv
        .state
        .core
        .store
        .user_by_phone(from.as_str())
        .await
        .unwrap()
        .unwrap();
    let _ = a_login;
    let out = |cid: &'static str| ringbook_server::messaging::Outgoing {
        sender_id: user.id,
        sender_phone: &from,
        to: &to,
        client_msg_id: cid,
        kind: "notice",
        body: "your order shipped",
        sent_at: 5,
    };
    let d = ringbook_server::messaging::deliver(&srv.state, out("o1"))
        .await
        .unwrap();
    assert!(d.new);
    let again = ringbook_server::messaging::deliver(&srv.state, out("o1"))
        .await
        .unwrap();
    assert!(!again.new);
    assert_eq!(again.message.id, d.message.id);
    let m = message(&mut b).await;
    assert_eq!((m.kind.as_str(), m.id), ("notice", d.message.id));
}
