//! Fuzz the request/response parsers with arbitrary bodies and content types.
//! Input layout: first byte selects a content type; the rest is the body. If the body
//! contains a NUL within its first 200 bytes, the bytes before it are a custom content type.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TYPES: [&str; 6] = [
    "text/xml; charset=utf-8",
    "multipart/related; boundary=b; type=\"text/xml\"; start=\"<s>\"",
    "multipart/related; boundary=\"----=_Part_0\"",
    "multipart/mixed; boundary=b",
    "application/soap+xml; charset=gb2312",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (ct, body) = match rest.iter().take(200).position(|b| *b == 0) {
        Some(i) => (
            String::from_utf8_lossy(&rest[..i]).into_owned(),
            &rest[i + 1..],
        ),
        None => (TYPES[usize::from(sel) % TYPES.len()].to_string(), rest),
    };
    if let Ok(ringbook_mm7::Mm7Request::Deliver(d)) = ringbook_mm7::parse_request(&ct, body) {
        for a in &d.attachments {
            let _ = a.kind();
            let _ = a.text();
        }
    }
    let _ = ringbook_mm7::parse_response(&ct, body);
    let _ = ringbook_mm7::peek_transaction_id(&ct, body);
});
