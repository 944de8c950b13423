//! WebSocket text frames: what a client sends the server (`ClientFrame`, then the recipient's
//! number parsed as the server does) and what a server sends the client SDK (`ServerFrame`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringbook_proto::ws::{ClientFrame, ServerFrame};
use ringbook_proto::PhoneNumber;

fuzz_target!(
    // Loading the numbering-plan database takes seconds under the sanitizer, once per process
    // (the server pays it once too): not a slow input.
    init: {
        let _ = PhoneNumber::parse("+8613800138000", "CN");
    },
    |data: &[u8]| {
    if let Ok(frame) = serde_json::from_slice::<ClientFrame>(data) {
        if let ClientFrame::Send { to, .. } = &frame {
            let _ = PhoneNumber::parse(to, "CN");
        }
        let text = serde_json::to_string(&frame).expect("a frame serialises");
        let again: ClientFrame = serde_json::from_str(&text).expect("a serialised frame parses");
        assert_eq!(again, frame);
    }
    if let Ok(frame) = serde_json::from_slice::<ServerFrame>(data) {
        let _ = serde_json::to_string(&frame);
    }
});
