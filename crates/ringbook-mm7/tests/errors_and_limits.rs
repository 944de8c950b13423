//! Error mapping and resource limits.

#![allow(clippy::unwrap_used)] // tests may unwrap (workspace policy)

use ringbook_mm7::*;

const NS6: &str = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4";

fn envelope(ns: &str, op: &str, inner: &str) -> String {
    format!(
        "<env:Envelope xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\"><env:Header>\
         <mm7:TransactionID xmlns:mm7=\"{ns}\">T1</mm7:TransactionID></env:Header><env:Body>\
         <{op} xmlns=\"{ns}\">{inner}</{op}></env:Body></env:Envelope>"
    )
}

const SENDER: &str = "<Sender><Number>+8613800138000</Number></Sender>";

#[test]
fn unsupported_version_is_4002() {
    let xml = envelope(
        "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-4-MM7-1-0",
        "DeliverReq",
        SENDER,
    );
    let err = parse_request("text/xml", xml.as_bytes()).unwrap_err();
    assert!(matches!(err, Mm7Error::UnsupportedVersion(_)), "{err:?}");
    assert_eq!(err.status_code().code(), 4002);
    let xml = envelope("urn:not-mm7", "DeliverReq", SENDER);
    assert_eq!(
        parse_request("text/xml", xml.as_bytes())
            .unwrap_err()
            .status_code(),
        StatusCode::UnsupportedVersion
    );
}

#[test]
fn every_supported_namespace_is_accepted() {
    for schema in Mm7Schema::all() {
        let xml = envelope(&schema.namespace(), "DeliverReq", SENDER);
        let req = parse_deliver_request("text/xml; charset=utf-8", xml.as_bytes()).unwrap();
        assert_eq!(req.version.schema, schema);
        assert_eq!(req.version.mm7_version, schema.default_mm7_version());
        assert!(req.attachments.is_empty());
    }
}

#[test]
fn unknown_operation_is_4003() {
    let xml = envelope(NS6, "CancelReq", "");
    let err = parse_request("text/xml", xml.as_bytes()).unwrap_err();
    assert_eq!(err, Mm7Error::UnsupportedOperation("CancelReq".into()));
    assert_eq!(err.status_code(), StatusCode::UnsupportedOperation);
}

#[test]
fn missing_sender_is_4004() {
    let xml = envelope(NS6, "DeliverReq", "<MM7Version>6.8.0</MM7Version>");
    let err = parse_request("text/xml", xml.as_bytes()).unwrap_err();
    assert_eq!(err, Mm7Error::MissingElement("Sender"));
    assert_eq!(err.status_code().code(), 4004);
}

#[test]
fn not_soap_and_bad_content_type() {
    let err = parse_request("text/xml", b"<a/>").unwrap_err();
    assert_eq!(err.status_code().code(), 2007);
    let err = parse_request("image/jpeg", b"\xff\xd8").unwrap_err();
    assert!(matches!(err, Mm7Error::UnsupportedContentType(_)));
    let err = parse_request("multipart/related", b"--x\r\n").unwrap_err();
    assert!(matches!(err, Mm7Error::Multipart(_)));
    let err = parse_request("multipart/related; boundary=zz", b"no boundary here").unwrap_err();
    assert_eq!(err.status_code(), StatusCode::MessageFormatCorrupt);
}

#[test]
fn dangling_content_reference_without_parts() {
    let xml = envelope(
        NS6,
        "DeliverReq",
        &format!("{SENDER}<Content href=\"cid:gone\"/>"),
    );
    let err = parse_request("text/xml", xml.as_bytes()).unwrap_err();
    assert_eq!(err, Mm7Error::ContentNotFound("gone".into()));
}

#[test]
fn bad_base64_is_2007() {
    let xml = envelope(
        NS6,
        "DeliverReq",
        &format!("{SENDER}<Content href=\"cid:a\"/>"),
    );
    let body = format!(
        "--b\r\nContent-Type: text/xml\r\n\r\n{xml}\r\n--b\r\nContent-Type: image/jpeg\r\n\
         Content-ID: <a>\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--b--\r\n"
    );
    let err = parse_request("multipart/related; boundary=b", body.as_bytes()).unwrap_err();
    assert!(matches!(err, Mm7Error::TransferEncoding(_)));
    assert_eq!(err.status_code().code(), 2007);
}

fn nested(depth: usize) -> String {
    // Builds `depth` levels of multipart (the HTTP body being level 1).
    let mut inner = "Content-Type: text/plain\r\n\r\nhello".to_string();
    for level in (2..=depth).rev() {
        inner = format!(
            "Content-Type: multipart/mixed; boundary=L{level}\r\n\r\n--L{level}\r\n{inner}\r\n--L{level}--"
        );
    }
    let xml = envelope(
        NS6,
        "DeliverReq",
        &format!("{SENDER}<Content href=\"cid:c\"/>"),
    );
    let inner = inner.replacen("\r\n\r\n", "\r\nContent-ID: <c>\r\n\r\n", 1);
    format!("--L1\r\nContent-Type: text/xml\r\n\r\n{xml}\r\n--L1\r\n{inner}\r\n--L1--\r\n")
}

#[test]
fn nesting_depth_limit() {
    let ok = nested(MAX_MULTIPART_DEPTH);
    let req = parse_deliver_request("multipart/related; boundary=L1", ok.as_bytes()).unwrap();
    assert_eq!(req.attachments.len(), 1);
    assert_eq!(req.attachments[0].data, b"hello");
    let too_deep = nested(MAX_MULTIPART_DEPTH + 1);
    let err = parse_request("multipart/related; boundary=L1", too_deep.as_bytes()).unwrap_err();
    assert_eq!(err, Mm7Error::NestingTooDeep(MAX_MULTIPART_DEPTH));
}

fn many(n: usize, nested: bool) -> String {
    let xml = envelope(
        NS6,
        "DeliverReq",
        &format!("{SENDER}<Content href=\"cid:c\"/>"),
    );
    let mut parts = String::new();
    for i in 0..n {
        parts.push_str(&format!(
            "--P\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
        ));
    }
    parts.push_str("--P--");
    if nested {
        format!(
            "--O\r\nContent-Type: text/xml\r\n\r\n{xml}\r\n--O\r\nContent-Type: multipart/mixed; \
             boundary=P\r\nContent-ID: <c>\r\n\r\n{parts}\r\n--O--\r\n"
        )
    } else {
        let flat = parts.replace("--P", "--O");
        format!("--O\r\nContent-Type: text/xml\r\n\r\n{xml}\r\n{flat}\r\n")
    }
}

#[test]
fn attachment_count_limit() {
    for nested in [false, true] {
        let ok = many(MAX_ATTACHMENTS, nested);
        let req = parse_deliver_request("multipart/related; boundary=O", ok.as_bytes()).unwrap();
        assert_eq!(req.attachments.len(), MAX_ATTACHMENTS);
        let over = many(MAX_ATTACHMENTS + 1, nested);
        let err = parse_request("multipart/related; boundary=O", over.as_bytes()).unwrap_err();
        assert_eq!(err, Mm7Error::TooManyAttachments(MAX_ATTACHMENTS));
        assert_eq!(err.status_code().code(), 2004);
    }
}

#[test]
fn fault_builder() {
    let err = Mm7Error::MissingTransactionId;
    let v = Mm7Version::new(Mm7Schema::Rel5Mm7_1_0);
    let xml = build_fault(None, Some(&v), err.status_code(), &err.to_string());
    assert!(!xml.contains("</mm7:TransactionID>"));
    assert!(xml.contains("<faultcode>env:Client</faultcode>"));
    let r = parse_response("text/xml", xml.as_bytes()).unwrap();
    assert_eq!(r.kind, ResponseKind::VaspErrorRsp);
    assert_eq!(r.status_code, 4004);
    assert_eq!(r.version.as_ref(), Some(&v));
    let xml = build_fault(Some("t<1>"), None, StatusCode::ServiceUnavailable, "");
    let r = parse_response("text/xml", xml.as_bytes()).unwrap();
    assert_eq!(r.transaction_id.as_deref(), Some("t<1>"));
    assert_eq!(r.fault.map(|f| f.code), Some("env:Server".to_string()));
}

#[test]
fn status_codes_round_trip() {
    let all: Vec<_> = StatusCode::all().collect();
    assert_eq!(all.len(), 22);
    for s in all {
        assert_eq!(StatusCode::from_code(s.code()), Some(s));
        assert!(!s.default_text().is_empty());
    }
    assert_eq!(StatusCode::MessageFormatCorrupt.code(), 2007);
    assert_eq!(StatusCode::ServiceDenied.code(), 4007);
    assert_eq!(StatusCode::from_code(1234), None);
}
