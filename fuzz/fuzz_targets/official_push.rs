//! The official-account push format (OA-3): the `<xml>` documents a developer's server answers
//! the platform with (passive replies) and the platform pushes to a third party
//! (crates/ringbook-thirdparty reads them with this same `parse`, then three fields with
//! `str::parse`). Also: whatever values the platform encodes, the receiver reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringbook_proto::official::push;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let doc = String::from_utf8_lossy(data);
    if let Ok(fields) = push::parse(&doc) {
        // The third party's reading of a push (ringbook_thirdparty::store::Received::from_push).
        let _ = fields.get("MsgId").map(|v| v.trim().parse::<i64>());
        let _ = fields.get("CreateTime").map(|v| v.trim().parse::<i64>());
    }

    // Round trip: the input split on NUL gives the values of a push.
    const NAMES: [&str; 6] = [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Content",
        "MsgId",
    ];
    let elements: Vec<(&str, String)> = NAMES
        .iter()
        .zip(doc.split('\0'))
        .map(|(name, value)| (*name, value.to_string()))
        .collect();
    let encoded = push::encode(&elements);
    let decoded = push::parse(&encoded).expect("an encoded push parses");
    let expected: BTreeMap<String, String> = elements
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    assert_eq!(decoded, expected, "{encoded}");
});
