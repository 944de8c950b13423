//! Profiles against the real server: fields and per-field visibility, the batch fetch and live
//! notices (MM-3), avatar upload under the standard (MM-5), and number bindings (MM-4).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)] // tests (and the shared harness) may unwrap

mod common;
mod profiles_support;

use common::{phone, TestServer};
use profiles_support::*;
use ringbook_client::ClientError;
use ringbook_proto::profiles::{ProfileField as F, ProfileUpdate, ProfilesQuery, Visibility as V};
use std::collections::BTreeMap;

fn code_of(e: &ClientError) -> &str {
    e.code()
        .unwrap_or_else(|| panic!("expected an API error, got {e:?}"))
}

fn update(fields: &[(F, &str)], vis: &[(F, V)]) -> ProfileUpdate {
    ProfileUpdate {
        fields: fields.iter().map(|(f, v)| (*f, v.to_string())).collect(),
        visibility: vis.iter().copied().collect(),
    }
}

#[tokio::test]
async fn mm3_fields_are_shown_by_visibility() {
    let srv = TestServer::start().await;
    let (a, ..) = srv.login(&phone(1)).await;
    let (b, ..) = srv.login(&phone(2)).await;
    let (c, ..) = srv.login(&phone(3)).await;
    // C is in A's phone book, B is not.
    add_to_book(&srv.state, &phone(1), &[&phone(3)]).await;

    let mine = a
        .update_profile(&update(
            &[
                (F::Name, " Li Lei "),
                (F::Nickname, "Lei"),
                (F::Email, "lei@example.cn"),
                (F::Signature, "hello"),
                (F::Birthday, "1990-05-01"),
            ],
            &[(F::Email, V::Nobody)],
        ))
        .await
        .unwrap();
    assert_eq!(mine.version, 1);
    assert_eq!(mine.fields[&F::Name], "Li Lei", "trimmed");
    assert_eq!(
        mine.fields[&F::Email],
        "lei@example.cn",
        "the owner sees every field"
    );
    let vis = mine.visibility.unwrap();
    assert_eq!(vis[&F::Email], V::Nobody);
    assert_eq!(vis[&F::Name], V::Contacts, "default");
    assert_eq!(vis[&F::Signature], V::Everyone, "default");

    let seen_by_b = b.profile(&phone(1)).await.unwrap();
    let keys: Vec<F> = seen_by_b.fields.keys().copied().collect();
    assert_eq!(keys, vec![F::Nickname, F::Signature]);
    assert!(seen_by_b.visibility.is_none());

    let seen_by_c = c.profile(&phone(1)).await.unwrap();
    let keys: Vec<F> = seen_by_c.fields.keys().copied().collect();
    assert_eq!(keys, vec![F::Name, F::Nickname, F::Birthday, F::Signature]);

    // Bad values and unknown users: clear errors, nothing changed.
    let e = a
        .update_profile(&update(&[(F::Email, "nope"), (F::Nickname, "X")], &[]))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "invalid_field");
    let e = a
        .update_profile(&update(&[(F::Birthday, "1990-02-30")], &[]))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "invalid_field");
    let e = a
        .update_profile(&update(&[(F::Avatar, "x")], &[]))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "invalid_field");
    let e = a
        .call::<_, serde_json::Value>(
            ringbook_client::Method::PATCH,
            "/v1/profile",
            Some(&serde_json::json!({"fields": {"shoe_size": "42"}})),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "invalid_body");
    let again = a.my_profile().await.unwrap();
    assert_eq!(again.version, 1);
    assert_eq!(again.fields[&F::Nickname], "Lei");
    let e = b.profile(&phone(9)).await.unwrap_err();
    assert_eq!(code_of(&e), "no_such_user");
    let e = srv.client().profile(&phone(1)).await.unwrap_err();
    assert_eq!(code_of(&e), "missing_token");

    // Clearing a field removes it; a no-op change does not bump the version.
    let cleared = a
        .update_profile(&update(&[(F::Birthday, "")], &[]))
        .await
        .unwrap();
    assert_eq!(cleared.version, 2);
    assert!(!cleared.fields.contains_key(&F::Birthday));
    let same = a
        .update_profile(&update(&[(F::Nickname, "Lei")], &[]))
        .await
        .unwrap();
    assert_eq!(same.version, 2);
}

#[tokio::test]
async fn mm3_batch_fetch_skips_known_versions() {
    let srv = TestServer::start().await;
    let (a, ..) = srv.login(&phone(1)).await;
    let (b, ..) = srv.login(&phone(2)).await;
    a.update_profile(&update(&[(F::Nickname, "A")], &[]))
        .await
        .unwrap();
    let q = ProfilesQuery {
        phones: vec![
            phone(1),
            "138 0000 0001".into(),
            phone(7),
            "not a number".into(),
        ],
        known: BTreeMap::new(),
    };
    let got = b.profiles(&q).await.unwrap();
    assert_eq!(got.profiles.len(), 1, "duplicates folded");
    assert_eq!(got.profiles[0].phone, phone(1));
    assert_eq!(got.profiles[0].fields[&F::Nickname], "A");
    assert_eq!(got.unknown, vec![phone(7), "not a number".to_string()]);

    let mut known = BTreeMap::new();
    known.insert(phone(1), got.profiles[0].version);
    let q = ProfilesQuery {
        phones: vec![phone(1)],
        known: known.clone(),
    };
    assert!(
        b.profiles(&q).await.unwrap().profiles.is_empty(),
        "unchanged since"
    );
    a.update_profile(&update(&[(F::Nickname, "A2")], &[]))
        .await
        .unwrap();
    let got = b
        .profiles(&ProfilesQuery {
            phones: vec![phone(1)],
            known,
        })
        .await
        .unwrap();
    assert_eq!(got.profiles[0].fields[&F::Nickname], "A2");

    let srv2 = TestServer::start_with(|c| c.profiles.batch_max = 2).await;
    let (x, ..) = srv2.login(&phone(1)).await;
    let e = x
        .profiles(&ProfilesQuery {
            phones: vec![phone(1), phone(2), phone(3)],
            known: BTreeMap::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "too_many_numbers");
}

#[tokio::test]
async fn mm3_live_notice_reaches_own_devices_and_allowed_contacts_only() {
    let srv = TestServer::start().await;
    let (a, _, dev_a) = srv.login(&phone(1)).await;
    let a2 = srv
        .client()
        .with_token(srv.login_device(&phone(1), &dev_a).await.unwrap().token);
    let (b, ..) = srv.login(&phone(2)).await;
    let (c, ..) = srv.login(&phone(3)).await;
    // B has A in its book (a candidate); C does not. A's own book is empty.
    add_to_book(&srv.state, &phone(2), &[&phone(1)]).await;

    let mut ws_a2 = connect(&a2).await;
    let mut ws_b = connect(&b).await;
    let mut ws_c = connect(&c).await;

    // Name is visible to A's contacts only and B is not in A's book: B hears nothing of it.
    let v1 = a
        .update_profile(&update(&[(F::Name, "Li Lei")], &[]))
        .await
        .unwrap()
        .version;
    assert_eq!(
        next_profile_update(&mut ws_a2).await,
        (phone(1), v1),
        "owner's other device"
    );
    // The nickname is visible to everyone: B is told.
    let v2 = a
        .update_profile(&update(&[(F::Nickname, "Lei")], &[]))
        .await
        .unwrap()
        .version;
    assert_eq!(next_profile_update(&mut ws_a2).await, (phone(1), v2));
    assert_eq!(
        next_profile_update(&mut ws_b).await,
        (phone(1), v2),
        "the name change was skipped"
    );

    // Now B is in A's book: a contacts-only change reaches B.
    add_to_book(&srv.state, &phone(1), &[&phone(2)]).await;
    let v3 = a
        .update_profile(&update(&[(F::Region, "Shanghai")], &[]))
        .await
        .unwrap()
        .version;
    assert_eq!(next_profile_update(&mut ws_b).await, (phone(1), v3));
    assert_eq!(
        b.profile(&phone(1)).await.unwrap().fields[&F::Region],
        "Shanghai"
    );

    // C (who does not have A in its book) got nothing at all: its next frame is a pong.
    ws_c.send(&ringbook_proto::ws::ClientFrame::Ping { nonce: 7 })
        .await
        .unwrap();
    let f = tokio::time::timeout(std::time::Duration::from_secs(5), ws_c.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f, Some(ringbook_proto::ws::ServerFrame::Pong { nonce: 7 }));
}

#[tokio::test]
async fn mm5_avatar_upload_meets_the_standard_upright_without_exif() {
    let srv = TestServer::start_with(|c| {
        c.profiles.avatar.square_crop = false;
        c.profiles.avatar.max_dimension = 256;
        c.profiles.avatar.max_bytes = 20 * 1024;
        c.profiles.avatar.max_input_bytes = 2 * 1024 * 1024;
    })
    .await;
    let (a, ..) = srv.login(&phone(1)).await;
    let (b, ..) = srv.login(&phone(2)).await;
    // Stored sideways (400×200) with EXIF orientation 6: upright it is 200×400, red on top.
    let photo = jpeg_with_exif(400, 200, 6);
    assert!(photo
        .windows(EXIF_SECRET.len())
        .any(|w| w == EXIF_SECRET.as_bytes()));
    let p = a.set_avatar(photo).await.unwrap();
    let info = p.avatar.clone().unwrap();
    assert_eq!(
        (info.width, info.height),
        (128, 256),
        "upright, fits max_dimension"
    );
    assert_eq!((info.thumb_width, info.thumb_height), (96, 96));
    assert!(info.bytes <= 20 * 1024);

    let stored = b.avatar(&phone(1), false).await.unwrap();
    assert_eq!(stored.len() as u64, info.bytes);
    assert_eq!(&stored[..2], &[0xFF, 0xD8], "JPEG");
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "no EXIF left");
    assert!(
        !stored.windows(9).any(|w| w == b"SecretCam"),
        "no camera data left"
    );
    let img = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (128, 256));
    let top = img.get_pixel(64, 30);
    let bottom = img.get_pixel(64, 226);
    assert!(top[0] > 150 && top[2] < 100, "red on top: {top:?}");
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "blue at the bottom: {bottom:?}"
    );
    let thumb = b.avatar(&phone(1), true).await.unwrap();
    assert_eq!(
        image::load_from_memory(&thumb)
            .unwrap()
            .to_rgb8()
            .dimensions(),
        (96, 96)
    );

    // Refused pictures change nothing.
    let version = p.version;
    for (bad, code) in [
        (png_bomb(), "avatar_bomb"),
        (jpeg(300, 300)[..2000].to_vec(), "avatar_corrupt"),
        (
            b"%PDF-1.4 not a picture".to_vec(),
            "avatar_unsupported_type",
        ),
        (jpeg(20, 20), "avatar_too_small"),
    ] {
        let e = a.set_avatar(bad).await.unwrap_err();
        assert_eq!(code_of(&e), code, "{e}");
    }
    let e = a.set_avatar(vec![0xFF; 3 * 1024 * 1024]).await.unwrap_err();
    assert_eq!(code_of(&e), "body_too_large");
    let now = a.my_profile().await.unwrap();
    assert_eq!(now.version, version);
    assert_eq!(now.avatar.unwrap().id, info.id);

    // Hidden avatar: others get 404, the owner still sees it.
    a.update_profile(&update(&[], &[(F::Avatar, V::Nobody)]))
        .await
        .unwrap();
    let e = b.avatar(&phone(1), false).await.unwrap_err();
    assert_eq!(code_of(&e), "no_avatar");
    assert!(b.profile(&phone(1)).await.unwrap().avatar.is_none());
    assert!(a.avatar(&phone(1), true).await.is_ok());
    let gone = a.delete_avatar().await.unwrap();
    assert!(gone.avatar.is_none());
    assert_eq!(
        code_of(&a.avatar(&phone(1), false).await.unwrap_err()),
        "no_avatar"
    );
}

#[tokio::test]
async fn mm4_second_phone_is_bound_after_an_sms_code() {
    let srv = TestServer::start().await;
    let (a, ..) = srv.login(&phone(1)).await;
    let list = a.bindings().await.unwrap();
    assert_eq!(list.bindings.len(), 1);
    assert!(
        list.bindings[0].own && list.bindings[0].phone == phone(1),
        "own number by default"
    );

    let started = a.bind(&phone(5)).await.unwrap();
    assert!(!started.bound);
    let sms = srv
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m["to"] == phone(5))
        .unwrap();
    assert_eq!(sms["kind"], "binding_code");
    let text = sms["text"].as_str().unwrap();
    let code: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .into();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        code_of(&a.confirm_binding(&phone(5), wrong).await.unwrap_err()),
        "wrong_code"
    );
    assert_eq!(
        a.bindings().await.unwrap().bindings.len(),
        1,
        "not bound yet"
    );
    let list = a.confirm_binding(&phone(5), &code).await.unwrap();
    assert!(list.bindings.iter().any(|b| b.phone == phone(5) && !b.own));
    assert_eq!(
        code_of(&a.confirm_binding(&phone(5), &code).await.unwrap_err()),
        "no_code"
    );

    // Another account cannot take it; a number with its own account cannot be bound.
    let (b, ..) = srv.login(&phone(2)).await;
    assert_eq!(
        code_of(&b.bind(&phone(5)).await.unwrap_err()),
        "number_bound_elsewhere"
    );
    assert_eq!(
        code_of(&a.bind(&phone(2)).await.unwrap_err()),
        "number_has_account"
    );
    assert_eq!(
        code_of(&a.bind("12345").await.unwrap_err()),
        "invalid_phone"
    );

    // Unbinding.
    let list = a.unbind(&phone(5)).await.unwrap();
    assert_eq!(list.bindings.len(), 1);
    assert_eq!(
        code_of(&a.unbind(&phone(5)).await.unwrap_err()),
        "not_bound"
    );
    let list = a.unbind(&phone(1)).await.unwrap();
    assert!(list.bindings.is_empty(), "own number switched off");
    assert!(
        a.bind(&phone(1)).await.unwrap().bound,
        "own number back on at once"
    );
    assert_eq!(a.bindings().await.unwrap().bindings.len(), 1);
}
