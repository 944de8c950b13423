//! The storage contract, written once and run on every backend: SQLite always, PostgreSQL when
//! `RINGBOOK_TEST_POSTGRES_URL` is set (CI sets it; locally a notice says it was skipped).

use futures_util::future::join_all;
use ringbook_store::contacts::ContactRow;
use ringbook_store::identity::{CodeTry, ConnectionRow, DeviceRow, RescueTry};
use ringbook_store::messaging::{Appended, NewMessage};
use ringbook_store::{Store, StoreError};

async fn backends() -> Vec<(String, Store, Option<tempfile_dir::Dir>)> {
    let mut out = Vec::new();
    let dir = tempfile_dir::Dir::new();
    let url = format!("sqlite://{}/contract.db", dir.path.display());
    out.push((
        "sqlite".to_string(),
        Store::open(&url).await.unwrap(),
        Some(dir),
    ));
    match std::env::var("RINGBOOK_TEST_POSTGRES_URL") {
        Ok(admin) => {
            use sqlx::Connection;
            let name = format!("rbcontract_{}", rand::random::<u32>());
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let base = admin.rsplit_once('/').unwrap().0.to_string();
            out.push((
                "postgres".to_string(),
                Store::open(&format!("{base}/{name}")).await.unwrap(),
                None,
            ));
        }
        Err(_) => eprintln!(
            "notice: PostgreSQL contract tests skipped; set RINGBOOK_TEST_POSTGRES_URL to run them"
        ),
    }
    out
}

/// A temporary folder without pulling a crate in for it.
mod tempfile_dir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("rbstore-{}", rand::random::<u64>()));
            std::fs::create_dir_all(&path).unwrap();
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn device(id: &str) -> DeviceRow {
    DeviceRow {
        device_id: id.into(),
        imei: Some("351234567890123".into()),
        iccid: None,
        imsi: None,
    }
}

#[tokio::test]
async fn users_sessions_and_rescue_counters() {
    for (name, store, _dir) in backends().await {
        let u = store
            .create_user("+8613800000001", &device("dev-aaaaaaaa"), 1000)
            .await
            .unwrap();
        assert_eq!(u.phone, "+8613800000001");
        assert!(!u.blocked && !u.secure_mode);
        assert!(
            matches!(
                store
                    .create_user("+8613800000001", &device("dev-b"), 1001)
                    .await,
                Err(StoreError::Conflict(_))
            ),
            "{name}"
        );
        store.record_login(u.id, 2000).await.unwrap();
        let again = store
            .user_by_phone("+8613800000001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (again.login_count, again.last_login_at),
            (1, Some(2000)),
            "{name}"
        );
        assert_eq!(again.imei.as_deref(), Some("351234567890123"));

        // Two tries allowed: the second claims the lock; a third is refused until it runs out.
        let claim = |now| store.claim_rescue_try(u.id, now, 2, 60_000);
        assert_eq!(
            claim(5000).await.unwrap(),
            RescueTry::Claimed {
                tries: 1,
                locked_until: 0
            },
            "{name}"
        );
        assert_eq!(
            claim(5000).await.unwrap(),
            RescueTry::Claimed {
                tries: 2,
                locked_until: 65_000
            },
            "{name}"
        );
        assert_eq!(
            claim(6000).await.unwrap(),
            RescueTry::Locked { until: 65_000 },
            "{name}"
        );
        assert_eq!(
            claim(65_000).await.unwrap(),
            RescueTry::Claimed {
                tries: 1,
                locked_until: 0
            },
            "{name}"
        );
        store.clear_rescue_tries(u.id).await.unwrap();
        assert_eq!(
            store
                .user_by_id(u.id)
                .await
                .unwrap()
                .unwrap()
                .rescue_failures,
            0,
            "{name}"
        );

        store
            .create_session("s1", u.id, "hash1", "dev-aaaaaaaa", Some("phone"), 3000)
            .await
            .unwrap();
        store
            .create_session("s2", u.id, "hash2", "dev-aaaaaaaa", None, 3001)
            .await
            .unwrap();
        assert_eq!(
            store
                .session_by_token_hash("hash1")
                .await
                .unwrap()
                .unwrap()
                .phone,
            "+8613800000001"
        );
        assert_eq!(store.list_sessions(u.id).await.unwrap().len(), 2);
        store.revoke_session(u.id, "s1", 4000).await.unwrap();
        assert!(
            store
                .session_by_token_hash("hash1")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert!(matches!(
            store.revoke_session(u.id, "s1", 4000).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store.revoke_all_sessions(u.id, 4001).await.unwrap(),
            vec!["s2".to_string()]
        );

        let blocked = store.set_blocked("+8613800000001", true).await.unwrap();
        assert!(blocked.blocked);
        assert!(matches!(
            store.set_blocked("+8613899999999", true).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn codes_tokens_and_connections() {
    for (name, store, _dir) in backends().await {
        store
            .put_code("+8613800000002", "h1", 10_000, 1_000)
            .await
            .unwrap();
        let tried = store
            .claim_code_try("+8613800000002", 1_500, 1)
            .await
            .unwrap();
        assert!(
            matches!(tried, CodeTry::Claimed(ref c) if c.attempts == 1),
            "{name}"
        );
        assert!(matches!(
            store
                .claim_code_try("+8613800000002", 1_500, 1)
                .await
                .unwrap(),
            CodeTry::Exhausted(_)
        ));
        assert_eq!(
            store
                .claim_code_try("+8613800000002", 10_000, 5)
                .await
                .unwrap(),
            CodeTry::Expired,
            "{name}"
        );
        // A new code resets the attempts.
        store
            .put_code("+8613800000002", "h2", 20_000, 2_000)
            .await
            .unwrap();
        let c = store.code_for("+8613800000002").await.unwrap().unwrap();
        assert_eq!(
            (c.code_hash.as_str(), c.attempts, c.sent_at),
            ("h2", 0, 2_000),
            "{name}"
        );
        // Only the code that was checked is consumed, and only once.
        assert!(!store.consume_code("+8613800000002", "h1").await.unwrap());
        assert!(store.consume_code("+8613800000002", "h2").await.unwrap());
        assert!(!store.consume_code("+8613800000002", "h2").await.unwrap());
        assert!(store.code_for("+8613800000002").await.unwrap().is_none());
        assert_eq!(
            store
                .claim_code_try("+8613800000002", 1_500, 5)
                .await
                .unwrap(),
            CodeTry::Missing,
            "{name}"
        );

        store
            .create_mo_token("RBABCDEF", "dev-1", 1_000, 5_000)
            .await
            .unwrap();
        assert!(
            !store
                .bind_mo_token("RBABCDEF", "+8613800000003", 6_000)
                .await
                .unwrap(),
            "expired"
        );
        assert!(store
            .bind_mo_token("RBABCDEF", "+8613800000003", 2_000)
            .await
            .unwrap());
        assert!(
            !store
                .bind_mo_token("RBABCDEF", "+8613800000004", 2_000)
                .await
                .unwrap(),
            "bound once"
        );
        assert_eq!(
            store
                .mo_token("RBABCDEF")
                .await
                .unwrap()
                .unwrap()
                .phone
                .as_deref(),
            Some("+8613800000003")
        );
        store.purge_expired_proofs(10_000).await.unwrap();
        assert!(
            store.mo_token("RBABCDEF").await.unwrap().is_none(),
            "{name}"
        );

        let u = store
            .create_user("+8613800000005", &device("dev-c"), 1)
            .await
            .unwrap();
        let row = ConnectionRow {
            id: "c1".into(),
            user_id: u.id,
            session_id: "s".into(),
            node: "n1".into(),
            client_addr: "127.0.0.1".into(),
            connected_at: 5,
        };
        store.add_connection(&row).await.unwrap();
        assert_eq!(store.connections_of(u.id).await.unwrap(), vec![row]);
        assert_eq!(store.clear_node_connections("n1").await.unwrap(), 1);
        assert!(store.connections_of(u.id).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn contacts_and_messages() {
    for (name, store, _dir) in backends().await {
        let a = store
            .create_user("+8613800000011", &device("dev-a"), 1)
            .await
            .unwrap();
        let b = store
            .create_user("+8613800000012", &device("dev-b"), 1)
            .await
            .unwrap();
        let row = |phone: &str| ContactRow {
            owner_id: a.id,
            contact_phone: phone.into(),
            name: "B".into(),
            group_name: Some("friends".into()),
            flag: 1,
            fields: "{}".into(),
            created_at: 0,
            updated_at: 0,
        };
        store
            .upsert_contacts(a.id, &[row(&b.phone), row("+8613800000013")], 10)
            .await
            .unwrap();
        assert_eq!(store.contacts_of(a.id).await.unwrap().len(), 2, "{name}");
        assert_eq!(store.owners_having(&b.phone).await.unwrap(), vec![a.id]);
        assert!(store.has_in_book(a.id, &b.phone).await.unwrap());
        assert_eq!(
            store
                .delete_contacts(a.id, &["+8613800000013".into()])
                .await
                .unwrap(),
            1
        );

        let msg = |client_id: &str| NewMessage {
            sender_id: a.id,
            sender_phone: a.phone.clone(),
            recipient_id: b.id,
            recipient_phone: b.phone.clone(),
            client_msg_id: client_id.into(),
            kind: "text".into(),
            body: format!("hello {client_id}"),
            sent_at: 5,
        };
        let first = match store.append_message(&msg("m1"), 100).await.unwrap() {
            Appended::New(m) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(first.seq, 1);
        assert!(
            matches!(store.append_message(&msg("m1"), 101).await.unwrap(), Appended::Duplicate(m) if m.id == first.id)
        );
        for i in 2..=5 {
            store
                .append_message(&msg(&format!("m{i}")), 100 + i)
                .await
                .unwrap();
        }
        let after = store.messages_after(b.id, 2, 10).await.unwrap();
        assert_eq!(
            after.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![3, 4, 5],
            "{name}"
        );
        assert_eq!(after[0].body, "hello m3");
    }
}

/// A long run of `INSERT … RETURNING` writes (sign-ups) must leave SQLite's automatic checkpoint
/// working: without it the WAL file grows by every page ever written (13 KB per sign-up).
#[tokio::test]
async fn sqlite_wal_is_checkpointed_under_returning_writes() {
    let dir = tempfile_dir::Dir::new();
    let db = dir.path.join("wal.db");
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for i in 0..12_000 {
        store
            .create_user(&format!("+86139{i:08}"), &device(&format!("wal-{i}")), 1)
            .await
            .unwrap();
    }
    let wal = std::fs::metadata(dir.path.join("wal.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    // The store's auto-checkpoint threshold is 8,000 pages (32 MB); 12,000 sign-ups write about
    // 150 MB of WAL frames.
    assert!(
        wal < 48 * 1024 * 1024,
        "WAL grew to {wal} bytes: checkpoints are not running"
    );
    assert_eq!(
        store
            .user_by_phone("+8613900011999")
            .await
            .unwrap()
            .map(|u| u.phone),
        Some("+8613900011999".to_string())
    );
    store.close().await;
}

/// The message writer resolves a whole batch of recipients and block-list checks in two queries.
#[tokio::test]
async fn batch_recipient_and_block_lookups() {
    for (name, store, _dir) in backends().await {
        let a = store
            .create_user("+8613900000001", &device("batch-a"), 1)
            .await
            .unwrap();
        let b = store
            .create_user("+8613900000002", &device("batch-b"), 1)
            .await
            .unwrap();
        let ids = store
            .user_ids_by_phones(&["+8613900000001", "+8613900000002", "+8613900000009"])
            .await
            .unwrap();
        assert_eq!(ids.len(), 2, "{name}");
        assert_eq!(ids.get("+8613900000001"), Some(&a.id), "{name}");
        assert_eq!(ids.get("+8613900000002"), Some(&b.id), "{name}");

        // b blocks a; a blocks some other number. Only asked-about pairs come back.
        store.block_number(b.id, "+8613900000001", 1).await.unwrap();
        store.block_number(a.id, "+8613900000007", 1).await.unwrap();
        let blocked = store
            .blocked_pairs(&[
                (b.id, "+8613900000001"),
                (a.id, "+8613900000002"),
                (a.id, "+8613900000001"),
                // With the pair above, (a, …07) matches "user IN … AND phone IN …" but was
                // not asked about.
                (b.id, "+8613900000007"),
            ])
            .await
            .unwrap();
        assert_eq!(
            blocked,
            [(b.id, "+8613900000001".to_string())].into_iter().collect(),
            "{name}"
        );
    }
}

/// Tries at codes and rescue passwords are claimed in one statement each, so concurrent
/// guesses (also from several server nodes) get exactly the allowed number of checks.
#[tokio::test]
async fn tries_are_claimed_atomically_under_concurrency() {
    for (name, store, _dir) in backends().await {
        let u = store
            .create_user("+8613800000077", &device("dev-race"), 1)
            .await
            .unwrap();
        store
            .put_code("+8613800000077", "h", 100_000, 1)
            .await
            .unwrap();
        let codes = (0..40).map(|_| store.claim_code_try("+8613800000077", 1_000, 5));
        let claimed = join_all(codes)
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(CodeTry::Claimed(_))))
            .count();
        assert_eq!(claimed, 5, "{name}");
        let rescues = (0..40).map(|_| store.claim_rescue_try(u.id, 1_000, 5, 60_000));
        let claimed = join_all(rescues)
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(RescueTry::Claimed { .. })))
            .count();
        assert_eq!(claimed, 5, "{name}");
        let consumed = join_all((0..20).map(|_| store.consume_code("+8613800000077", "h")))
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(true)))
            .count();
        assert_eq!(consumed, 1, "{name}");
    }
}

#[tokio::test]
async fn sms_delivery_reports_keep_final_states() {
    use ringbook_store::sms::{SmsDeliveryRow, SmsState};
    for (name, store, _dir) in backends().await {
        let row = |id: &str, at: i64| SmsDeliveryRow {
            id: id.into(),
            kind: "verification_code".into(),
            recipient: "+8613800000009".into(),
            subject: None,
            parts: 1,
            state: SmsState::Sent,
            detail: None,
            created_at: at,
            updated_at: at,
        };
        store.record_sms(&row("a", 1_000)).await.unwrap();
        store.record_sms(&row("b", 2_000)).await.unwrap();
        let latest = store
            .latest_sms_to("+8613800000009", "verification_code")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.id, "b", "{name}");

        // accepted → delivered; a late "accepted" does not undo "delivered".
        let r = store
            .report_sms_delivery("a", SmsState::Accepted, None, 1_100)
            .await
            .unwrap()
            .unwrap();
        assert!(r.changed && r.row.state == SmsState::Accepted, "{name}");
        let r = store
            .report_sms_delivery("a", SmsState::Delivered, Some("stat:DELIVRD"), 1_200)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.row.state, r.row.detail.as_deref()),
            (SmsState::Delivered, Some("stat:DELIVRD"))
        );
        let r = store
            .report_sms_delivery("a", SmsState::Accepted, None, 1_300)
            .await
            .unwrap()
            .unwrap();
        assert!(!r.changed && r.row.state == SmsState::Delivered, "{name}");
        // One failed part fails the whole, for good.
        let r = store
            .report_sms_delivery("a", SmsState::Failed, Some("stat:UNDELIV"), 1_400)
            .await
            .unwrap()
            .unwrap();
        assert!(r.changed && r.row.state == SmsState::Failed, "{name}");
        let r = store
            .report_sms_delivery("a", SmsState::Delivered, None, 1_500)
            .await
            .unwrap()
            .unwrap();
        assert!(!r.changed && r.row.state == SmsState::Failed, "{name}");
        assert!(store
            .report_sms_delivery("nope", SmsState::Delivered, None, 1_500)
            .await
            .unwrap()
            .is_none());
        assert_eq!(store.purge_sms_deliveries(1_500).await.unwrap(), 1);
        assert!(store.sms_delivery("a").await.unwrap().is_none(), "{name}");
        assert!(store.sms_delivery("b").await.unwrap().is_some(), "{name}");
    }
}
