//! The open platform against the real server: site registration, visitor tokens, standing
//! choices, signed look-ups with every refusal (and no data on each), the disclosure log, and
//! messages from a visitor to an account manager.

mod common;

use common::{phone, TestServer};
use ringbook_client::Client;
use ringbook_proto::openplatform::*;
use ringbook_sitekit::{sign, Credentials, SiteClient};

const ORIGIN: &str = "http://shop.test:8000";

struct Site {
    id: i64,
    creds: Credentials,
}

async fn register(srv: &TestServer, name: &str, origin: &str, addrs: &[&str]) -> Site {
    let reg = srv
        .client()
        .op_register_site(&RegisterSite {
            name: name.into(),
            origins: vec![origin.into()],
            allowed_addrs: addrs.iter().map(|a| a.to_string()).collect(),
            shared_secret: true,
            public_key: None,
        })
        .await
        .unwrap();
    Site {
        id: reg.site.id,
        creds: Credentials::SharedSecret(reg.secret.unwrap()),
    }
}

fn kit(srv: &TestServer, site: &Site) -> SiteClient {
    SiteClient::new(&srv.url, site.id, site.creds.clone()).unwrap()
}

/// A visitor with a profile for websites and the given standing choice for the site.
async fn visitor(srv: &TestServer, n: u32, site: &Site, fields: &[&str], raw_id: bool) -> Client {
    let (c, _, _) = srv.login(&phone(n)).await;
    prepare(&c, site, fields, raw_id).await;
    c
}

async fn prepare(c: &Client, site: &Site, fields: &[&str], raw_id: bool) {
    c.op_set_profile(&SiteProfile {
        name: Some("Li Wei".into()),
        age: Some(34),
        company: Some("Acme Trading".into()),
        title: Some("Buyer".into()),
        email: Some("li.wei@acme.test".into()),
        phone: None,
    })
    .await
    .unwrap();
    c.op_set_consent(
        &site.id.to_string(),
        &SetConsent {
            choice: Choice::Allow,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            raw_id,
        },
    )
    .await
    .unwrap();
}

async fn token(c: &Client, origin: &str) -> String {
    let a = c.op_token(origin).await.unwrap();
    assert_eq!(a.choice, Choice::Allow);
    a.token.unwrap()
}

/// Sends a hand-made signed POST; returns status and JSON body.
async fn raw_post(
    srv: &TestServer,
    path: &str,
    site_id: &str,
    signature: &str,
    ts: i64,
    nonce: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", srv.url))
        .header("content-type", "application/json")
        .header(HEADER_SITE, site_id)
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_NONCE, nonce)
        .header(HEADER_SIGNATURE, signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

fn now_s() -> i64 {
    ringbook_sitekit::unix_now()
}

#[tokio::test]
async fn registration_validates_and_needs_the_admin() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let base = RegisterSite {
        name: "Shop".into(),
        origins: vec!["https://shop.example/".into()],
        allowed_addrs: vec!["203.0.113.7".into(), "10.0.0.0/8".into()],
        shared_secret: true,
        public_key: None,
    };
    let reg = c.op_register_site(&base).await.unwrap();
    assert_eq!(reg.site.origins, vec!["https://shop.example"]);
    assert_eq!(reg.site.allowed_addrs, vec!["203.0.113.7/32", "10.0.0.0/8"]);
    assert!(reg.site.has_secret && reg.secret.as_ref().unwrap().len() >= 40);
    // The secret is shown once: the listing does not carry it, and the database holds it encrypted.
    let listed = serde_json::to_string(&c.op_sites().await.unwrap()).unwrap();
    assert!(!listed.contains(reg.secret.as_ref().unwrap()));
    let row = srv
        .state
        .core
        .store
        .op_site(reg.site.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!row
        .secret_enc
        .unwrap()
        .contains(reg.secret.as_ref().unwrap()));

    let err = |r: RegisterSite| {
        let c = c.clone();
        async move {
            c.op_register_site(&r)
                .await
                .unwrap_err()
                .code()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(err(base.clone()).await, "site_exists");
    assert_eq!(
        err(RegisterSite {
            name: "B".into(),
            origins: vec!["ftp://x".into()],
            ..base.clone()
        })
        .await,
        "invalid_origin"
    );
    assert_eq!(
        err(RegisterSite {
            name: "B".into(),
            origins: vec![],
            ..base.clone()
        })
        .await,
        "no_origins"
    );
    assert_eq!(
        err(RegisterSite {
            name: "B".into(),
            allowed_addrs: vec!["nowhere".into()],
            ..base.clone()
        })
        .await,
        "invalid_address"
    );
    assert_eq!(
        err(RegisterSite {
            name: "B".into(),
            shared_secret: false,
            public_key: None,
            ..base.clone()
        })
        .await,
        "no_credentials"
    );
    assert_eq!(
        err(RegisterSite {
            name: "B".into(),
            public_key: Some("AAAA".into()),
            ..base.clone()
        })
        .await,
        "invalid_public_key"
    );
    assert_eq!(c.op_sites().await.unwrap().len(), 1);

    // With an admin token configured, even loopback callers need it.
    let srv = TestServer::start_with(|cfg| cfg.admin.token = Some("op-token".into())).await;
    let e = srv.client().op_register_site(&base).await.unwrap_err();
    assert_eq!(e.code(), Some("admin_only"));
    srv.client()
        .with_token("op-token")
        .op_register_site(&base)
        .await
        .unwrap();
}

#[tokio::test]
async fn lookup_returns_only_allowed_fields_and_logs_it() {
    let srv = TestServer::start().await;
    let site = register(&srv, "Shop", ORIGIN, &["127.0.0.1"]).await;
    let (v, _, _) = srv.login(&phone(1)).await;

    // Default is `ask`: no token, and nothing to look up.
    let a = v.op_token(ORIGIN).await.unwrap();
    assert_eq!(
        (a.choice, a.token.is_none(), a.site_id),
        (Choice::Ask, true, site.id)
    );
    // An origin no site registered.
    assert_eq!(
        v.op_token("http://elsewhere.test")
            .await
            .unwrap_err()
            .code(),
        Some("unknown_site")
    );

    prepare(&v, &site, &["name", "company", "phone"], false).await;
    let t = token(&v, ORIGIN).await;
    let claims = ringbook_sitekit::peek_claims(&t, site.id).unwrap();
    assert!(claims.uid.is_none(), "no raw number unless enabled");
    assert!(claims.sub.starts_with("v_"));

    let ans = kit(&srv, &site).lookup_token(&t).await.unwrap();
    assert_eq!(ans.visitor, claims.sub);
    assert_eq!(ans.fields.name.as_deref(), Some("Li Wei"));
    assert_eq!(ans.fields.company.as_deref(), Some("Acme Trading"));
    assert_eq!(ans.fields.phone.as_deref(), Some(phone(1).as_str()));
    assert_eq!(
        (ans.fields.email, ans.fields.age, ans.fields.title),
        (None, None, None)
    );

    let log = v.op_disclosures(10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].site_name, "Shop");
    assert_eq!(log[0].purpose, "lookup");
    assert_eq!(log[0].fields, vec!["name", "company", "phone"]);
    assert_eq!(log[0].caller_addr, "127.0.0.1");

    let consents = v.op_consents().await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].fields, vec!["name", "company", "phone"]);

    // Another site gets another pseudonym for the same visitor.
    let other = register(&srv, "Other", "http://other.test", &["127.0.0.1"]).await;
    v.op_set_consent(
        "Other",
        &SetConsent {
            choice: Choice::Allow,
            fields: vec!["name".into()],
            raw_id: false,
        },
    )
    .await
    .unwrap();
    let t2 = token(&v, "http://other.test").await;
    let ans2 = kit(&srv, &other).lookup_token(&t2).await.unwrap();
    assert_ne!(ans2.visitor, ans.visitor);
    assert_eq!(ans2.fields.company, None);

    // Bad field names are refused.
    let e = v
        .op_set_consent(
            "Shop",
            &SetConsent {
                choice: Choice::Allow,
                fields: vec!["salary".into()],
                raw_id: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("unknown_field"));
}

#[tokio::test]
async fn every_refusal_is_a_clear_error_and_discloses_nothing() {
    let srv = TestServer::start().await;
    let site = register(&srv, "Shop", ORIGIN, &["127.0.0.1"]).await;
    let far = register(&srv, "Far", "http://far.test", &["10.0.0.0/8"]).await;
    let other = register(&srv, "Other", "http://other.test", &["127.0.0.1"]).await;
    let v = visitor(&srv, 2, &site, &["name", "email"], false).await;
    let t = token(&v, ORIGIN).await;
    let path = "/v1/openplatform/lookup";
    let body = serde_json::to_vec(&LookupRequest {
        token: Some(t.clone()),
        user_id: None,
    })
    .unwrap();
    let signed = |creds: &Credentials, id: i64, ts: i64, nonce: &str| {
        sign(creds, id, "POST", path, &body, ts, nonce)
    };
    let nonce = || ringbook_sitekit::new_nonce();

    // Wrong signature: a secret that is not the site's.
    let h = signed(
        &Credentials::SharedSecret("not-the-secret".into()),
        site.id,
        now_s(),
        &nonce(),
    );
    let (s, b) = raw_post(&srv, path, &h.site, &h.signature, now_s(), &h.nonce, &body).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("bad_signature")));
    // A valid signature over another body.
    let h = sign(&site.creds, site.id, "POST", path, b"{}", now_s(), &nonce());
    let (s, b) = raw_post(&srv, path, &h.site, &h.signature, now_s(), &h.nonce, &body).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("bad_signature")));
    // Stale timestamp (signed correctly, ten minutes old).
    let old = now_s() - 600;
    let h = signed(&site.creds, site.id, old, &nonce());
    let (s, b) = raw_post(&srv, path, &h.site, &h.signature, old, &h.nonce, &body).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("stale_timestamp")));
    // Unknown site.
    let h = signed(&site.creds, 999, now_s(), &nonce());
    let (s, b) = raw_post(&srv, path, "999", &h.signature, now_s(), &h.nonce, &body).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unknown_site")));
    // Unsigned.
    let (s, b) = raw_post(
        &srv,
        path,
        &site.id.to_string(),
        "",
        now_s(),
        &nonce(),
        &body,
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unsigned_request")));
    // Wrong address: the site registered 10.0.0.0/8, we call from 127.0.0.1.
    let e = kit(&srv, &far).lookup_token(&t).await.unwrap_err();
    assert_eq!(e.code(), Some("address_not_allowed"));
    // Token issued for another site (the domain check).
    let e = kit(&srv, &other).lookup_token(&t).await.unwrap_err();
    assert_eq!(e.code(), Some("wrong_site"));
    // A forged token.
    let e = kit(&srv, &site)
        .lookup_token("eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("invalid_visitor_token"));
    // An expired token, signed with the server's real key.
    // The key is stored sealed under the master key: the database alone forges nothing.
    let stored = srv
        .state
        .core
        .store
        .op_key("visitor_token_hs256", "unused")
        .await
        .unwrap();
    assert!(hex::decode(&stored).is_err(), "stored in plain: {stored}");
    let key = hex::decode(srv.state.core.keys.decrypt(&stored).unwrap()).unwrap();
    let mut claims = ringbook_sitekit::peek_claims(&t, site.id).unwrap();
    claims.exp = now_s() - 10;
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .unwrap();
    let e = kit(&srv, &site).lookup_token(&expired).await.unwrap_err();
    assert_eq!(e.code(), Some("visitor_token_expired"));
    assert!(
        v.op_disclosures(10).await.unwrap().is_empty(),
        "no refusal disclosed anything"
    );

    // Replayed nonce: the first request passes, the same one again is refused.
    let ts = now_s();
    let h = signed(&site.creds, site.id, ts, &nonce());
    let (s, b) = raw_post(&srv, path, &h.site, &h.signature, ts, &h.nonce, &body).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["fields"]["email"], "li.wei@acme.test");
    let (s, b) = raw_post(&srv, path, &h.site, &h.signature, ts, &h.nonce, &body).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("replayed_nonce")));
    assert_eq!(v.op_disclosures(10).await.unwrap().len(), 1);

    // Revoked consent: the same valid token now gets nothing.
    let revoked = v.op_revoke("Shop").await.unwrap();
    assert_eq!((revoked.choice, revoked.fields.len()), (Choice::Deny, 0));
    let e = kit(&srv, &site).lookup_token(&t).await.unwrap_err();
    assert_eq!(e.code(), Some("no_consent"));
    // And the agent gets no token any more.
    let a = v.op_token(ORIGIN).await.unwrap();
    assert_eq!((a.choice, a.token), (Choice::Deny, None));
    assert_eq!(v.op_disclosures(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn ed25519_sites_rate_limits_and_raw_numbers() {
    let srv = TestServer::start_with(|c| c.openplatform.requests_per_minute_per_site = 3).await;
    use base64::Engine;
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let reg = srv
        .client()
        .op_register_site(&RegisterSite {
            name: "Keyed".into(),
            origins: vec![ORIGIN.into()],
            allowed_addrs: vec!["127.0.0.0/8".into()],
            shared_secret: false,
            public_key: Some(
                base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes()),
            ),
        })
        .await
        .unwrap();
    assert!(reg.secret.is_none());
    let site = Site {
        id: reg.site.id,
        creds: Credentials::Ed25519(key),
    };
    let k = kit(&srv, &site);

    // Raw numbers: refused unless enabled for the site, and then carried in the token.
    let v = visitor(&srv, 3, &site, &["company"], false).await;
    assert_eq!(
        k.lookup_number(&phone(3)).await.unwrap_err().code(),
        Some("no_consent")
    );
    v.op_set_consent(
        "Keyed",
        &SetConsent {
            choice: Choice::Allow,
            fields: vec!["company".into()],
            raw_id: true,
        },
    )
    .await
    .unwrap();
    let ans = k.lookup_number(&phone(3)).await.unwrap();
    assert_eq!(ans.fields.company.as_deref(), Some("Acme Trading"));
    let t = token(&v, ORIGIN).await;
    assert_eq!(
        ringbook_sitekit::peek_claims(&t, site.id)
            .unwrap()
            .uid
            .as_deref(),
        Some(phone(3).as_str())
    );
    // A number that is not on Ringbook answers the same as no consent (no probing).
    assert_eq!(
        k.lookup_number(&phone(99)).await.unwrap_err().code(),
        Some("no_consent")
    );

    // Fourth request in a minute is over the limit of 3.
    let e = k.lookup_token(&t).await.unwrap_err();
    assert_eq!(e.code(), Some("rate_limited"));
    assert_eq!(v.op_disclosures(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_site_messages_the_account_manager_from_the_visitor_with_consent() {
    let srv = TestServer::start().await;
    let site = register(&srv, "Shop", ORIGIN, &["127.0.0.1"]).await;
    let (_m, manager, _) = srv.login(&phone(10)).await;
    let v = visitor(&srv, 11, &site, &["name", "company"], false).await;
    let t = token(&v, ORIGIN).await;
    let k = kit(&srv, &site);

    // Without the number among the allowed fields, no message (the manager would see it).
    let e = k
        .message_from_visitor(&t, &phone(10), "Hello")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("no_consent"));
    let mgr = srv
        .state
        .core
        .store
        .user_by_phone(manager.phone.as_str())
        .await
        .unwrap()
        .unwrap();
    assert!(srv
        .state
        .core
        .store
        .messages_after(mgr.id, 0, 10)
        .await
        .unwrap()
        .is_empty());

    v.op_set_consent(
        "Shop",
        &SetConsent {
            choice: Choice::Allow,
            fields: vec!["name".into(), "phone".into()],
            raw_id: false,
        },
    )
    .await
    .unwrap();
    let sent = k
        .message_from_visitor(&t, &phone(10), "Visitor from Acme is on the pricing page")
        .await
        .unwrap();
    assert_eq!(sent.to, phone(10));
    let inbox = srv
        .state
        .core
        .store
        .messages_after(mgr.id, 0, 10)
        .await
        .unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].sender_phone, phone(11));
    assert_eq!(inbox[0].kind, "notice");
    assert!(inbox[0].body.contains("pricing page") && inbox[0].body.contains("Shop"));
    let log = v.op_disclosures(10).await.unwrap();
    assert_eq!(log[0].purpose, format!("message to {}", phone(10)));

    // To someone not on Ringbook: a clear error.
    let e = k
        .message_from_visitor(&t, &phone(12), "Hi")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("not_a_user"));
}

#[tokio::test]
async fn profile_for_sites_validates_input() {
    let srv = TestServer::start().await;
    let (c, _, _) = srv.login(&phone(20)).await;
    let p = c.op_profile().await.unwrap();
    assert_eq!(p.phone.as_deref(), Some(phone(20).as_str()));
    assert_eq!(p.name, None);
    let bad = |p: SiteProfile| {
        let c = c.clone();
        async move {
            c.op_set_profile(&p)
                .await
                .unwrap_err()
                .code()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(
        bad(SiteProfile {
            email: Some("nope".into()),
            ..Default::default()
        })
        .await,
        "invalid_field"
    );
    assert_eq!(
        bad(SiteProfile {
            age: Some(-1),
            ..Default::default()
        })
        .await,
        "invalid_field"
    );
    assert_eq!(
        bad(SiteProfile {
            phone: Some("+1".into()),
            ..Default::default()
        })
        .await,
        "read_only_field"
    );
    let set = c
        .op_set_profile(&SiteProfile {
            company: Some(" Acme ".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(set.company.as_deref(), Some("Acme"));
    // Without a session, nothing.
    let e = srv.client().op_profile().await.unwrap_err();
    assert!(
        matches!(e, ringbook_client::ClientError::Api { status: 401, .. }),
        "{e:?}"
    );
}

/// Without fields set for websites, the visitor's Ringbook profile (part MM) supplies them — still
/// only the fields the visitor allowed the site.
#[tokio::test]
async fn lookup_falls_back_to_the_ringbook_profile() {
    use ringbook_proto::profiles::{ProfileField, ProfileUpdate};
    let srv = TestServer::start().await;
    let site = register(&srv, "Shop", ORIGIN, &["127.0.0.1"]).await;
    let (v, _, _) = srv.login(&phone(7)).await;
    let mut update = ProfileUpdate::default();
    update
        .fields
        .insert(ProfileField::Company, "Initech".into());
    update
        .fields
        .insert(ProfileField::Email, "li@initech.test".into());
    v.update_profile(&update).await.unwrap();
    v.op_set_consent(
        &site.id.to_string(),
        &SetConsent {
            choice: Choice::Allow,
            fields: vec!["company".into()],
            raw_id: false,
        },
    )
    .await
    .unwrap();
    let t = token(&v, ORIGIN).await;
    let ans = kit(&srv, &site).lookup_token(&t).await.unwrap();
    assert_eq!(ans.fields.company.as_deref(), Some("Initech"));
    assert_eq!(ans.fields.email, None, "email was not allowed");
}
