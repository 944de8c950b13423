//! Service sharing against the real server (SS-1 … SS-6): matching appears and disappears as
//! books change, the batch rematch, sharing and visibility (non-friends see nothing), and every
//! ordering branch — carrier, SP with a right, wrong, late and repeated reply, not orderable,
//! already subscribed, double clicks — with the notices both people get.

// Tests may unwrap (workspace lint note); the shared harness (`common`) builds its config field by field.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use common::{delete_from_book, phone, upload_book, TestServer};
use ringbook_client::{Client, ClientError};
use ringbook_proto::services::{OrderRequest, OrderState, OrderView};
use ringbook_proto::ws::{ChatMessage, ServerFrame};
use std::time::Duration;

fn code_of(e: &ClientError) -> &str {
    e.code()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

async fn friend_phones(c: &Client) -> Vec<String> {
    c.services_friends()
        .await
        .unwrap()
        .friends
        .into_iter()
        .map(|f| f.phone)
        .collect()
}

/// Two users who have each other's number.
async fn matched_pair(srv: &TestServer, a: &str, b: &str) -> (Client, Client) {
    let (ca, _, _) = srv.login(a).await;
    let (cb, _, _) = srv.login(b).await;
    upload_book(&ca, &[b]).await.unwrap();
    upload_book(&cb, &[a]).await.unwrap();
    (ca, cb)
}

async fn order(
    c: &Client,
    friend: &str,
    service: &str,
    key: Option<&str>,
) -> Result<OrderView, ClientError> {
    c.services_order(&OrderRequest {
        friend: friend.into(),
        service_id: service.into(),
        idempotency_key: key.map(Into::into),
    })
    .await
}

async fn mo(srv: &TestServer, from: &str, text: &str) -> String {
    let mut url = reqwest::Url::parse(&format!("{}/v1/sms/mo", srv.url)).unwrap();
    url.query_pairs_mut()
        .append_pair("from", from)
        .append_pair("to", "10690000")
        .append_pair("text", text);
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.unwrap()
}

/// The four digits of the last confirmation SMS sent to `to`, and how many were sent.
fn confirmation(srv: &TestServer, to: &str) -> (String, usize) {
    let sms: Vec<_> = srv
        .outbox()
        .into_iter()
        .filter(|m| m["to"] == to && m["kind"] == "service_confirmation")
        .collect();
    let text = sms
        .last()
        .unwrap_or_else(|| panic!("no confirmation SMS to {to}"))["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("reply Y"), "{text}");
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 4)
        .unwrap()
        .to_string();
    (code, sms.len())
}

fn subscribed(mine: &ringbook_proto::services::MyServices, id: &str) -> bool {
    mine.services.iter().any(|s| s.service.id == id)
}

/// A live connection that collects the notices pushed to its user.
async fn listen(c: &Client) -> ringbook_client::ws::Connection {
    let mut ws = c.connect().await.unwrap();
    assert!(matches!(
        ws.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));
    ws
}

async fn next_notice(ws: &mut ringbook_client::ws::Connection) -> ChatMessage {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a notice in time")
            .unwrap();
        if let Some(ServerFrame::Message(m)) = frame {
            assert_eq!(m.kind, "notice");
            return m;
        }
    }
}

#[tokio::test]
async fn matching_appears_and_disappears_as_books_change() {
    let srv = TestServer::start().await;
    let (a, b, c) = (phone(1), phone(2), phone(3));
    let (ca, _, _) = srv.login(&a).await;
    let (cb, _, _) = srv.login(&b).await;
    let (cc, _, _) = srv.login(&c).await;

    // One side only: no match.
    upload_book(&ca, &[&b, &c]).await.unwrap();
    assert!(friend_phones(&ca).await.is_empty());
    assert!(friend_phones(&cb).await.is_empty());

    // B adds A (in another format): they match, both ways, with A's saved name for B.
    let national = b.trim_start_matches("+86").to_string();
    assert_eq!(national.len(), 11);
    upload_book(&cb, &[&a[3..]]).await.unwrap();
    assert_eq!(friend_phones(&ca).await, vec![b.clone()]);
    assert_eq!(friend_phones(&cb).await, vec![a.clone()]);
    assert_eq!(
        ca.services_friends().await.unwrap().friends[0]
            .name
            .as_deref(),
        Some("n0")
    );

    // C has A too: A now has two friends, C one; B and C are not friends of each other.
    upload_book(&cc, &[&a]).await.unwrap();
    assert_eq!(friend_phones(&ca).await, vec![b.clone(), c.clone()]);
    assert_eq!(friend_phones(&cc).await, vec![a.clone()]);
    assert_eq!(friend_phones(&cb).await, vec![a.clone()]);

    // An edit (new name) keeps the match.
    use ringbook_proto::contacts::{ContactSyncRequest, ContactUpsert};
    ca.sync_contacts(&ContactSyncRequest {
        upserts: vec![ContactUpsert {
            phone: b.clone(),
            name: "Bob".into(),
            group: None,
            fields: None,
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let f = ca.services_friends().await.unwrap().friends;
    assert_eq!(
        f.iter().find(|f| f.phone == b).unwrap().name.as_deref(),
        Some("Bob")
    );

    // A deletes B: the match ends for both; A and C stay matched.
    delete_from_book(&ca, &[&b]).await;
    assert_eq!(friend_phones(&ca).await, vec![c.clone()]);
    assert!(friend_phones(&cb).await.is_empty());
    // B deleting A from their side changes nothing more; A adding B back does not match yet.
    delete_from_book(&cb, &[&a]).await;
    upload_book(&ca, &[&b]).await.unwrap();
    assert!(friend_phones(&cb).await.is_empty());
    upload_book(&cb, &[&a]).await.unwrap();
    assert_eq!(friend_phones(&cb).await, vec![a.clone()]);

    // Bad input: the whole request is refused with the reason, and nothing changes.
    let e = upload_book(&ca, &[&c, "not a number"]).await.unwrap_err();
    assert_eq!(code_of(&e), "invalid_contact_number");
    assert_eq!(friend_phones(&ca).await, vec![b.clone(), c.clone()]);
    let book = ca.server_contacts().await.unwrap();
    let c_entry = book.contacts.iter().find(|e| e.phone == c).unwrap();
    assert_eq!(c_entry.name, "n1", "the refused request renamed nobody");
    let big = ContactSyncRequest {
        deletes: vec!["1".to_string(); ringbook_proto::contacts::MAX_SYNC_ENTRIES + 1],
        ..Default::default()
    };
    assert_eq!(
        code_of(&ca.sync_contacts(&big).await.unwrap_err()),
        "too_many_entries"
    );
    assert_eq!(
        code_of(&srv.client().services_friends().await.unwrap_err()),
        "missing_token"
    );
}

#[tokio::test]
async fn batch_rematch_runs_over_the_whole_base_with_progress() {
    let srv = TestServer::start_with(|c| c.services.rematch_batch_users = 2).await;
    let admin = srv.client();
    assert_eq!(
        code_of(&admin.admin_rematch_status().await.unwrap_err()),
        "no_rematch"
    );
    let numbers: Vec<String> = (10..15).map(phone).collect();
    let mut clients = Vec::new();
    for n in &numbers {
        clients.push(srv.login(n).await.0);
    }
    // Everyone has everyone: 5 users, 10 matches, 20 rows.
    for (c, own) in clients.iter().zip(&numbers) {
        let refs: Vec<&str> = numbers
            .iter()
            .filter(|n| *n != own)
            .map(String::as_str)
            .collect();
        upload_book(c, &refs).await.unwrap();
    }
    assert_eq!(friend_phones(&clients[0]).await.len(), 4);

    let started = admin.admin_rematch_start().await.unwrap();
    assert_eq!(started.total_users, 5);
    let done = loop {
        let s = admin.admin_rematch_status().await.unwrap();
        if !s.running {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The incremental path had it right already: nothing to add or remove.
    assert_eq!(
        (done.done_users, done.added, done.removed, done.error),
        (5, 0, 0, None)
    );
    assert!(done.finished_at.is_some());
    assert_eq!(friend_phones(&clients[0]).await.len(), 4);

    // Admin only: with an admin token configured, a caller without it is refused.
    let srv2 = TestServer::start_with(|c| c.admin.token = Some("s3cret".into())).await;
    assert_eq!(
        code_of(&srv2.client().admin_rematch_start().await.unwrap_err()),
        "admin_only"
    );
    let ok = srv2
        .client()
        .with_token("s3cret")
        .admin_rematch_start()
        .await
        .unwrap();
    assert_eq!(ok.total_users, 0);
}

#[tokio::test]
async fn only_matched_friends_see_shared_services() {
    let srv = TestServer::start().await;
    let (a, b, c) = (phone(20), phone(21), phone(22));
    let (ca, cb) = matched_pair(&srv, &a, &b).await;
    let (cc, _, _) = srv.login(&c).await;
    upload_book(&cc, &[&a]).await.unwrap(); // C has A, A does not have C.
    let admin = srv.client();

    let catalog = ca.services_catalog().await.unwrap().services;
    assert!(catalog.iter().any(|s| s.id == "color-ring" && s.orderable));
    assert!(catalog.iter().any(|s| s.id == "legacy-fax" && !s.orderable));

    // Only own subscriptions can be shared.
    assert_eq!(
        code_of(
            &ca.services_set_shared("color-ring", true)
                .await
                .unwrap_err()
        ),
        "not_subscribed"
    );
    admin
        .admin_grant_subscription(&a, "color-ring")
        .await
        .unwrap();
    admin
        .admin_grant_subscription(&a, "news-daily")
        .await
        .unwrap();
    assert_eq!(
        code_of(
            &admin
                .admin_grant_subscription(&a, "nope")
                .await
                .unwrap_err()
        ),
        "unknown_service"
    );
    let s = ca.services_set_shared("color-ring", true).await.unwrap();
    assert!(s.shared && s.changed);
    assert!(
        !ca.services_set_shared("color-ring", true)
            .await
            .unwrap()
            .changed
    );
    let mine = ca.services_mine().await.unwrap();
    assert_eq!(mine.services.len(), 2);
    assert!(
        mine.services
            .iter()
            .find(|m| m.service.id == "color-ring")
            .unwrap()
            .shared
    );
    assert!(
        !mine
            .services
            .iter()
            .find(|m| m.service.id == "news-daily")
            .unwrap()
            .shared
    );

    // B (matched) sees it; C (one-sided) and strangers see nothing.
    let f = cb.services_friend(&a).await.unwrap();
    assert_eq!(
        f.shared.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec!["color-ring"]
    );
    assert_eq!(
        cb.services_friends().await.unwrap().friends[0].shared.len(),
        1
    );
    assert!(cc.services_friends().await.unwrap().friends.is_empty());
    assert_eq!(
        code_of(&cc.services_friend(&a).await.unwrap_err()),
        "not_a_friend"
    );
    assert_eq!(
        code_of(&cc.services_friend(&phone(99)).await.unwrap_err()),
        "not_a_friend"
    );
    assert_eq!(
        code_of(&cc.services_friend("garbage").await.unwrap_err()),
        "invalid_phone"
    );
    assert_eq!(
        code_of(&order(&cc, &a, "color-ring", None).await.unwrap_err()),
        "not_a_friend"
    );

    // Unsharing hides it again.
    let s = ca.services_set_shared("color-ring", false).await.unwrap();
    assert!(!s.shared && s.changed);
    assert!(cb.services_friend(&a).await.unwrap().shared.is_empty());
    assert_eq!(
        code_of(&order(&cb, &a, "color-ring", None).await.unwrap_err()),
        "not_shared"
    );

    // The match ending hides everything.
    ca.services_set_shared("color-ring", true).await.unwrap();
    delete_from_book(&cb, &[&a]).await;
    assert_eq!(
        code_of(&cb.services_friend(&a).await.unwrap_err()),
        "not_a_friend"
    );
}

#[tokio::test]
async fn carrier_service_is_ordered_at_once_once() {
    let srv = TestServer::start().await;
    let (a, b) = (phone(30), phone(31));
    let (ca, cb) = matched_pair(&srv, &a, &b).await;
    srv.client()
        .admin_grant_subscription(&a, "color-ring")
        .await
        .unwrap();
    ca.services_set_shared("color-ring", true).await.unwrap();
    let mut ws_a = listen(&ca).await;
    let mut ws_b = listen(&cb).await;

    let o = order(&cb, &a, "color-ring", Some("click-1")).await.unwrap();
    assert_eq!(o.state, OrderState::Ordered, "{o:?}");
    assert_eq!(o.friend, a);
    assert!(subscribed(&cb.services_mine().await.unwrap(), "color-ring"));
    // Both hear about it: B from A's conversation, A from B's.
    let to_b = next_notice(&mut ws_b).await;
    assert_eq!(to_b.from, a);
    assert!(to_b.body.contains("ordered 'color-ring'"), "{}", to_b.body);
    let to_a = next_notice(&mut ws_a).await;
    assert_eq!(to_a.from, b);
    assert!(
        to_a.body
            .contains("ordered 'color-ring' through your share"),
        "{}",
        to_a.body
    );

    // A double click (same key) returns the same order; nothing new happens.
    let again = order(&cb, &a, "color-ring", Some("click-1")).await.unwrap();
    assert_eq!((again.id, again.state), (o.id, OrderState::Ordered));
    // A new order while subscribed: refused with a message, and both are told.
    let r = order(&cb, &a, "color-ring", None).await.unwrap();
    assert_eq!(r.state, OrderState::Refused);
    assert_eq!(r.reason.as_deref(), Some("already_subscribed"));
    assert!(r.message.contains("already subscribe"), "{}", r.message);
    assert!(next_notice(&mut ws_b)
        .await
        .body
        .contains("was not ordered"));
    assert!(next_notice(&mut ws_a)
        .await
        .body
        .contains("already_subscribed"));
    assert_eq!(cb.services_orders().await.unwrap().orders.len(), 2);
    assert_eq!(
        cb.services_order_status(o.id).await.unwrap().state,
        OrderState::Ordered
    );
    assert_eq!(
        code_of(&ca.services_order_status(o.id).await.unwrap_err()),
        "unknown_order"
    );

    // Not shared / not orderable.
    assert_eq!(
        code_of(&order(&cb, &a, "music-club", None).await.unwrap_err()),
        "not_shared"
    );
    srv.client()
        .admin_grant_subscription(&a, "legacy-fax")
        .await
        .unwrap();
    ca.services_set_shared("legacy-fax", true).await.unwrap();
    let r = order(&cb, &a, "legacy-fax", None).await.unwrap();
    assert_eq!(
        (r.state, r.reason.as_deref()),
        (OrderState::Refused, Some("not_orderable"))
    );
    assert!(!subscribed(
        &cb.services_mine().await.unwrap(),
        "legacy-fax"
    ));
}

#[tokio::test]
async fn sp_service_is_ordered_on_the_right_reply_once() {
    let srv = TestServer::start().await;
    let (a, b) = (phone(40), phone(41));
    let (ca, cb) = matched_pair(&srv, &a, &b).await;
    srv.client()
        .admin_grant_subscription(&a, "news-daily")
        .await
        .unwrap();
    ca.services_set_shared("news-daily", true).await.unwrap();
    let mut ws_a = listen(&ca).await;

    let o = order(&cb, &a, "news-daily", Some("k1")).await.unwrap();
    assert_eq!(o.state, OrderState::AwaitingConfirmation, "{o:?}");
    assert!(o.expires_at.is_some());
    let (code, sent) = confirmation(&srv, &b);
    assert_eq!(sent, 1);
    // The code travels only by SMS: the orderer's session never sees it.
    let shown = serde_json::to_string(&o).unwrap();
    assert!(!shown.contains(&format!("Y {code}")), "{shown}");
    let listed = serde_json::to_string(&cb.services_orders().await.unwrap()).unwrap();
    assert!(!listed.contains(&format!("Y {code}")), "{listed}");
    assert!(!subscribed(
        &cb.services_mine().await.unwrap(),
        "news-daily"
    ));

    // A double click with another key while it waits: the same order, no second SMS.
    let again = order(&cb, &a, "news-daily", Some("k2")).await.unwrap();
    assert_eq!(again.id, o.id);
    assert_eq!(confirmation(&srv, &b).1, 1);

    // The right reply orders it.
    let reply = mo(&srv, &b, &format!("y {code}")).await;
    assert!(reply.contains("confirmed"), "{reply}");
    assert_eq!(
        cb.services_order_status(o.id).await.unwrap().state,
        OrderState::Ordered
    );
    assert!(subscribed(&cb.services_mine().await.unwrap(), "news-daily"));
    assert!(next_notice(&mut ws_a)
        .await
        .body
        .contains("through your share"));

    // The same reply again: recognised, nothing more.
    let reply = mo(&srv, &b, &format!("Y {code}")).await;
    assert!(reply.contains("already confirmed"), "{reply}");
    let mine = cb.services_mine().await.unwrap();
    assert_eq!(
        mine.services
            .iter()
            .filter(|s| s.service.id == "news-daily")
            .count(),
        1
    );
    assert_eq!(cb.services_orders().await.unwrap().orders.len(), 1);

    // A text from someone with nothing open is not claimed (empty answer: no reply SMS).
    assert_eq!(mo(&srv, &a, "Y 1234").await, "");
}

#[tokio::test]
async fn wrong_or_declining_replies_refuse_the_order() {
    let srv = TestServer::start().await;
    let (a, b) = (phone(50), phone(51));
    let (ca, cb) = matched_pair(&srv, &a, &b).await;
    for s in ["news-daily", "music-club"] {
        srv.client().admin_grant_subscription(&a, s).await.unwrap();
        ca.services_set_shared(s, true).await.unwrap();
    }
    let mut ws_b = listen(&cb).await;

    let o = order(&cb, &a, "music-club", None).await.unwrap();
    let (code, _) = confirmation(&srv, &b);
    let wrong = if code == "0000" { "1111" } else { "0000" };
    let reply = mo(&srv, &b, &format!("Y {wrong}")).await;
    assert!(reply.contains("did not match"), "{reply}");
    let v = cb.services_order_status(o.id).await.unwrap();
    assert_eq!(
        (v.state, v.reason.as_deref()),
        (OrderState::Refused, Some("wrong_reply"))
    );
    assert!(next_notice(&mut ws_b)
        .await
        .body
        .contains("was not ordered"));
    // The right code after a wrong reply is too late: the order is closed.
    let reply = mo(&srv, &b, &format!("Y {code}")).await;
    assert!(reply.contains("already cancelled"), "{reply}");
    assert!(!subscribed(
        &cb.services_mine().await.unwrap(),
        "music-club"
    ));

    // "N <code>" declines.
    let o = order(&cb, &a, "news-daily", None).await.unwrap();
    let (code, _) = confirmation(&srv, &b);
    assert!(mo(&srv, &b, &format!("N {code}"))
        .await
        .contains("cancelled"));
    let v = cb.services_order_status(o.id).await.unwrap();
    assert_eq!(
        (v.state, v.reason.as_deref()),
        (OrderState::Refused, Some("declined"))
    );
    // A bare "Y" without the code is not a correct reply either.
    let o = order(&cb, &a, "news-daily", None).await.unwrap();
    assert!(mo(&srv, &b, "Y").await.contains("did not match"));
    assert_eq!(
        cb.services_order_status(o.id)
            .await
            .unwrap()
            .reason
            .as_deref(),
        Some("wrong_reply")
    );
    assert!(!subscribed(
        &cb.services_mine().await.unwrap(),
        "news-daily"
    ));
}

#[tokio::test]
async fn a_late_reply_refuses_the_order() {
    // Confirmations that expire at once.
    let srv = TestServer::start_with(|c| c.services.confirm_ttl_secs = 0).await;
    let (a, b) = (phone(60), phone(61));
    let (ca, cb) = matched_pair(&srv, &a, &b).await;
    srv.client()
        .admin_grant_subscription(&a, "news-daily")
        .await
        .unwrap();
    ca.services_set_shared("news-daily", true).await.unwrap();
    let mut ws_a = listen(&ca).await;

    let o = order(&cb, &a, "news-daily", None).await.unwrap();
    assert_eq!(o.state, OrderState::AwaitingConfirmation);
    let (code, _) = confirmation(&srv, &b);
    tokio::time::sleep(Duration::from_millis(5)).await; // past expires_at (now + 0 ms)
    let reply = mo(&srv, &b, &format!("Y {code}")).await;
    assert!(reply.contains("too late"), "{reply}");
    let v = cb.services_order_status(o.id).await.unwrap();
    assert_eq!(
        (v.state, v.reason.as_deref()),
        (OrderState::Refused, Some("expired"))
    );
    assert!(!subscribed(
        &cb.services_mine().await.unwrap(),
        "news-daily"
    ));
    assert!(next_notice(&mut ws_a).await.body.contains("expired"));
    // Repeating the late reply: still too late, nothing ordered.
    assert!(mo(&srv, &b, &format!("Y {code}"))
        .await
        .contains("too late"));
    assert!(!subscribed(
        &cb.services_mine().await.unwrap(),
        "news-daily"
    ));
}

#[tokio::test]
async fn orders_go_through_the_http_adapter_to_an_external_platform() {
    // The "external" platform: another server's reference platform, over HTTP.
    let platform = TestServer::start().await;
    let url = format!("{}/v1/platform", platform.url);
    let srv = TestServer::start_with(move |c| {
        c.services.platform = ringbook_server::services::PlatformKind::Http;
        c.services.platform_url = Some(url);
    })
    .await;
    let (a, b) = (phone(70), phone(71));
    let (ca, cb) = matched_pair(&srv, &a, &b).await;
    // Subscriptions live on the platform; Ringbook's own grant refuses.
    assert_eq!(
        code_of(
            &srv.client()
                .admin_grant_subscription(&a, "color-ring")
                .await
                .unwrap_err()
        ),
        "external_platform"
    );
    platform
        .client()
        .admin_grant_subscription(&a, "color-ring")
        .await
        .unwrap();
    assert_eq!(ca.services_catalog().await.unwrap().services.len(), 6);
    ca.services_set_shared("color-ring", true).await.unwrap();
    let o = order(&cb, &a, "color-ring", None).await.unwrap();
    assert_eq!(o.state, OrderState::Ordered);
    assert!(subscribed(&cb.services_mine().await.unwrap(), "color-ring"));

    // The platform down: a clear upstream error, and the order slot is free again.
    platform.stop().await;
    let e = order(&cb, &a, "color-ring", None).await.unwrap_err();
    assert_eq!(code_of(&e), "platform_unavailable");
}
