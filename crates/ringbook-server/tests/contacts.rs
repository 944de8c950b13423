//! PB-11: incremental client ↔ server contact sync, against the real server.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)] // test helpers (tests/common too)

mod common;

use common::{phone, TestServer};
use ringbook_client::ClientError;
use ringbook_proto::contacts::{ContactSyncRequest, ContactUpsert};

fn up(p: &str, name: &str) -> ContactUpsert {
    ContactUpsert {
        phone: p.into(),
        name: name.into(),
        group: Some("Friends".into()),
        fields: None,
    }
}

fn code(e: ClientError) -> String {
    e.code().unwrap_or("none").to_string()
}

#[tokio::test]
async fn sync_is_incremental_across_devices_with_tombstones() {
    let srv = TestServer::start().await;
    let me = phone(1);
    let (dev1, _, device) = srv.login(&me).await;
    // A second session of the same device (another app instance).
    let resp = srv.login_device(&me, &device).await.unwrap();
    let dev2 = srv.client().with_token(resp.token);

    let first = dev1
        .sync_contacts(&ContactSyncRequest {
            since: 0,
            upserts: vec![
                up(&phone(2), "Li Lei"),
                up("138 0000 0003", "Han Meimei"),
                up(&phone(4), "Wang"),
            ],
            deletes: vec![],
        })
        .await
        .unwrap();
    assert_eq!(first.applied, 3);
    assert!(
        first.changes.is_empty(),
        "the request's own rows are not echoed"
    );
    let v1 = first.version;
    assert!(v1 > 0);

    // The other device gets everything since 0, numbers normalised to E.164.
    let other = dev2
        .sync_contacts(&ContactSyncRequest {
            since: 0,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(other.version, v1);
    let mut phones: Vec<_> = other.changes.iter().map(|c| c.phone.clone()).collect();
    phones.sort();
    assert_eq!(phones, vec![phone(2), phone(3), phone(4)]);
    assert!(other
        .changes
        .iter()
        .all(|c| !c.deleted && c.flag == 1 && c.group.as_deref() == Some("Friends")));

    // Device 1 edits one and deletes one.
    let second = dev1
        .sync_contacts(&ContactSyncRequest {
            since: v1,
            upserts: vec![ContactUpsert {
                phone: phone(2),
                name: "Li Lei (work)".into(),
                group: None,
                fields: Some(serde_json::json!({"org": "Acme"})),
            }],
            deletes: vec![phone(4)],
        })
        .await
        .unwrap();
    assert!(second.version > v1);

    // Device 2 syncs from its cursor: only the two changes, the delete as a tombstone.
    let delta = dev2
        .sync_contacts(&ContactSyncRequest {
            since: v1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(delta.changes.len(), 2, "{:?}", delta.changes);
    let edited = delta.changes.iter().find(|c| c.phone == phone(2)).unwrap();
    assert_eq!(edited.name, "Li Lei (work)");
    assert_eq!(edited.group, None);
    assert_eq!(edited.fields["org"], "Acme");
    let gone = delta.changes.iter().find(|c| c.phone == phone(4)).unwrap();
    assert!(gone.deleted);

    // Nothing new since the latest cursor.
    let none = dev2
        .sync_contacts(&ContactSyncRequest {
            since: delta.version,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.changes.is_empty());

    // The full list leaves tombstones out; deleted rows no longer count as "in the book".
    let list = dev1.server_contacts().await.unwrap();
    let listed: Vec<_> = list.contacts.iter().map(|c| c.phone.as_str()).collect();
    assert_eq!(listed, vec![phone(2).as_str(), phone(3).as_str()]);
    let owner = srv
        .state
        .core
        .store
        .user_by_phone(&me)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(!srv
        .state
        .core
        .store
        .has_in_book(owner, &phone(4))
        .await
        .unwrap());
    assert!(srv
        .state
        .core
        .store
        .has_in_book(owner, &phone(3))
        .await
        .unwrap());
    assert!(srv
        .state
        .core
        .store
        .owners_having(&phone(4))
        .await
        .unwrap()
        .is_empty());

    // Re-adding a deleted number revives it.
    dev2.sync_contacts(&ContactSyncRequest {
        since: 0,
        upserts: vec![up(&phone(4), "Wang again")],
        deletes: vec![],
    })
    .await
    .unwrap();
    assert!(srv
        .state
        .core
        .store
        .has_in_book(owner, &phone(4))
        .await
        .unwrap());
}

#[tokio::test]
async fn users_and_mutual_flags_are_reported_to_both_sides() {
    let srv = TestServer::start().await;
    let (a, _, _) = srv.login(&phone(10)).await;
    let (b, _, _) = srv.login(&phone(11)).await;

    // A adds B (a user) and C (not a user).
    let ra = a
        .sync_contacts(&ContactSyncRequest {
            since: 0,
            upserts: vec![up(&phone(11), "Bob"), up(&phone(12), "Carol")],
            deletes: vec![],
        })
        .await
        .unwrap();
    assert_eq!(ra.users.len(), 1);
    assert_eq!(ra.users[0].phone, phone(11));
    assert_eq!(ra.users[0].flag, 1, "B has not added A back yet");

    // B adds A: mutual.
    let rb = b
        .sync_contacts(&ContactSyncRequest {
            since: 0,
            upserts: vec![up(&phone(10), "Alice")],
            deletes: vec![],
        })
        .await
        .unwrap();
    assert_eq!(rb.users.len(), 1);
    assert_eq!(rb.users[0].flag, 2);

    // A learns at its next incremental sync that its row for B became mutual.
    let ra2 = a
        .sync_contacts(&ContactSyncRequest {
            since: ra.version,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ra2.changes.len(), 1);
    assert_eq!(ra2.changes[0].phone, phone(11));
    assert_eq!(ra2.changes[0].flag, 2);
    assert!(ra2.changes[0].is_user);

    // B deletes A: A's row goes back to 1.
    b.sync_contacts(&ContactSyncRequest {
        since: rb.version,
        upserts: vec![],
        deletes: vec![phone(10)],
    })
    .await
    .unwrap();
    let ra3 = a
        .sync_contacts(&ContactSyncRequest {
            since: ra2.version,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ra3.changes.len(), 1);
    assert_eq!(ra3.changes[0].flag, 1);
    let list = a.server_contacts().await.unwrap();
    let carol = list.contacts.iter().find(|c| c.phone == phone(12)).unwrap();
    assert!(!carol.is_user);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let srv = TestServer::start_with(|cfg| cfg.contacts.max_sync_entries = 5).await;
    let me = phone(20);
    let (a, _, _) = srv.login(&me).await;

    let bad_number = ContactSyncRequest {
        since: 0,
        upserts: vec![up(&phone(21), "Fine"), up("010 6552 9988", "Landline")],
        deletes: vec![],
    };
    assert_eq!(
        code(a.sync_contacts(&bad_number).await.unwrap_err()),
        "invalid_contact_number"
    );

    let own = ContactSyncRequest {
        since: 0,
        upserts: vec![up(&me, "Me")],
        deletes: vec![],
    };
    assert_eq!(code(a.sync_contacts(&own).await.unwrap_err()), "own_number");

    let too_many = ContactSyncRequest {
        since: 0,
        upserts: (30..36).map(|n| up(&phone(n), "x")).collect(),
        deletes: vec![],
    };
    assert_eq!(
        code(a.sync_contacts(&too_many).await.unwrap_err()),
        "too_many_entries"
    );

    let both = ContactSyncRequest {
        since: 0,
        upserts: vec![up(&phone(22), "x")],
        deletes: vec![phone(22)],
    };
    assert_eq!(
        code(a.sync_contacts(&both).await.unwrap_err()),
        "conflicting_entries"
    );

    let bad_fields = ContactSyncRequest {
        since: 0,
        upserts: vec![ContactUpsert {
            phone: phone(23),
            name: "x".into(),
            group: None,
            fields: Some(serde_json::json!([1])),
        }],
        deletes: vec![],
    };
    assert_eq!(
        code(a.sync_contacts(&bad_fields).await.unwrap_err()),
        "invalid_fields"
    );

    let long = ContactSyncRequest {
        since: 0,
        upserts: vec![up(&phone(24), &"n".repeat(201))],
        deletes: vec![],
    };
    assert_eq!(
        code(a.sync_contacts(&long).await.unwrap_err()),
        "name_too_long"
    );

    // Another owner cannot be named: the owner is always the session's user.
    let err = a
        .call::<_, serde_json::Value>(
            ringbook_client::Method::POST,
            "/v1/contacts/sync",
            Some(&serde_json::json!({"since": 0, "owner": phone(21), "upserts": []})),
        )
        .await
        .unwrap_err();
    assert_eq!(code(err), "invalid_body");

    // Without a session.
    let anon = srv.client();
    assert_eq!(
        code(
            anon.sync_contacts(&ContactSyncRequest::default())
                .await
                .unwrap_err()
        ),
        "missing_token"
    );

    // Nothing was stored by any refused request.
    let list = a.server_contacts().await.unwrap();
    assert!(list.contacts.is_empty());
    assert_eq!(list.version, 0);
}

#[tokio::test]
async fn books_are_private_to_their_owner() {
    let srv = TestServer::start().await;
    let (a, _, _) = srv.login(&phone(40)).await;
    let (b, _, _) = srv.login(&phone(41)).await;
    a.sync_contacts(&ContactSyncRequest {
        since: 0,
        upserts: vec![up(&phone(42), "Secret")],
        deletes: vec![],
    })
    .await
    .unwrap();
    // B's deletes of A's contact do nothing to A's book.
    b.sync_contacts(&ContactSyncRequest {
        since: 0,
        upserts: vec![],
        deletes: vec![phone(42)],
    })
    .await
    .unwrap();
    let rb = b
        .sync_contacts(&ContactSyncRequest::default())
        .await
        .unwrap();
    assert!(rb.changes.is_empty());
    assert!(b.server_contacts().await.unwrap().contacts.is_empty());
    assert_eq!(a.server_contacts().await.unwrap().contacts.len(), 1);
}
