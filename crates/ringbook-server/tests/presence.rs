//! PB-12 … PB-14: presence set at connect/disconnect and by the user, visible to allowed
//! contacts only, and pushed live over the WebSocket.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)] // test helpers (tests/common too)

mod common;

use common::{phone, TestServer};
use ringbook_client::ws::Connection;
use ringbook_client::Client;
use ringbook_proto::contacts::{ContactSyncRequest, ContactUpsert};
use ringbook_proto::presence::{ImStatus, PresenceInfo, PresenceUpdate, Visibility};
use ringbook_proto::ws::{ClientFrame, ServerFrame};
use std::time::Duration;

async fn add(c: &Client, phones: &[String]) {
    let upserts = phones
        .iter()
        .map(|p| ContactUpsert {
            phone: p.clone(),
            name: "x".into(),
            group: None,
            fields: None,
        })
        .collect();
    c.sync_contacts(&ContactSyncRequest {
        since: 0,
        upserts,
        deletes: vec![],
    })
    .await
    .unwrap();
}

async fn connect(c: &Client) -> Connection {
    let mut ws = c.connect().await.unwrap();
    assert!(matches!(
        ws.next().await.unwrap(),
        Some(ServerFrame::Hello { .. })
    ));
    ws
}

/// The next presence frame about `phone` (skipping others), within 5 s.
async fn next_presence(ws: &mut Connection, phone: &str) -> PresenceInfo {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await.unwrap() {
                Some(ServerFrame::Presence(p)) if p.phone == phone => return p,
                Some(_) => continue,
                None => panic!("connection closed while waiting for presence of {phone}"),
            }
        }
    })
    .await
    .expect("no presence frame within 5 s")
}

/// Asserts that no presence frame about `phone` is queued: a ping's pong comes first.
async fn no_presence(ws: &mut Connection, phone: &str) {
    ws.send(&ClientFrame::Ping { nonce: 77 }).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await.unwrap() {
                Some(ServerFrame::Pong { nonce: 77 }) => return,
                Some(ServerFrame::Presence(p)) if p.phone == phone => {
                    panic!("unexpected presence {p:?}")
                }
                Some(_) => continue,
                None => panic!("connection closed"),
            }
        }
    })
    .await
    .expect("no pong within 5 s");
}

fn visible(list: &ringbook_proto::presence::PresenceList, phone: &str) -> Option<PresenceInfo> {
    list.presence.iter().find(|p| p.phone == phone).cloned()
}

#[tokio::test]
async fn status_follows_connections_and_is_pushed_to_allowed_contacts_only() {
    let srv = TestServer::start().await;
    let (pa, pb, pc) = (phone(1), phone(2), phone(3));
    let (a, _, _) = srv.login(&pa).await;
    let (b, _, _) = srv.login(&pb).await;
    let (c, _, _) = srv.login(&pc).await;
    // A's book has B (so B may see A); B and C both have A in theirs (both watch A).
    add(&a, std::slice::from_ref(&pb)).await;
    add(&b, std::slice::from_ref(&pa)).await;
    add(&c, std::slice::from_ref(&pa)).await;

    // Before A connects it is offline, as B sees at login; C sees nothing at all.
    let seen = b.contacts_presence().await.unwrap();
    assert_eq!(visible(&seen, &pa).unwrap().im_status, ImStatus::Offline);
    assert!(visible(&c.contacts_presence().await.unwrap(), &pa).is_none());
    assert!(c
        .query_presence(std::slice::from_ref(&pa))
        .await
        .unwrap()
        .presence
        .is_empty());

    let mut ws_b = connect(&b).await;
    let mut ws_c = connect(&c).await;

    // A connects: online, pushed to B, not to C.
    let ws_a = connect(&a).await;
    assert_eq!(
        next_presence(&mut ws_b, &pa).await.im_status,
        ImStatus::Online
    );
    no_presence(&mut ws_c, &pa).await;

    // A sets busy with a text and an activity: B sees it live and by query.
    let mine = a
        .update_presence(&PresenceUpdate {
            im_status: Some(ImStatus::Busy),
            self_status: Some(Some("in a meeting".into())),
            activity_status: Some(Some("Zoom".into())),
            nickname: Some(Some("Al".into())),
            signature: Some(Some("hello".into())),
            personal_site: Some(Some("https://al.example".into())),
            activity_ttl_secs: None,
        })
        .await
        .unwrap();
    assert_eq!(mine.visibility, Visibility::Contacts);
    let pushed = next_presence(&mut ws_b, &pa).await;
    assert_eq!(pushed.im_status, ImStatus::Busy);
    assert_eq!(pushed.self_status.as_deref(), Some("in a meeting"));
    assert_eq!(pushed.activity_status.as_deref(), Some("Zoom"));
    assert_eq!(pushed.personal_site.as_deref(), Some("https://al.example"));
    no_presence(&mut ws_c, &pa).await;
    let q = b.query_presence(&[pa.clone(), pc.clone()]).await.unwrap();
    assert_eq!(
        q.presence.len(),
        1,
        "C keeps the default privacy and B is not in C's book"
    );
    assert_eq!(q.presence[0].nickname.as_deref(), Some("Al"));

    // Clearing one field leaves the others.
    let mine = a
        .update_presence(&PresenceUpdate {
            activity_status: Some(None),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.info.activity_status, None);
    assert_eq!(mine.info.self_status.as_deref(), Some("in a meeting"));
    assert_eq!(next_presence(&mut ws_b, &pa).await.activity_status, None);

    // A's last connection closes: offline, pushed to B.
    ws_a.close().await.unwrap();
    assert_eq!(
        next_presence(&mut ws_b, &pa).await.im_status,
        ImStatus::Offline
    );
    // The chosen status comes back at the next connection.
    let _ws_a = connect(&a).await;
    assert_eq!(
        next_presence(&mut ws_b, &pa).await.im_status,
        ImStatus::Busy
    );
}

#[tokio::test]
async fn privacy_setting_decides_who_sees_presence() {
    let srv = TestServer::start().await;
    let (pa, pb, pc) = (phone(10), phone(11), phone(12));
    let (a, _, _) = srv.login(&pa).await;
    let (b, _, _) = srv.login(&pb).await;
    let (c, _, _) = srv.login(&pc).await;
    add(&a, std::slice::from_ref(&pb)).await;
    add(&b, std::slice::from_ref(&pa)).await;
    add(&c, std::slice::from_ref(&pa)).await;
    let mut ws_b = connect(&b).await;
    let mut ws_c = connect(&c).await;

    // Everyone: C (not in A's book) now sees A, live too.
    let me = a.set_presence_privacy(Visibility::Everyone).await.unwrap();
    assert_eq!(me.visibility, Visibility::Everyone);
    assert!(visible(&c.contacts_presence().await.unwrap(), &pa).is_some());
    // The change itself is pushed to the watchers that may now see A.
    assert_eq!(
        next_presence(&mut ws_c, &pa).await.im_status,
        ImStatus::Offline
    );
    assert_eq!(
        next_presence(&mut ws_b, &pa).await.im_status,
        ImStatus::Offline
    );
    a.update_presence(&PresenceUpdate {
        self_status: Some(Some("lunch".into())),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        next_presence(&mut ws_c, &pa).await.self_status.as_deref(),
        Some("lunch")
    );
    assert_eq!(
        next_presence(&mut ws_b, &pa).await.self_status.as_deref(),
        Some("lunch")
    );

    // Nobody: no one else sees A; watchers get one last frame hiding it.
    a.set_presence_privacy(Visibility::Nobody).await.unwrap();
    let hidden = next_presence(&mut ws_b, &pa).await;
    assert_eq!(hidden.im_status, ImStatus::Offline);
    assert_eq!(hidden.self_status, None);
    assert!(b.contacts_presence().await.unwrap().presence.is_empty());
    assert!(b
        .query_presence(std::slice::from_ref(&pa))
        .await
        .unwrap()
        .presence
        .is_empty());
    a.update_presence(&PresenceUpdate {
        im_status: Some(ImStatus::Away),
        ..Default::default()
    })
    .await
    .unwrap();
    no_presence(&mut ws_b, &pa).await;
    // A still sees its own: chosen away, shown offline while no device of A is connected.
    let mine = a.my_presence().await.unwrap();
    assert_eq!(mine.chosen_status, Some(ImStatus::Away));
    assert_eq!(mine.info.im_status, ImStatus::Offline);

    // Back to contacts (the default): B again, C not.
    a.set_presence_privacy(Visibility::Contacts).await.unwrap();
    assert_eq!(
        next_presence(&mut ws_b, &pa).await.self_status.as_deref(),
        Some("lunch")
    );
    assert!(visible(&b.contacts_presence().await.unwrap(), &pa).is_some());
    assert!(visible(&c.contacts_presence().await.unwrap(), &pa).is_none());

    // When A deletes B from its book, B loses sight of A.
    a.sync_contacts(&ContactSyncRequest {
        since: 0,
        upserts: vec![],
        deletes: vec![pb.clone()],
    })
    .await
    .unwrap();
    assert!(b
        .query_presence(std::slice::from_ref(&pa))
        .await
        .unwrap()
        .presence
        .is_empty());
}

#[tokio::test]
async fn bad_presence_input_is_refused() {
    let srv = TestServer::start().await;
    let (a, _, _) = srv.login(&phone(20)).await;
    let code = |e: ringbook_client::ClientError| e.code().unwrap_or("none").to_string();
    let long = PresenceUpdate {
        self_status: Some(Some("x".repeat(500))),
        ..Default::default()
    };
    assert_eq!(
        code(a.update_presence(&long).await.unwrap_err()),
        "text_too_long"
    );
    let site = PresenceUpdate {
        personal_site: Some(Some("javascript:alert(1)".into())),
        ..Default::default()
    };
    assert_eq!(
        code(a.update_presence(&site).await.unwrap_err()),
        "invalid_site"
    );
    let err = a
        .call::<_, serde_json::Value>(
            ringbook_client::Method::PUT,
            "/v1/presence/me",
            Some(&serde_json::json!({"im_status": "sleeping"})),
        )
        .await
        .unwrap_err();
    assert_eq!(code(err), "invalid_body");
    let err = a
        .call::<_, serde_json::Value>(
            ringbook_client::Method::PUT,
            "/v1/presence/privacy",
            Some(&serde_json::json!({"visibility": "friends"})),
        )
        .await
        .unwrap_err();
    assert_eq!(code(err), "invalid_body");
    assert_eq!(
        code(a.query_presence(&["hello".into()]).await.unwrap_err()),
        "invalid_number"
    );
    // Nothing changed.
    let me = a.my_presence().await.unwrap();
    assert_eq!(me.info.self_status, None);
    assert_eq!(me.info.personal_site, None);
    assert_eq!(me.visibility, Visibility::Contacts);
    assert_eq!(
        code(srv.client().my_presence().await.unwrap_err()),
        "missing_token"
    );
}

/// Issue 12: presence stayed `busy` while the user was offline. Without a connected device the
/// user shows offline (with the time it was last seen); the chosen status and the self-set text
/// wait for the next connection, and only the last connection's close makes it offline.
#[tokio::test]
async fn a_user_without_a_connected_device_shows_offline_with_last_seen() {
    let srv = TestServer::start().await;
    let (pa, pb) = (phone(30), phone(31));
    let (a, _, _) = srv.login(&pa).await;
    let (b, _, _) = srv.login(&pb).await;
    add(&a, std::slice::from_ref(&pb)).await;
    add(&b, std::slice::from_ref(&pa)).await;

    // Set while no device is connected: offline for others, the text shows, no "last seen" yet.
    let mine = a
        .update_presence(&PresenceUpdate {
            im_status: Some(ImStatus::Busy),
            self_status: Some(Some("in a meeting".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.info.im_status, ImStatus::Offline);
    assert_eq!(mine.chosen_status, Some(ImStatus::Busy));
    let seen = visible(&b.contacts_presence().await.unwrap(), &pa).unwrap();
    assert_eq!(seen.im_status, ImStatus::Offline);
    assert_eq!(seen.self_status.as_deref(), Some("in a meeting"));
    assert_eq!(seen.last_seen_at, None);

    // Connected twice (two commands of one device): busy; closing one keeps it busy.
    let mut ws_b = connect(&b).await;
    let first = connect(&a).await;
    let pushed = next_presence(&mut ws_b, &pa).await;
    assert_eq!(pushed.im_status, ImStatus::Busy);
    assert_eq!(pushed.last_seen_at, None);
    let second = connect(&a).await;
    first.close().await.unwrap();
    no_presence(&mut ws_b, &pa).await;
    assert_eq!(
        visible(&b.contacts_presence().await.unwrap(), &pa)
            .unwrap()
            .im_status,
        ImStatus::Busy
    );

    // The last one closes: offline, last seen now, pushed; the text stays until changed.
    let before = ringbook_client::store::now_ms();
    second.close().await.unwrap();
    let pushed = next_presence(&mut ws_b, &pa).await;
    let after = ringbook_client::store::now_ms();
    assert_eq!(pushed.im_status, ImStatus::Offline);
    let last_seen = pushed.last_seen_at.expect("last seen with offline");
    assert!((before..=after).contains(&last_seen), "{last_seen}");
    assert_eq!(pushed.self_status.as_deref(), Some("in a meeting"));
    let queried = b.query_presence(std::slice::from_ref(&pa)).await.unwrap();
    assert_eq!(queried.presence[0].last_seen_at, Some(last_seen));
}

/// Issue 12: an activity status set by the monitor stayed after the monitor was gone. It now
/// lapses after its time to live unless sent again, and watchers are told.
#[tokio::test]
async fn an_activity_status_lapses_unless_refreshed() {
    let srv = TestServer::start().await;
    let (pa, pb) = (phone(40), phone(41));
    let (a, _, _) = srv.login(&pa).await;
    let (b, _, _) = srv.login(&pb).await;
    add(&a, std::slice::from_ref(&pb)).await;
    add(&b, std::slice::from_ref(&pa)).await;
    let mut ws_b = connect(&b).await;

    a.update_presence(&PresenceUpdate {
        self_status: Some(Some("travelling".into())),
        activity_status: Some(Some("In a meeting".into())),
        activity_ttl_secs: Some(1),
        ..Default::default()
    })
    .await
    .unwrap();
    let pushed = next_presence(&mut ws_b, &pa).await;
    assert_eq!(pushed.activity_status.as_deref(), Some("In a meeting"));
    // Not refreshed: it lapses (the sweeper runs every second) and B is told.
    let lapsed = next_presence(&mut ws_b, &pa).await;
    assert_eq!(lapsed.activity_status, None);
    assert_eq!(lapsed.self_status.as_deref(), Some("travelling"));
    let q = b.query_presence(std::slice::from_ref(&pa)).await.unwrap();
    assert_eq!(q.presence[0].activity_status, None);
    assert_eq!(q.presence[0].self_status.as_deref(), Some("travelling"));

    // A time to live out of bounds is refused.
    for ttl in [0, 86_401] {
        let err = a
            .update_presence(&PresenceUpdate {
                activity_status: Some(Some("x".into())),
                activity_ttl_secs: Some(ttl),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("bad_activity_ttl"));
    }
}
