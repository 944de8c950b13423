//! The four headers of an open-platform signed request (`POST /v1/openplatform/lookup` and
//! `/message`), as the server reads them before any key or database is involved.
//! Input lines: site, signature, timestamp, nonce (a missing line is a missing header), then the
//! method and the path signed in the canonical request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringbook_proto::openplatform::{
    canonical_request, RequestSignature, SignedRequestHeaders, HEADER_NONCE, HEADER_SIGNATURE,
    HEADER_SITE, HEADER_TIMESTAMP,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    let line = |i: usize| lines.get(i).copied();
    let Ok(headers) = SignedRequestHeaders::read(|name| match name {
        HEADER_SITE => line(0),
        HEADER_SIGNATURE => line(1),
        HEADER_TIMESTAMP => line(2),
        HEADER_NONCE => line(3),
        _ => None,
    }) else {
        return;
    };
    let site = headers.site_id();
    let ts = headers.timestamp_secs();
    if headers.nonce_is_valid() {
        assert!(headers.nonce.bytes().all(|b| b.is_ascii_graphic()));
    }
    if let Some(sig) = headers.signature() {
        // Decoding and re-encoding agree, so both signing sides read the same bytes.
        assert_eq!(RequestSignature::parse(&sig.to_string()), Some(sig));
    }
    if let (Some(site), Some(ts)) = (site, ts) {
        let _ = canonical_request(
            line(4).unwrap_or("POST"),
            line(5).unwrap_or("/"),
            site,
            ts,
            headers.nonce,
            "",
        );
    }
});
