//! Test harness: starts the real server on an ephemeral port with a fresh database and talks to
//! it through the client SDK, as a client would.
//!
//! Backend: SQLite in a temporary folder by default; when `RINGBOOK_TEST_POSTGRES_URL` is set
//! (e.g. `postgres://postgres@127.0.0.1/postgres`), every server gets a fresh PostgreSQL
//! database created through that URL instead — CI runs the suite both ways.
#![allow(dead_code, clippy::unwrap_used)]

pub mod logs;

use ringbook_client::Client;
use ringbook_proto::api::{LoginRequest, LoginResponse, Proof};
use ringbook_proto::DeviceIdentity;
use ringbook_server::config::Config;
use ringbook_server::state::{App, AppState};
use std::path::PathBuf;
use tokio::sync::oneshot;

pub struct TestServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A config for tests: loopback, temp data folder, generous per-address limits (every test
/// client comes from 127.0.0.1).
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    cfg.identity.codes_per_addr_per_hour = 100_000;
    cfg.identity.logins_per_addr_per_minute = 100_000;
    cfg.connections.max_per_addr = 100_000;
    cfg
}

async fn fresh_database_url(dir: &std::path::Path) -> Option<String> {
    let admin = std::env::var("RINGBOOK_TEST_POSTGRES_URL").ok()?;
    use sqlx::Connection;
    let name = format!("rbtest_{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to RINGBOOK_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = dir;
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    Some(format!("{base}/{name}"))
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = test_config(dir.path());
        cfg.database_url = fresh_database_url(dir.path()).await.map(Into::into);
        tweak(&mut cfg);
        Self::start_config(cfg, dir).await
    }

    pub async fn start_config(cfg: Config, dir: tempfile::TempDir) -> Self {
        let listen = cfg.listen;
        let state = App::build(cfg).await.expect("server builds");
        let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(ringbook_server::run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            url: format!("http://{addr}"),
            addr,
            state,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url).unwrap()
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.state.config.data_dir.join("sms-outbox.jsonl")
    }

    /// Every SMS the server sent, oldest first.
    pub fn outbox(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.outbox_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The six digits of the last code SMS sent to `e164`.
    pub fn last_code(&self, e164: &str) -> String {
        let sms = self
            .outbox()
            .into_iter()
            .rev()
            .find(|m| m["to"] == e164 && m["kind"] == "verification_code")
            .unwrap_or_else(|| panic!("no code SMS to {e164}"));
        let text = sms["text"].as_str().unwrap();
        text.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap()
            .to_string()
    }

    /// Registers (or logs in) `phone` on a new random device through the SMS-code flow.
    pub async fn login(&self, phone: &str) -> (Client, LoginResponse, DeviceIdentity) {
        let device = new_device();
        let resp = self.login_device(phone, &device).await.unwrap();
        let client = self.client().with_token(resp.token.clone());
        (client, resp, device)
    }

    pub async fn login_device(
        &self,
        phone: &str,
        device: &DeviceIdentity,
    ) -> Result<LoginResponse, ringbook_client::ClientError> {
        self.login_with(phone, device, None, false).await
    }

    pub async fn login_with(
        &self,
        phone: &str,
        device: &DeviceIdentity,
        rescue_password: Option<&str>,
        move_account: bool,
    ) -> Result<LoginResponse, ringbook_client::ClientError> {
        let c = self.client();
        let sent = c.request_code(phone).await?;
        let code = self.last_code(sent.phone.as_str());
        c.login(&LoginRequest {
            phone: Some(phone.into()),
            device: device.clone(),
            proof: Proof::SmsCode { code },
            rescue_password: rescue_password.map(Into::into),
            move_account,
        })
        .await
    }
}

pub fn new_device() -> DeviceIdentity {
    DeviceIdentity {
        device_id: format!("test-{}", hex::encode(rand::random::<[u8; 8]>())),
        imei: None,
        iccid: None,
        imsi: None,
        label: Some("test".into()),
    }
}

/// A distinct valid Chinese mobile number for each call within a test.
pub fn phone(n: u32) -> String {
    format!("+86138{:08}", n)
}

/// Adds address-book entries (numbers, saved under the name "n<index>") through the phone-book
/// sync `POST /v1/contacts/sync`, as a client would (SS-1 reads these books).
pub async fn upload_book(
    client: &Client,
    numbers: &[&str],
) -> Result<ringbook_proto::contacts::ContactSyncResponse, ringbook_client::ClientError> {
    use ringbook_proto::contacts::{ContactSyncRequest, ContactUpsert};
    let upserts = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| ContactUpsert {
            phone: n.to_string(),
            name: format!("n{i}"),
            group: None,
            fields: None,
        })
        .collect();
    client
        .sync_contacts(&ContactSyncRequest {
            upserts,
            ..Default::default()
        })
        .await
}

/// Deletes numbers from the caller's address book through `POST /v1/contacts/sync`.
pub async fn delete_from_book(client: &Client, numbers: &[&str]) {
    use ringbook_proto::contacts::ContactSyncRequest;
    client
        .sync_contacts(&ContactSyncRequest {
            deletes: numbers.iter().map(|n| n.to_string()).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
}
