//! The SMS path against a real Kannel (opt-in): bearerbox + smsbox + `fakesmsc` as the SMS centre,
//! started by `scripts/test-kannel.sh` from the configuration in docs/sms-gateways.md as written.
//! Without `RINGBOOK_TEST_KANNEL` every test prints a notice and passes.
//!
//! What the phones receive is read from `fakesmsc`'s log (each SMS as Kannel handed it to the SMS
//! centre: `text` 7-bit, `ucs-2` UTF-16BE, `udh … data …` one part of a concatenated SMS), and
//! texts from phones are typed into `fakesmsc` (as UCS-2, as a Chinese phone sends them).
//!
//! The script's get-url points at one Ringbook port, so the tests take turns on it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{logs, TestServer};
use ringbook_proto::api::{DeliveryState, LoginRequest, MoState, Proof};
use ringbook_proto::services::{OrderRequest, OrderState};
use ringbook_server::config::{Config, ConfigOverrides, SmsConfig};
use ringbook_store::services::PlatformServiceRow;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SERVICE_NUMBER: &str = "10690000";

struct Kannel {
    dir: PathBuf,
    /// Where `fakesmsc`'s log stood when the test began: earlier runs' SMS are not this test's.
    start: usize,
    /// The doc's `[sms]` section, with the script's ports and secrets.
    sms: SmsConfig,
}

fn kannel() -> Option<Kannel> {
    let Ok(dir) = std::env::var("RINGBOOK_TEST_KANNEL") else {
        eprintln!(
            "notice: Kannel tests skipped; set RINGBOOK_TEST_KANNEL with \
             eval \"$(scripts/test-kannel.sh)\" (needs apt-get install kannel kannel-extras)"
        );
        return None;
    };
    let dir = PathBuf::from(dir);
    let cfg = Config::load_with_env(
        Some(&dir.join("ringbook.toml")),
        &ConfigOverrides::default(),
        Vec::new(),
    )
    .unwrap();
    logs::capture();
    let start = std::fs::metadata(dir.join("fakesmsc.log")).unwrap().len() as usize;
    Some(Kannel {
        dir,
        start,
        sms: cfg.sms,
    })
}

impl Kannel {
    /// Ringbook on the port the doc's get-url and dlr_url name, with the doc's `[sms]`.
    async fn ringbook(&self) -> TestServer {
        let dlr = reqwest::Url::parse(self.sms.dlr_url.as_ref().unwrap().expose()).unwrap();
        let listen = format!("127.0.0.1:{}", dlr.port().unwrap())
            .parse()
            .unwrap();
        let sms = self.sms.clone();
        TestServer::start_with(move |c| {
            c.listen = listen;
            c.sms = sms;
        })
        .await
    }

    /// Logs `phone` in with the code Kannel delivered to it.
    async fn login(&self, srv: &TestServer, phone: &str) -> ringbook_client::Client {
        let c = srv.client();
        let before = received(&self.log(), phone).len();
        c.request_code(phone).await.unwrap();
        let code = code_in(&self.received(phone, before + 1).await[before].text());
        let resp = c.login(&login_with_code(phone, &code)).await.unwrap();
        c.with_token(resp.token)
    }

    fn log(&self) -> String {
        let log = std::fs::read(self.dir.join("fakesmsc.log")).unwrap();
        String::from_utf8_lossy(&log[self.start.min(log.len())..]).into_owned()
    }

    /// A text from a phone, in UCS-2; returns once `fakesmsc` has passed it to Kannel (it reads
    /// one line at a time, so texts go one after the other).
    fn text_from_phone(&self, from: &str, text: &str) {
        let sent = |log: &str| log.matches("fakesmsc: sent message").count();
        let before = sent(&self.log());
        let data: String = text
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .map(|b| format!("%{b:02X}"))
            .collect();
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("fakesmsc.in"))
            .unwrap();
        writeln!(fifo, "{from} {SERVICE_NUMBER} ucs2 {data}").unwrap();
        drop(fifo);
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent(&self.log()) == before {
            assert!(Instant::now() < deadline, "fakesmsc did not take the text");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The SMS `to` has received (complete ones), oldest first; waits until there are `n`.
    async fn received(&self, to: &str, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = received(&self.log(), to);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{to} received {} SMS, expected {n}:\n{}",
                got.len(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One SMS as the phone shows it.
#[derive(Debug)]
struct Received {
    /// `text` (7-bit), `ucs-2`, or `concatenated`.
    how: &'static str,
    parts: usize,
    /// The content bytes: UTF-8 for 7-bit texts (Kannel keeps them so toward `fakesmsc`),
    /// UTF-16BE for UCS-2.
    bytes: Vec<u8>,
}

impl Received {
    fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).unwrap()
    }
    fn ucs2(&self) -> String {
        let units: Vec<u16> = self
            .bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    }
}

/// `fakesmsc`'s URL encoding: `%XX` and `+` for a space.
fn url_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if b.len() >= i + 3 => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// One part of a concatenated SMS: its sequence number and content.
type Part = (u8, Vec<u8>);

/// The complete SMS to `to` in `fakesmsc`'s log ("Got message N: <FROM TO KIND DATA>").
fn received(log: &str, to: &str) -> Vec<Received> {
    let mut out = Vec::new();
    // Concatenated parts by reference number: (total, parts by sequence number).
    let mut pending: std::collections::BTreeMap<u8, (u8, Vec<Part>)> = Default::default();
    for line in log.lines() {
        let Some(at) = line.find("Got message ") else {
            continue;
        };
        let rest = &line[at..];
        let Some(start) = rest.find(": <") else {
            continue;
        };
        let body = rest[start + 3..]
            .strip_suffix('>')
            .unwrap_or(&rest[start + 3..]);
        let mut fields = body.splitn(4, ' ');
        let (_from, dest, kind, data) = (
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
            fields.next().unwrap_or(""),
        );
        if dest != to {
            continue;
        }
        match kind {
            "text" => out.push(Received {
                how: "text",
                parts: 1,
                bytes: data.as_bytes().to_vec(),
            }),
            "ucs-2" => out.push(Received {
                how: "ucs-2",
                parts: 1,
                bytes: url_decode(data),
            }),
            "udh" => {
                let (udh, data) = data.split_once(" data ").unwrap();
                let udh = url_decode(udh);
                // 05 00 03 REF TOTAL SEQ: the concatenation header.
                assert_eq!(&udh[..3], &[5, 0, 3], "{line}");
                let (reference, total, seq) = (udh[3], udh[4], udh[5]);
                let entry = pending.entry(reference).or_insert((total, Vec::new()));
                entry.1.push((seq, url_decode(data)));
                if entry.1.len() == usize::from(total) {
                    let (_, mut parts) = pending.remove(&reference).unwrap();
                    parts.sort_by_key(|(seq, _)| *seq);
                    out.push(Received {
                        how: "concatenated",
                        parts: parts.len(),
                        bytes: parts.into_iter().flat_map(|(_, d)| d).collect(),
                    });
                }
            }
            other => panic!("unexpected SMS kind {other}: {line}"),
        }
    }
    out
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string()
}

async fn delivery_state(c: &ringbook_client::Client, id: &str, want: DeliveryState) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let d = c.code_delivery(id).await.unwrap();
        if d.state == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "delivery stayed {d:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn login_with_code(phone: &str, code: &str) -> LoginRequest {
    LoginRequest {
        phone: Some(phone.into()),
        device: common::new_device(),
        proof: Proof::SmsCode { code: code.into() },
        rescue_password: None,
        move_account: false,
    }
}

#[tokio::test]
async fn a_code_sms_is_one_seven_bit_part_with_its_text_intact_and_reported_delivered() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(k) = kannel() else { return };
    let srv = k.ringbook().await;
    let c = srv.client();
    let phone = "+8613800000201";
    let sent = c.request_code(phone).await.unwrap();

    let sms = k.received(phone, 1).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!((sms[0].how, sms[0].parts), ("text", 1), "{sms:?}");
    let text = sms[0].text();
    let code = code_in(&text);
    assert_eq!(
        text,
        format!("Your Ringbook code is {code}. It expires in 5 minutes. Do not share it.")
    );
    // The fake SMS centre reports it delivered; Kannel calls the dlr-url.
    delivery_state(
        &c,
        sent.delivery_id.as_deref().unwrap(),
        DeliveryState::Delivered,
    )
    .await;
    c.login(&login_with_code(phone, &code)).await.unwrap();
    // The report is counted just after it is stored: look until it shows.
    let delivered =
        r#"ringbook_sms_delivery_reports_total{kind="verification_code",state="delivered"} 1"#;
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let metrics = reqwest::get(format!("{}/metrics", srv.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(delivered) || Instant::now() > deadline {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(metrics.contains(delivered), "{metrics}");
    assert!(
        metrics.contains(r#"ringbook_sms_parts_total{coding="gsm7"} 1"#),
        "{metrics}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_failed_delivery_report_tells_the_user_and_frees_a_new_code() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(k) = kannel() else { return };
    let srv = k.ringbook().await;
    let c = srv.client();
    let phone = "+8613800000202";
    let id = c.request_code(phone).await.unwrap().delivery_id.unwrap();
    // The network says the code cannot be delivered. The fake SMS centre only ever reports
    // success, so the report is made as Kannel makes it: the dlr-url Ringbook gave Kannel, with
    // Kannel's type 2 (undeliverable) and the SMSC's report text. Kannel's own reports for this
    // SMS may come before or after it: a failure is final either way.
    let mut url = reqwest::Url::parse(k.sms.dlr_url.as_ref().unwrap().expose()).unwrap();
    url.query_pairs_mut()
        .append_pair("id", &id)
        .append_pair("type", "2")
        .append_pair(
            "reply",
            "id:1 sub:001 dlvrd:000 stat:UNDELIV err:001 text:Your Ringbook",
        )
        .append_pair("key", k.sms.mo_key.as_ref().unwrap().expose());
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200);
    let code = code_in(&k.received(phone, 1).await[0].text());
    let d = c.code_delivery(&id).await.unwrap();
    assert_eq!(d.state, DeliveryState::Failed);
    assert!(d.message.contains("could not be delivered"), "{d:?}");
    // Logging in hears why; a new code can be asked for at once (no resend cool-down).
    let e = c.login(&login_with_code(phone, &code)).await.unwrap_err();
    assert_eq!(e.code(), Some("code_not_delivered"), "{e}");
    assert!(e.to_string().contains("could not be delivered"), "{e}");
    let again = c.request_code(phone).await.unwrap();
    let code = code_in(&k.received(phone, 2).await[1].text());
    delivery_state(
        &c,
        again.delivery_id.as_deref().unwrap(),
        DeliveryState::Delivered,
    )
    .await;
    c.login(&login_with_code(phone, &code)).await.unwrap();
    srv.stop().await;
}

#[tokio::test]
async fn a_login_token_texted_in_ucs2_with_chinese_around_it_logs_in() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(k) = kannel() else { return };
    let srv = k.ringbook().await;
    let c = srv.client();
    let device = common::new_device();
    let started = c.mo_start(&device).await.unwrap();
    assert_eq!(started.service_number, SERVICE_NUMBER);
    let phone = "+8613800000203";
    k.text_from_phone(phone, &format!("登录 {} 谢谢", started.token));

    let reply = k.received(phone, 1).await;
    assert!(
        reply[0].text().contains("your number is confirmed"),
        "{reply:?}"
    );
    assert_eq!(
        c.mo_state(&started.token, &device.device_id).await.unwrap(),
        MoState::Received {
            phone: ringbook_proto::PhoneNumber::from_e164_unchecked(phone.into())
        }
    );
    let resp = c
        .login(&LoginRequest {
            phone: None,
            device,
            proof: Proof::MoToken {
                token: started.token.clone(),
            },
            rescue_password: None,
            move_account: false,
        })
        .await
        .unwrap();
    assert_eq!(resp.phone.as_str(), phone);
    srv.stop().await;
}

#[tokio::test]
async fn a_chinese_reply_text_arrives_intact() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(k) = kannel() else { return };
    let srv = k.ringbook().await;
    // A text nobody waits for gets the doc's help reply: Chinese and English, two UCS-2 parts.
    let phone = "+8613800000204";
    k.text_from_phone(phone, "你好");
    let reply = k.received(phone, 1).await;
    assert_eq!(reply[0].how, "concatenated", "{reply:?}");
    assert_eq!(reply[0].ucs2(), k.sms.mo_help_reply);
    srv.stop().await;
}

#[tokio::test]
async fn a_chinese_confirmation_is_intact_and_a_chinese_y_reply_orders() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(k) = kannel() else { return };
    let srv = k.ringbook().await;
    srv.state
        .core
        .store
        .upsert_platform_service(&PlatformServiceRow {
            id: "cn-news".into(),
            name: "每日新闻".into(),
            description: "早晚新闻彩信".into(),
            provider: "晨光传媒".into(),
            kind: "sp".into(),
            price_cents: 300,
            currency: "CNY".into(),
            period: "month".into(),
            active: true,
        })
        .await
        .unwrap();
    let (a, b) = ("+8613800000205", "+8613800000206");
    // Logging in sends each a code SMS first.
    let ca = k.login(&srv, a).await;
    let cb = k.login(&srv, b).await;
    common::upload_book(&ca, &[b]).await.unwrap();
    common::upload_book(&cb, &[a]).await.unwrap();
    srv.client()
        .admin_grant_subscription(a, "cn-news")
        .await
        .unwrap();
    ca.services_set_shared("cn-news", true).await.unwrap();
    let o = cb
        .services_order(&OrderRequest {
            friend: a.into(),
            service_id: "cn-news".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
    assert_eq!(o.state, OrderState::AwaitingConfirmation);

    let sms = k.received(b, 2).await;
    let confirmation = &sms[1];
    assert_eq!(confirmation.how, "concatenated", "{sms:?}");
    let text = confirmation.ucs2();
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 4)
        .unwrap()
        .to_string();
    assert_eq!(
        text,
        format!(
            "Ringbook: reply Y {code} to confirm ordering 每日新闻 from 晨光传媒 at 3.00 CNY/month \
             (shared by {a}). Valid 10 min; any other reply cancels."
        )
    );

    k.text_from_phone(b, &format!("Y {code} 确认"));
    let sms = k.received(b, 3).await;
    let reply = sms[2].ucs2();
    assert!(
        reply.starts_with("Ringbook: confirmed. 每日新闻 is now active"),
        "{reply}"
    );
    assert_eq!(
        cb.services_order_status(o.id).await.unwrap().state,
        OrderState::Ordered
    );
    srv.stop().await;
}

#[tokio::test]
async fn kannel_down_is_a_clear_error_without_secrets() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(k) = kannel() else { return };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut sms = k.sms.clone();
    let sendsms = sms.url.as_ref().unwrap().expose().to_owned();
    sms.url = Some(format!("http://127.0.0.1:{port}/cgi-bin/sendsms").into());
    sms.retries = 0;
    let srv = TestServer::start_with(move |c| c.sms = sms).await;
    let phone = "+8613800000207";
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/auth/code", srv.url))
        .json(&serde_json::json!({ "phone": phone }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("sms_failed") && body.contains("could not be reached"),
        "{body}"
    );
    let logs = logs::text();
    let password = k.sms.password.as_ref().unwrap().expose();
    for (name, text) in [("answer", &body), ("logs", &logs)] {
        for secret in [
            password,
            k.sms.mo_key.as_ref().unwrap().expose(),
            "sendsms?",
            "Ringbook+code",
        ] {
            assert!(!text.contains(secret), "{name} show {secret}: {text}");
        }
    }
    assert!(!sendsms.is_empty());
    srv.stop().await;
}
