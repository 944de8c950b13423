//! Shared helpers of the profile and MM7 tests: test pictures (with EXIF), MM7 fixtures,
//! waiting for live frames, contacts set-up.
#![allow(dead_code)]

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use ringbook_client::ws::Connection;
use ringbook_proto::ws::ServerFrame;
use ringbook_server::state::AppState;
use ringbook_store::contacts::ContactRow;
use std::time::Duration;

/// A `w`×`h` JPEG: left half red, right half blue.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([230, 20, 20])
        } else {
            Rgb([20, 20, 230])
        }
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// Text placed in the EXIF `Make` tag (stands for the camera serial / GPS data that must not
/// leave the server).
pub const EXIF_SECRET: &str = "SecretCam-GPS-31.2304N-121.4737E";

/// [`jpeg`] with an EXIF block carrying `orientation` and [`EXIF_SECRET`].
pub fn jpeg_with_exif(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let plain = jpeg(w, h);
    let make = format!("{EXIF_SECRET}\0");
    let mut tiff = vec![0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8];
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // Make (ASCII), value at offset 38 (8 + 2 + 2×12 + 4).
    tiff.extend_from_slice(&0x010Fu16.to_be_bytes());
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&(make.len() as u32).to_be_bytes());
    tiff.extend_from_slice(&38u32.to_be_bytes());
    // Orientation (SHORT).
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(make.as_bytes());
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A tiny PNG whose header declares 100000×100000 pixels (a decompression bomb).
pub fn png_bomb() -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(b"IEND", &[]);
    out
}

/// An MM7 fixture of the codec crate: (Content-Type, body).
pub fn fixture(name: &str) -> (String, Vec<u8>) {
    let path = format!(
        "{}/../ringbook-mm7/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(&path).unwrap();
    let split = raw.windows(2).position(|w| w == b"\n\n").unwrap();
    let ct = String::from_utf8(raw[..split].to_vec()).unwrap();
    (ct, raw[split + 2..].to_vec())
}

/// The fixtures' placeholder picture (not a decodable JPEG).
pub fn fixture_avatar() -> Vec<u8> {
    std::fs::read(format!(
        "{}/../ringbook-mm7/tests/fixtures/avatar.jpg",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let at = hay.windows(needle.len()).position(|w| w == needle)?;
    let mut out = hay[..at].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&hay[at + needle.len()..]);
    Some(out)
}

fn wrapped_base64(data: &[u8], eol: &str) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(data);
    b.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(eol)
}

/// The fixture body with its placeholder picture replaced by `picture` (binary or base64).
pub fn with_picture(body: &[u8], picture: &[u8]) -> Vec<u8> {
    let fake = fixture_avatar();
    if let Some(b) = replace(body, &fake, picture) {
        return b;
    }
    for eol in ["\r\n", "\n"] {
        if let Some(b) = replace(
            body,
            wrapped_base64(&fake, eol).as_bytes(),
            wrapped_base64(picture, eol).as_bytes(),
        ) {
            return b;
        }
    }
    panic!("the fixture holds no placeholder picture");
}

/// Puts `phones` into `owner`'s server-side phone book.
pub async fn add_to_book(state: &AppState, owner_phone: &str, phones: &[&str]) {
    let owner = state
        .core
        .store
        .user_by_phone(owner_phone)
        .await
        .unwrap()
        .unwrap();
    let rows: Vec<ContactRow> = phones
        .iter()
        .map(|p| ContactRow {
            owner_id: owner.id,
            contact_phone: p.to_string(),
            name: String::new(),
            group_name: None,
            flag: 1,
            fields: "{}".into(),
            created_at: 0,
            updated_at: 0,
        })
        .collect();
    state
        .core
        .store
        .upsert_contacts(owner.id, &rows, 1)
        .await
        .unwrap();
}

/// The next `profile_updated` frame (other frames are skipped), within 5 seconds.
pub async fn next_profile_update(ws: &mut Connection) -> (String, i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no profile_updated frame within 5 s")
            .unwrap();
        match frame {
            Some(ServerFrame::ProfileUpdated { phone, version }) => return (phone, version),
            Some(_) => continue,
            None => panic!("connection closed"),
        }
    }
}

/// Connects and waits for the hello frame, so the connection is registered.
pub async fn connect(client: &ringbook_client::Client) -> Connection {
    let mut ws = client.connect().await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Ok(Some(ServerFrame::Hello { .. }))) => ws,
        other => panic!("expected hello, got {other:?}"),
    }
}

/// Polls `f` until it returns `Some`, for at most 5 seconds.
pub async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
