//! Runs the real `ringbook` binary: a server process on a free loopback port and client commands
//! against it, each with its own home folder.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ringbook");

pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServerProcess {
    /// Starts `ringbook serve` with extra environment, and waits (bounded) for `/healthz`.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        Self::start_in(dir, data_dir, free_port(), env)
    }

    pub fn start_in(
        dir: tempfile::TempDir,
        data_dir: PathBuf,
        port: u16,
        env: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data_dir)
        .env("RINGBOOK_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
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
                use std::io::{Read, Write};
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

/// Runs `ringbook --server URL --home HOME ARGS…` with no terminal attached.
pub fn ringbook(server: &str, home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--server")
        .arg(server)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Logs `phone` in from `home` through the SMS-code flow, as a person would with the CLI.
pub fn login(server: &ServerProcess, home: &Path, phone: &str, e164: &str) {
    let o = ringbook(&server.url, home, &["login", "--phone", phone]);
    assert!(o.status.success(), "{}", stderr(&o));
    let code = server.last_code(e164);
    let o = ringbook(
        &server.url,
        home,
        &["login", "--phone", phone, "--code", &code],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}
