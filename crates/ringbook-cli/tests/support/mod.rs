//! Runs the real `ringbook` binary: a server process on a free loopback port and client commands
//! against it, each with its own home folder.
#![allow(dead_code, clippy::unwrap_used)]

pub mod pty;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ringbook");

pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub port: u16,
    /// The temporary folder holding `data_dir`, when the server owns it (removed on drop).
    _dir: Option<tempfile::TempDir>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServerProcess {
    /// Starts `ringbook serve` with extra environment on a fresh data folder, and waits
    /// (bounded) for `/healthz`.
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::start_with(&[], env)
    }

    /// Like [`ServerProcess::start`], with extra `serve` arguments.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        Self::spawn(Some(dir), data_dir, args, env, None, None)
    }

    /// Starts on `data_dir`, which the caller owns: it is kept when this server stops, so a
    /// server can be started again on the same data (for example after a SIGKILL).
    pub fn start_in(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(None, data_dir.to_path_buf(), &[], env, None, None)
    }

    /// Like [`ServerProcess::start_in`], with the server's log (at `info`) written to `log`.
    pub fn start_in_logging(data_dir: &Path, env: &[(&str, &str)], log: &Path) -> Self {
        Self::spawn(None, data_dir.to_path_buf(), &[], env, None, Some(log))
    }

    /// Like [`ServerProcess::start_in`] on a given port: a restart on the same data folder and
    /// port, so running clients can reconnect to the same URL.
    pub fn start_in_on(data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Self {
        Self::spawn(None, data_dir.to_path_buf(), &[], env, Some(port), None)
    }

    fn spawn(
        dir: Option<tempfile::TempDir>,
        data_dir: PathBuf,
        args: &[&str],
        env: &[(&str, &str)],
        port: Option<u16>,
        log: Option<&Path>,
    ) -> Self {
        let port = port.unwrap_or_else(free_port);
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .arg("--data-dir")
            .arg(&data_dir)
            .env("RINGBOOK_LOG", if log.is_some() { "info" } else { "warn" })
            .env_remove("RINGBOOK_CONFIG")
            .env_remove("RINGBOOK_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(match log {
                Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
                None => Stdio::inherit(),
            });
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let server = ServerProcess {
            child,
            url,
            data_dir,
            port,
            _dir: dir,
        };
        server.wait_healthy();
        server
    }

    pub fn wait_healthy(&self) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Read;
                let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not become healthy");
    }

    /// Every SMS in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.data_dir.join("sms-outbox.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The six-digit code in the last SMS sent to `e164`.
    pub fn last_code(&self, e164: &str) -> String {
        let sms = self
            .outbox()
            .into_iter()
            .rev()
            .find(|m| m["to"] == e164)
            .expect("a code SMS");
        sms["text"]
            .as_str()
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap()
            .to_string()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ringbook --server URL --home HOME ARGS…` with no terminal attached (and no
/// `RINGBOOK_REGION` from the environment).
pub fn ringbook(server: &str, home: &Path, args: &[&str]) -> Output {
    run(server, home, args, None)
}

/// Like [`ringbook`], with `input` piped to the command's stdin.
pub fn ringbook_with_stdin(server: &str, home: &Path, args: &[&str], input: &str) -> Output {
    run(server, home, args, Some(input))
}

fn run(server: &str, home: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .arg("--server")
        .arg(server)
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("RINGBOOK_REGION")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Runs [`ringbook`], asserts that it succeeded and returns its stdout.
pub fn ok(server: &str, home: &Path, args: &[&str]) -> String {
    let o = ringbook(server, home, args);
    assert!(
        o.status.success(),
        "ringbook {args:?} failed: {}{}",
        stderr(&o),
        stdout(&o)
    );
    stdout(&o)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Logs `phone` in from `home` through the SMS-code flow, as a person would with the CLI.
pub fn login(server: &ServerProcess, home: &Path, phone: &str, e164: &str) {
    ok(&server.url, home, &["login", "--phone", phone]);
    let code = server.last_code(e164);
    ok(
        &server.url,
        home,
        &["login", "--phone", phone, "--code", &code],
    );
}

/// Logs `phone` (E.164) in through the client SDK with the SMS code, as a new device.
pub async fn sdk_login(server: &ServerProcess, phone: &str) -> ringbook_client::Client {
    use ringbook_proto::api::{LoginRequest, Proof};
    let c = ringbook_client::Client::new(&server.url).unwrap();
    c.request_code(phone).await.unwrap();
    let device = ringbook_proto::DeviceIdentity {
        device_id: format!("test-{}", phone.trim_start_matches('+')),
        imei: None,
        iccid: None,
        imsi: None,
        label: None,
    };
    let resp = c
        .login(&LoginRequest {
            phone: Some(phone.into()),
            device,
            proof: Proof::SmsCode {
                code: server.last_code(phone),
            },
            rescue_password: None,
            move_account: false,
        })
        .await
        .unwrap();
    c.with_token(resp.token)
}
