//! `POST /mm7` against the real server (MM-1, MM-2, MM-5, MM-6): MMSC bodies of several
//! real-world shapes apply avatar, signature, personal data and address book and answer
//! DeliverRsp 1000 echoing the TransactionID; bad pictures, bombs, oversize bodies and
//! malformed SOAP are refused with the right status and change nothing; unregistered and
//! unbound senders get the MM-6 prompt by SMS or by MM7 SubmitReq and change nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)] // tests (and the shared harness) may unwrap

mod common;
mod profiles_support;

use axum::body::Bytes;
use axum::http::HeaderMap;
use common::{phone, TestServer};
use profiles_support::*;
use ringbook_client::Client;
use ringbook_mm7::{
    build_deliver_request, build_response, parse_deliver_response, parse_response,
    DeliverReqBuilder, Mm7Response, Mm7Schema, Mm7Version, OutgoingAttachment, ResponseKind,
    StatusCode,
};
use ringbook_proto::profiles::ProfileField as F;
use std::sync::{Arc, Mutex};

async fn post(srv: &TestServer, ct: &str, body: Vec<u8>) -> (u16, Mm7Response) {
    let ans = srv.client().post_mm7(ct, body, None).await.unwrap();
    let parsed = parse_response(&ans.content_type, &ans.body).unwrap_or_else(|e| {
        panic!(
            "answer not MM7 ({e}): {}",
            String::from_utf8_lossy(&ans.body)
        )
    });
    (ans.http_status, parsed)
}

fn mms(
    from: &str,
    tid: &str,
    version: Mm7Version,
    parts: Vec<OutgoingAttachment>,
) -> (String, Vec<u8>) {
    build_deliver_request(&DeliverReqBuilder {
        from: from.into(),
        to: vec!["10658888".into()],
        subject: Some("profile".into()),
        transaction_id: tid.into(),
        attachments: parts,
        version,
        linked_id: Some("LNK-1".into()),
        ..DeliverReqBuilder::default()
    })
}

fn text(t: &str) -> OutgoingAttachment {
    OutgoingAttachment::new(
        "text/plain; charset=utf-8",
        Some("sig.txt"),
        t.as_bytes().to_vec(),
    )
}

fn picture(data: Vec<u8>) -> OutgoingAttachment {
    OutgoingAttachment::new("image/jpeg", Some("photo.jpg"), data)
}

fn assert_ok(http: u16, rsp: &Mm7Response, tid: &str) {
    assert_eq!(http, 200);
    assert_eq!(rsp.kind, ResponseKind::DeliverRsp);
    assert_eq!(rsp.status_code, 1000, "{:?}", rsp.status_text);
    assert_eq!(rsp.transaction_id.as_deref(), Some(tid));
}

#[tokio::test]
async fn mm1_real_world_fixtures_apply_and_answer_1000() {
    let srv = TestServer::start().await;
    // Senders of the fixtures.
    let nokia = "+8613800138000";
    let huawei = "+8613900139000";
    let (a, ..) = srv.login(nokia).await;
    let (h, ..) = srv.login(huawei).await;
    let (eri, ..) = srv.login("+8613700137000").await;
    let (qp, ..) = srv.login("+8613600136000").await;

    // A contact of the Nokia sender is online and hears about the change.
    let (friend, ..) = srv.login(&phone(1)).await;
    add_to_book(&srv.state, &phone(1), &[nokia]).await;
    let mut ws = connect(&friend).await;

    // REL-5-MM7-1-0, flat multipart/related, binary JPEG, start/type parameters, text + SMIL.
    let (ct, body) = fixture("rel5_nokia_flat_binary.mm7");
    let (http, rsp) = post(&srv, &ct, with_picture(&body, &jpeg(800, 600))).await;
    assert_ok(http, &rsp, "NOK-0001-abc");
    assert_eq!(
        rsp.version.unwrap().schema,
        Mm7Schema::Rel5Mm7_1_0,
        "answered in the request's namespace"
    );
    let p = a.my_profile().await.unwrap();
    assert_eq!(p.fields[&F::Signature], "天天向上");
    let av = p.avatar.expect("avatar stored");
    assert_eq!(
        (av.width, av.height),
        (600, 600),
        "square crop, never upscaled"
    );
    assert_eq!(
        next_profile_update(&mut ws).await,
        (nokia.to_string(), p.version)
    );

    // REL-6-MM7-1-4, nested multipart/mixed, base64, octet-stream picture sniffed, GB2312 text.
    let (ct, body) = fixture("rel6_huawei_nested_base64.mm7");
    let (http, rsp) = post(&srv, &ct, with_picture(&body, &jpeg(300, 400))).await;
    assert_ok(http, &rsp, "HW-20070501-0042");
    let p = h.my_profile().await.unwrap();
    assert_eq!(p.fields[&F::Signature], "你好世界");
    assert!(p.avatar.is_some());

    // REL-6-MM7-1-0, text only, GB2312: the signature changes, the avatar stays.
    let before = a.my_profile().await.unwrap();
    let (ct, body) = fixture("rel6_text_only_gb2312.mm7");
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_ok(http, &rsp, "60567875009767375926");
    let after = a.my_profile().await.unwrap();
    assert_eq!(after.fields[&F::Signature], "今天心情不错");
    assert_eq!(after.avatar, before.avatar);
    assert_eq!(after.version, before.version + 1);

    // REL-5-MM7-1-2, vCard with bare LF and no start parameter: personal data from the own card.
    let (ct, body) = fixture("rel5_vcard_lf.mm7");
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_ok(http, &rsp, "ERI-5566");
    let p = eri.my_profile().await.unwrap();
    assert!(p.fields[&F::Name].contains("Lei"), "{:?}", p.fields);

    // REL-5-MM7-1-3, quoted-printable text.
    let (ct, body) = fixture("rel5_quoted_printable.mm7");
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_ok(http, &rsp, "QP-1");
    assert!(qp
        .my_profile()
        .await
        .unwrap()
        .fields
        .contains_key(&F::Signature));

    // Delivery reports and read replies are acknowledged.
    for (name, kind) in [
        (
            "delivery_report_gb2312.mm7",
            ResponseKind::DeliveryReportRsp,
        ),
        ("read_reply.mm7", ResponseKind::ReadReplyRsp),
    ] {
        let (ct, body) = fixture(name);
        let (http, rsp) = post(&srv, &ct, body).await;
        assert_eq!(
            (http, rsp.kind, rsp.status_code),
            (200, kind, 1000),
            "{name}"
        );
    }
}

#[tokio::test]
async fn mm1_every_namespace_text_fields_and_address_book() {
    let srv = TestServer::start().await;
    let me = phone(1);
    let (a, ..) = srv.login(&me).await;
    for (i, schema) in Mm7Schema::all().enumerate() {
        let tid = format!("T-{i}");
        let (ct, body) = mms(
            &me,
            &tid,
            Mm7Version::new(schema),
            vec![text(&format!("sig {i}"))],
        );
        let (http, rsp) = post(&srv, &ct, body).await;
        assert_ok(http, &rsp, &tid);
        assert_eq!(rsp.version.unwrap().schema, schema);
        assert_eq!(
            a.my_profile().await.unwrap().fields[&F::Signature],
            format!("sig {i}")
        );
    }

    // Key: value lines (English and Chinese), free lines form the signature, and a vCard
    // with the sender's own card plus two friends.
    let vcard = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Han Meimei\r\nORG:Acme\r\nTITLE:Engineer\r\n\
         EMAIL:mm@example.cn\r\nTEL;TYPE=CELL:{me}\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Friend One\r\nTEL;TYPE=CELL:{}\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Friend Two\r\nTEL;TYPE=CELL:{}\r\nEND:VCARD\r\n",
        phone(21),
        phone(22)
    );
    let (ct, body) = mms(
        &me,
        "T-card",
        Mm7Version::default(),
        vec![
            text("昵称：梅梅\nRegion: Beijing\n好好学习\n天天向上"),
            OutgoingAttachment::new("text/x-vcard", Some("me.vcf"), vcard.into_bytes()),
        ],
    );
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_ok(http, &rsp, "T-card");
    let p = a.my_profile().await.unwrap();
    assert_eq!(p.fields[&F::Nickname], "梅梅");
    assert_eq!(p.fields[&F::Region], "Beijing");
    assert_eq!(p.fields[&F::Signature], "好好学习\n天天向上");
    assert_eq!(p.fields[&F::Name], "Han Meimei");
    assert_eq!(p.fields[&F::Company], "Acme");
    assert_eq!(p.fields[&F::Title], "Engineer");
    assert_eq!(p.fields[&F::Email], "mm@example.cn");
    let user = srv
        .state
        .core
        .store
        .user_by_phone(&me)
        .await
        .unwrap()
        .unwrap();
    let book: Vec<String> = srv
        .state
        .core
        .store
        .contacts_of(user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.contact_phone)
        .collect();
    assert_eq!(book, vec![phone(21), phone(22)]);
    assert!(srv
        .state
        .core
        .store
        .has_in_book(user.id, &phone(21))
        .await
        .unwrap());
    // The cards reach the account's devices: a sync from scratch returns them, whole and
    // marked as received by MMS (they used to be stored without a book version: never synced).
    let synced = a
        .sync_contacts(&ringbook_proto::contacts::ContactSyncRequest::default())
        .await
        .unwrap();
    let got: Vec<(&str, &str, &str)> = synced
        .changes
        .iter()
        .map(|e| {
            (
                e.phone.as_str(),
                e.fields["display_name"].as_str().unwrap_or_default(),
                e.fields["source"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (phone(21).as_str(), "Friend One", "mms"),
            (phone(22).as_str(), "Friend Two", "mms")
        ]
    );
}

#[tokio::test]
async fn mm5_bad_content_is_refused_and_changes_nothing() {
    let srv = TestServer::start_with(|c| c.profiles.mm7.max_body_bytes = 256 * 1024).await;
    let me = "+8613800138000";
    let (a, ..) = srv.login(me).await;
    let (ct, body) = mms(
        me,
        "ok",
        Mm7Version::default(),
        vec![text("before"), picture(jpeg(200, 200))],
    );
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_ok(http, &rsp, "ok");
    let before = a.my_profile().await.unwrap();
    assert_eq!(before.fields[&F::Signature], "before");

    // The fixture's placeholder "JPEG" is not a picture: the whole MMS (text too) is refused.
    let (ct, body) = fixture("rel5_nokia_flat_binary.mm7");
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_eq!((http, rsp.kind), (200, ResponseKind::DeliverRsp));
    assert_eq!(
        rsp.status(),
        Some(StatusCode::MultimediaContentRefused),
        "{:?}",
        rsp.status_text
    );
    assert!(rsp.status_text.unwrap().contains("avatar_corrupt"));
    assert_eq!(rsp.transaction_id.as_deref(), Some("NOK-0001-abc"));

    for (tid, bad, code) in [
        ("bomb", png_bomb(), "avatar_bomb"),
        ("cut", jpeg(300, 300)[..1500].to_vec(), "avatar_corrupt"),
        (
            "heic",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            "avatar_unsupported_type",
        ),
    ] {
        let (ct, body) = mms(
            me,
            tid,
            Mm7Version::default(),
            vec![text("changed!"), picture(bad)],
        );
        let (http, rsp) = post(&srv, &ct, body).await;
        assert_eq!(http, 200);
        assert_eq!(rsp.status_code, 2004, "{tid}: {:?}", rsp.status_text);
        assert!(
            rsp.status_text.as_deref().unwrap().contains(code),
            "{tid}: {:?}",
            rsp.status_text
        );
        assert_eq!(rsp.transaction_id.as_deref(), Some(tid));
    }
    // The reason went back to the phone (SMS: no MMSC URL configured).
    let prompts = eventually(|| async {
        let p: Vec<_> = srv
            .outbox()
            .into_iter()
            .filter(|m| m["kind"] == "mms_prompt")
            .collect();
        (p.len() >= 4).then_some(p)
    })
    .await;
    assert!(prompts.iter().all(|m| m["to"] == me));
    assert!(
        prompts
            .iter()
            .any(|m| m["text"].as_str().unwrap().contains("pixels")),
        "bomb reason"
    );

    // Invalid personal data in the text: 4004, nothing applied.
    let (ct, body) = mms(
        me,
        "bad-mail",
        Mm7Version::default(),
        vec![text("Email: not-mail\nsig")],
    );
    let (_, rsp) = post(&srv, &ct, body).await;
    assert_eq!(rsp.status_code, 4004, "{:?}", rsp.status_text);

    // Only a SMIL part: nothing usable.
    let (ct, body) = mms(
        me,
        "smil",
        Mm7Version::default(),
        vec![OutgoingAttachment::new(
            "application/smil",
            Some("s.smil"),
            b"<smil/>".to_vec(),
        )],
    );
    assert_eq!(post(&srv, &ct, body).await.1.status_code, 2004);

    // Oversize body: a SOAP fault (HTTP 500, as SOAP 1.1 faults are), before parsing.
    let (ct, body) = mms(
        me,
        "big",
        Mm7Version::default(),
        vec![picture(vec![0xAB; 300 * 1024])],
    );
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_eq!(http, 500);
    assert!(rsp.fault.is_some());
    assert_eq!(rsp.status_code, 2004);

    // Malformed SOAP: a fault (HTTP 500) with the MM7 status of the problem.
    let (ct, body) = fixture("bad_xml.mm7");
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_eq!(http, 500);
    assert!(rsp.fault.is_some());
    assert_eq!(rsp.status_code, 2007);
    let (ct, body) = fixture("missing_transaction_id.mm7");
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_eq!((http, rsp.status_code), (500, 4004));
    let (http, rsp) = post(&srv, "application/json", b"{}".to_vec()).await;
    assert_eq!(http, 500);
    assert!(rsp.fault.is_some());

    let after = a.my_profile().await.unwrap();
    assert_eq!(after, before, "nothing changed");
}

#[tokio::test]
async fn mm6_unregistered_and_unbound_senders_get_a_prompt_by_sms() {
    let srv = TestServer::start().await;
    // Not registered, not bound.
    let stranger = phone(9);
    let (ct, body) = mms(
        &stranger,
        "s1",
        Mm7Version::default(),
        vec![text("hi"), picture(jpeg(100, 100))],
    );
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_eq!((http, rsp.status_code), (200, 2001));
    assert!(rsp.status_text.unwrap().contains("not registered"));
    let sms = eventually(|| async { srv.outbox().into_iter().find(|m| m["to"] == stranger) }).await;
    assert_eq!(sms["kind"], "mms_prompt");
    assert!(sms["text"].as_str().unwrap().contains("Register first"));
    assert!(srv
        .state
        .core
        .store
        .user_by_phone(&stranger)
        .await
        .unwrap()
        .is_none());

    // Registered, binding switched off: prompt to bind, nothing applied.
    let me = phone(1);
    let (a, ..) = srv.login(&me).await;
    a.unbind(&me).await.unwrap();
    let version = a.my_profile().await.unwrap().version;
    let (ct, body) = mms(&me, "s2", Mm7Version::default(), vec![text("hi")]);
    let (_, rsp) = post(&srv, &ct, body).await;
    assert_eq!(rsp.status_code, 2001);
    let sms = eventually(|| async {
        srv.outbox()
            .into_iter()
            .find(|m| m["to"] == me && m["kind"] == "mms_prompt")
    })
    .await;
    assert!(sms["text"].as_str().unwrap().contains("Bind the number"));
    let p = a.my_profile().await.unwrap();
    assert_eq!(p.version, version);
    assert!(!p.fields.contains_key(&F::Signature));

    // A second phone bound to the account updates the account's profile.
    a.bind(&me).await.unwrap();
    let second = phone(5);
    a.bind(&second).await.unwrap();
    let code_sms = srv
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m["to"] == second && m["kind"] == "binding_code")
        .unwrap();
    let code: String = code_sms["text"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .into();
    a.confirm_binding(&second, &code).await.unwrap();
    let (ct, body) = mms(
        &second,
        "s3",
        Mm7Version::default(),
        vec![text("from my other phone")],
    );
    let (http, rsp) = post(&srv, &ct, body).await;
    assert_ok(http, &rsp, "s3");
    assert_eq!(
        a.my_profile().await.unwrap().fields[&F::Signature],
        "from my other phone"
    );
}

/// A tiny MMSC that records SubmitReqs and answers SubmitRsp 1000.
/// What the capturing MMSC received: headers and body of each request.
type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

async fn capturing_mmsc() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/mm7",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body.to_vec()));
                (
                    [("content-type", "text/xml; charset=utf-8")],
                    build_response(
                        ResponseKind::SubmitRsp,
                        "x",
                        &Mm7Version::default(),
                        StatusCode::Success,
                        "",
                    ),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mm7", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn mm6_prompt_goes_back_by_mm7_submitreq_when_an_mmsc_is_configured() {
    let (url, seen) = capturing_mmsc().await;
    let srv = TestServer::start_with(|c| {
        c.profiles.prompts.mmsc_url = Some(url);
        c.profiles.prompts.mmsc_username = Some("vasp".into());
        c.profiles.prompts.mmsc_password = Some("pw".into());
        c.profiles.prompts.sender_address = Some("10658888".into());
    })
    .await;
    let stranger = phone(9);
    let version = Mm7Version::new(Mm7Schema::Rel5Mm7_1_2);
    let (ct, body) = mms(&stranger, "p1", version, vec![text("hi")]);
    let (_, rsp) = post(&srv, &ct, body).await;
    assert_eq!(rsp.status_code, 2001);
    let (headers, body) = eventually(|| async { seen.lock().unwrap().first().cloned() }).await;
    let body = String::from_utf8_lossy(&body).to_string();
    assert!(body.contains("SubmitReq"), "{body}");
    assert!(body.contains("REL-5-MM7-1-2"), "the MMSC's own schema");
    assert!(body.contains(stranger.trim_start_matches('+')), "{body}");
    assert!(body.contains("LNK-1"), "LinkedID echoed");
    let text_b64 = body
        .split("Content-Transfer-Encoding: base64\r\n\r\n")
        .nth(1)
        .unwrap();
    let text_b64: String = text_b64
        .split("--")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD
        .decode(text_b64)
        .unwrap();
    assert!(String::from_utf8(text).unwrap().contains("Register first"));
    assert!(headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    assert!(
        srv.outbox().iter().all(|m| m["kind"] != "mms_prompt"),
        "not by SMS"
    );
}

#[tokio::test]
async fn mm7_callers_are_authenticated() {
    let srv = TestServer::start_with(|c| {
        c.profiles.mm7.username = Some("mmsc".into());
        c.profiles.mm7.password = Some("s3cret".into());
    })
    .await;
    let me = phone(1);
    let (a, ..) = srv.login(&me).await;
    let (ct, body) = mms(&me, "auth", Mm7Version::default(), vec![text("authorised")]);
    let c = srv.client();
    for creds in [None, Some(("mmsc", "wrong"))] {
        let ans = c.post_mm7(&ct, body.clone(), creds).await.unwrap();
        assert_eq!(ans.http_status, 401);
        let rsp = parse_response(&ans.content_type, &ans.body).unwrap();
        assert_eq!(rsp.status_code, 4001);
    }
    assert!(!a
        .my_profile()
        .await
        .unwrap()
        .fields
        .contains_key(&F::Signature));
    let ans = c
        .post_mm7(&ct, body.clone(), Some(("mmsc", "s3cret")))
        .await
        .unwrap();
    let rsp = parse_deliver_response(&ans.content_type, &ans.body).unwrap();
    assert_ok(ans.http_status, &rsp, "auth");

    // An allow-list that does not hold 127.0.0.1 refuses even good credentials.
    let srv =
        TestServer::start_with(|c| c.profiles.mm7.allowed = vec!["10.0.0.0/8".parse().unwrap()])
            .await;
    let ans = Client::new(&srv.url)
        .unwrap()
        .post_mm7(&ct, body, None)
        .await
        .unwrap();
    assert_eq!(ans.http_status, 403);
    assert_eq!(
        parse_response(&ans.content_type, &ans.body)
            .unwrap()
            .status_code,
        4001
    );
}
