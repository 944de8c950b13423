//! MM7 as an MMSC sends it to `POST /mm7` (requests) and answers `ringbook mms send` (responses).
//! Input: the Content-Type header, a blank line, the HTTP body — the layout of
//! crates/ringbook-mm7/tests/fixtures, so those files are the seeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringbook_mm7::{parse_request, parse_response, peek_transaction_id, Mm7Request, StatusCode};

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 2..]),
        None => ("text/xml".into(), data),
    };
    if let Ok(req) = parse_request(&content_type, body) {
        // What the server does next with a parsed request.
        if let Mm7Request::Deliver(d) = &req {
            let _ = d.sender_number();
            for a in &d.attachments {
                let _ = (a.kind(), a.text(), a.name());
            }
        }
        // The answer echoes the TransactionID; whatever the MMSC sent must come back unchanged
        // (no markup injected into our envelope), but for the characters XML 1.0 cannot carry at
        // all (control characters an MMSC should never have sent), which the builder drops.
        let answer = req.build_response(StatusCode::Success, "");
        if let Ok(parsed) = parse_response("text/xml", answer.as_bytes()) {
            let sendable: String = req
                .transaction_id()
                .chars()
                .filter(|&c| {
                    !((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
                        && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
                })
                .collect();
            assert_eq!(parsed.transaction_id.as_deref(), Some(sendable.as_str()));
        }
    }
    let _ = peek_transaction_id(&content_type, body);
    let _ = parse_response(&content_type, body);
});
