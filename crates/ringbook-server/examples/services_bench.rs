//! Benchmark of mutual matching (SS-2) on SQLite through the Store:
//! 1. a user base of `--users` users with `--contacts` contacts each, imported in bulk;
//! 2. the batch rematch of the whole base (time, match rows, peak memory);
//! 3. the incremental update for one `--upload`-contact upload through `Store::upsert_contacts`
//!    (the path every book change takes), then for deleting those contacts again.
//!
//! Books: user i has users i±1 … i±30 (mutual), users i+31 … i+70 (one-sided) and the rest
//! non-user numbers. Run: `cargo run -p ringbook-server --example services_bench -- --users 100000`
//! (`--contacts 200 --upload 1000 --dir PATH` are the other knobs).

use ringbook_server::services::matching::rematch_all;
use ringbook_store::contacts::ContactRow;
use ringbook_store::identity::DeviceRow;
use ringbook_store::Store;
use std::time::Instant;

#[path = "support/args.rs"]
mod args;
use args::arg;

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

fn user_phone(i: i64) -> String {
    format!("+86139{i:08}")
}

fn row(owner_id: i64, phone: String, now: i64) -> ContactRow {
    ContactRow {
        owner_id,
        contact_phone: phone,
        name: String::new(),
        group_name: None,
        flag: 1,
        fields: "{}".into(),
        created_at: now,
        updated_at: now,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users = arg("--users", 100_000);
    let contacts = arg("--contacts", 200).max(70);
    let upload = arg("--upload", 1000);
    let dir = match std::env::args().skip_while(|a| a != "--dir").nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("ringbook-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("bench.db");
    let _ = std::fs::remove_file(&db);
    let store = Store::open(&format!("sqlite://{}", db.display())).await?;
    let now = 1_700_000_000_000;
    println!(
        "services bench: {users} users x {contacts} contacts, SQLite at {}",
        db.display()
    );

    // Users (ids 1..=users in order).
    let t = Instant::now();
    let mut ids = Vec::with_capacity(users as usize);
    for i in 0..users {
        let dev = DeviceRow {
            device_id: format!("bench-{i}"),
            imei: None,
            iccid: None,
            imsi: None,
        };
        ids.push(store.create_user(&user_phone(i), &dev, now).await?.id);
    }
    println!("create users: {:.1} s", t.elapsed().as_secs_f64());

    // Books, in bulk (no incremental matching): the batch rematch builds the relation.
    let t = Instant::now();
    let mut batch = Vec::new();
    for i in 0..users {
        let owner = ids[i as usize];
        for k in 1..=30 {
            batch.push(row(owner, user_phone((i + k) % users), now));
            batch.push(row(owner, user_phone((i - k).rem_euclid(users)), now));
        }
        for k in 31..=70 {
            batch.push(row(owner, user_phone((i + k) % users), now));
        }
        for k in 0..(contacts - 100) {
            batch.push(row(
                owner,
                format!("+86137{:08}", (i * 131 + k * 7919) % 100_000_000),
                now,
            ));
        }
        if batch.len() >= 50_000 {
            store.import_contacts_unmatched(&batch).await?;
            batch.clear();
        }
    }
    store.import_contacts_unmatched(&batch).await?;
    drop(batch);
    println!(
        "import {} contacts: {:.1} s (VmHWM {})",
        users * contacts,
        t.elapsed().as_secs_f64(),
        vm_hwm()
    );

    // Batch rematch of the whole base.
    let t = Instant::now();
    let mut last = Instant::now();
    let totals = rematch_all(&store, 1000, |p| {
        if last.elapsed().as_secs() >= 10 {
            last = Instant::now();
            println!("  … {}/{users} users, {} rows added", p.users, p.added);
        }
    })
    .await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "batch rematch: {} users in {secs:.1} s ({:.0} users/s), {} match rows added ({} pairs), {} removed; VmHWM {}",
        totals.users,
        totals.users as f64 / secs,
        totals.added,
        totals.added / 2,
        totals.removed,
        vm_hwm()
    );
    assert_eq!(store.mutual_pair_count().await?, totals.added as i64);

    // Incremental: a new user uploads `upload` contacts; 100 of them already have the new
    // user's number, so 100 matches appear in the same transaction.
    let me = store
        .create_user(
            &user_phone(users),
            &DeviceRow {
                device_id: "bench-me".into(),
                imei: None,
                iccid: None,
                imsi: None,
            },
            now,
        )
        .await?
        .id;
    let fans = 100.min(users);
    for i in 0..fans {
        store
            .upsert_contacts(
                ids[i as usize],
                &[row(ids[i as usize], user_phone(users), now)],
                now,
            )
            .await?;
    }
    let mut book: Vec<ContactRow> = (0..fans).map(|i| row(me, user_phone(i), now)).collect();
    for k in 0..(upload - fans) {
        book.push(row(me, format!("+86136{k:08}"), now));
    }
    let t = Instant::now();
    store.upsert_contacts(me, &book, now).await?;
    let up = t.elapsed();
    let friends = store.friends_of(me).await?.len();
    let phones: Vec<String> = book.iter().map(|r| r.contact_phone.clone()).collect();
    let t = Instant::now();
    store.delete_contacts(me, &phones).await?;
    let del = t.elapsed();
    println!(
        "incremental: upload of {upload} contacts {:.1} ms ({friends} matches appeared); deleting them {:.1} ms ({} left); VmHWM {}",
        up.as_secs_f64() * 1000.0,
        del.as_secs_f64() * 1000.0,
        store.friends_of(me).await?.len(),
        vm_hwm()
    );
    store.close().await;
    if std::env::args().all(|a| a != "--keep") {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
