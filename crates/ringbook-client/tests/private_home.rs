//! The client's home holds the session token in `client.db`: nobody but its owner may read it.

#[cfg(unix)]
#[tokio::test]
async fn the_home_and_its_database_are_private_also_when_left_open_before() {
    use std::os::unix::fs::PermissionsExt;
    let home = std::env::temp_dir().join(format!("rb-home-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(home.join("client.db"), b"").unwrap();
    std::fs::set_permissions(
        home.join("client.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let store = ringbook_client::ClientStore::open(&home).await.unwrap();
    store
        .record_login("+8613800000000", "a-secret-token", "http://127.0.0.1:1")
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home), 0o700);
    for name in ["client.db", "client.db-wal", "client.db-shm"] {
        let path = home.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    let _ = std::fs::remove_dir_all(&home);
}
