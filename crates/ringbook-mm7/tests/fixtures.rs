//! Realistic MMSC samples (see tests/fixtures/make_fixtures.py): spec MM-1/MM-2.

#![allow(clippy::unwrap_used)] // tests may unwrap (workspace policy)

use ringbook_mm7::*;

/// Load a fixture: Content-Type line, blank line, body bytes.
fn fixture(name: &str) -> (String, Vec<u8>) {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap();
    let split = raw.windows(2).position(|w| w == b"\n\n").unwrap();
    let ct = String::from_utf8(raw[..split].to_vec()).unwrap();
    (ct, raw[split + 2..].to_vec())
}

fn avatar() -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/avatar.jpg",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn mm1_rel5_nokia_flat_binary_jpeg() {
    let (ct, body) = fixture("rel5_nokia_flat_binary.mm7");
    let req = parse_deliver_request(&ct, &body).unwrap();
    assert_eq!(req.transaction_id, "NOK-0001-abc");
    assert_eq!(req.version.schema, Mm7Schema::Rel5Mm7_1_0);
    assert_eq!(req.version.mm7_version, "5.3.0");
    assert_eq!(req.sender.kind, AddressKind::Rfc2822);
    assert_eq!(req.sender.raw, "+8613800138000/TYPE=PLMN");
    assert_eq!(req.sender_number(), Some("+8613800138000"));
    assert_eq!(req.recipients.len(), 1);
    assert_eq!(req.recipients[0].kind, RecipientKind::To);
    assert_eq!(req.recipients[0].address.kind, AddressKind::ShortCode);
    assert_eq!(req.recipients[0].address.value, "10658888");
    assert_eq!(req.linked_id.as_deref(), Some("LNK-77"));
    assert_eq!(req.mms_relay_server_id.as_deref(), Some("mmsc.example.net"));
    assert_eq!(req.subject.as_deref(), Some("My profile"));
    assert_eq!(req.priority, Some(Priority::Normal));
    assert_eq!(req.time_stamp.as_deref(), Some("2007-05-01T12:00:00+08:00"));
    assert_eq!(req.content_ref.as_deref(), Some("smil@nokia"));

    let kinds: Vec<_> = req.attachments.iter().map(Attachment::kind).collect();
    assert_eq!(
        kinds,
        vec![
            AttachmentKind::Smil,
            AttachmentKind::Text,
            AttachmentKind::Image(ImageFormat::Jpeg)
        ]
    );
    assert_eq!(req.attachments[1].text(), "签名：天天向上");
    assert_eq!(
        req.attachments[1].content_location.as_deref(),
        Some("sig.txt")
    );
    let img = &req.attachments[2];
    assert_eq!(img.data, avatar(), "binary JPEG must survive byte-exactly");
    assert_eq!(img.content_id.as_deref(), Some("img@nokia"));
    assert_eq!(img.name(), Some("avatar.jpg"));
}

#[test]
fn mm1_rel6_nested_multipart_mixed_base64() {
    let (ct, body) = fixture("rel6_huawei_nested_base64.mm7");
    let req = parse_deliver_request(&ct, &body).unwrap();
    assert_eq!(req.transaction_id, "HW-20070501-0042");
    assert_eq!(req.version.schema, Mm7Schema::Rel6Mm7_1_4);
    assert_eq!(req.sender.kind, AddressKind::Number);
    assert_eq!(req.sender_number(), Some("+8613900139000"));
    assert_eq!(req.vasp_id.as_deref(), Some("RB"));
    assert_eq!(req.vas_id.as_deref(), Some("profile"));
    assert_eq!(req.recipients.len(), 2);
    assert_eq!(req.recipients[1].kind, RecipientKind::Cc);
    assert_eq!(req.recipients[1].address.value, "friend@example.com");
    assert_eq!(req.subject.as_deref(), Some("头像 & 签名"));
    assert_eq!(req.priority, Some(Priority::High));
    assert_eq!(req.content_ref.as_deref(), Some("content@huawei"));
    assert_eq!(req.attachments.len(), 2);

    let img = &req.attachments[0];
    assert_eq!(img.content_type, "application/octet-stream");
    assert_eq!(
        img.kind(),
        AttachmentKind::Image(ImageFormat::Jpeg),
        "sniffed"
    );
    assert_eq!(
        img.filename.as_deref(),
        Some("头像.jpg"),
        "RFC 2047 GB2312 name"
    );
    assert_eq!(img.content_location.as_deref(), Some("头像.jpg"));
    assert_eq!(img.data, avatar());

    let txt = &req.attachments[1];
    assert_eq!(txt.charset.as_deref(), Some("gb2312"));
    assert_eq!(txt.filename.as_deref(), Some("sig.txt"));
    assert_eq!(txt.kind(), AttachmentKind::Text);
    assert_eq!(txt.text(), "个性签名：你好世界");
}

#[test]
fn mm2_text_only_gb2312() {
    let (ct, body) = fixture("rel6_text_only_gb2312.mm7");
    let req = parse_deliver_request(&ct, &body).unwrap();
    assert_eq!(req.transaction_id, "60567875009767375926");
    assert_eq!(req.version.schema, Mm7Schema::Rel6Mm7_1_0);
    assert_eq!(req.version.mm7_version, "6.3.0");
    assert_eq!(req.sender_number(), Some("13800138000"));
    assert_eq!(req.subject.as_deref(), Some("更新签名"), "GB2312 SOAP part");
    assert_eq!(req.attachments.len(), 1);
    let t = &req.attachments[0];
    assert_eq!(t.kind(), AttachmentKind::Text);
    assert_eq!(t.text(), "今天心情不错");
    assert!(!req
        .attachments
        .iter()
        .any(|a| matches!(a.kind(), AttachmentKind::Image(_))));
}

#[test]
fn vcard_bare_lf_no_start() {
    let (ct, body) = fixture("rel5_vcard_lf.mm7");
    let req = parse_deliver_request(&ct, &body).unwrap();
    assert_eq!(req.transaction_id, "ERI-5566");
    assert_eq!(req.version.schema, Mm7Schema::Rel5Mm7_1_2);
    assert_eq!(req.attachments.len(), 1);
    let v = &req.attachments[0];
    assert_eq!(v.content_type, "text/x-vcard");
    assert_eq!(v.kind(), AttachmentKind::VCard);
    assert_eq!(v.filename.as_deref(), Some("lilei.vcf"));
    assert!(v.text().starts_with("BEGIN:VCARD\r\nVERSION:2.1"));
    assert!(v.text().ends_with("END:VCARD\r\n"));
}

#[test]
fn quoted_printable_text() {
    let (ct, body) = fixture("rel5_quoted_printable.mm7");
    let req = parse_deliver_request(&ct, &body).unwrap();
    assert_eq!(req.version.schema, Mm7Schema::Rel5Mm7_1_3);
    assert_eq!(req.attachments.len(), 1);
    assert_eq!(req.attachments[0].text(), "签名：你好 a=b softbreak");
}

#[test]
fn missing_transaction_id_is_validation_error() {
    let (ct, body) = fixture("missing_transaction_id.mm7");
    let err = parse_request(&ct, &body).unwrap_err();
    assert_eq!(err, Mm7Error::MissingTransactionId);
    assert_eq!(err.status_code(), StatusCode::ValidationError);
    assert_eq!(peek_transaction_id(&ct, &body), None);
}

#[test]
fn bad_xml_is_2007() {
    let (ct, body) = fixture("bad_xml.mm7");
    let err = parse_request(&ct, &body).unwrap_err();
    assert!(matches!(err, Mm7Error::Xml(_)), "{err:?}");
    assert_eq!(err.status_code().code(), 2007);
}

#[test]
fn delivery_report_parsed_and_acknowledged() {
    let (ct, body) = fixture("delivery_report_gb2312.mm7");
    let Mm7Request::DeliveryReport(dr) = parse_request(&ct, &body).unwrap() else {
        panic!("expected a delivery report");
    };
    assert_eq!(dr.transaction_id, "DR-123456");
    assert_eq!(dr.message_id, "0501120000902500000123");
    assert_eq!(dr.mm_status.as_deref(), Some("Retrieved"));
    assert_eq!(dr.status_text.as_deref(), Some("已接收"));
    assert_eq!(
        dr.recipient.as_ref().and_then(Address::number),
        Some("13800138000")
    );
    assert_eq!(dr.date.as_deref(), Some("2007-05-01T12:01:00+08:00"));
    assert!(matches!(
        parse_deliver_request(&ct, &body),
        Err(Mm7Error::UnexpectedKind { .. })
    ));

    let rsp =
        build_delivery_report_response(&dr.transaction_id, &dr.version, StatusCode::Success, "");
    assert!(rsp.contains("<DeliveryReportRsp xmlns=\"http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-0\">"));
    assert!(rsp.contains("env:mustUnderstand=\"1\">DR-123456</mm7:TransactionID>"));
    assert!(rsp.contains("<MM7Version>6.3.0</MM7Version>"));
    assert!(rsp.contains("<StatusCode>1000</StatusCode>"));
}

#[test]
fn read_reply_parsed() {
    let (ct, body) = fixture("read_reply.mm7");
    let req = parse_request(&ct, &body).unwrap();
    let Mm7Request::ReadReply(rr) = &req else {
        panic!("expected a read reply");
    };
    assert_eq!(rr.message_id, "msg-42");
    assert_eq!(rr.mm_status.as_deref(), Some("Read"));
    assert_eq!(
        rr.sender.as_ref().map(|a| a.kind),
        Some(AddressKind::ShortCode)
    );
    let rsp = req.build_response(StatusCode::Success, "ok");
    assert!(rsp.contains("<ReadReplyRsp "));
    assert!(rsp.contains(">RR-9</mm7:TransactionID>"));
}

#[test]
fn deliver_response_echoes_transaction_id_and_namespace() {
    for name in [
        "rel5_nokia_flat_binary.mm7",
        "rel6_huawei_nested_base64.mm7",
        "rel6_text_only_gb2312.mm7",
        "rel5_vcard_lf.mm7",
    ] {
        let (ct, body) = fixture(name);
        let req = parse_request(&ct, &body).unwrap();
        let xml = req.build_response(StatusCode::Success, "");
        let ns = req.version().schema.namespace();
        assert!(xml.contains(&format!(
            "<mm7:TransactionID xmlns:mm7=\"{ns}\" env:mustUnderstand=\"1\">{}</mm7:TransactionID>",
            req.transaction_id()
        )));
        assert!(xml.contains(&format!("<DeliverRsp xmlns=\"{ns}\">")));
        // And our own client-side parser reads it back.
        let rsp = parse_deliver_response(RESPONSE_CONTENT_TYPE, xml.as_bytes()).unwrap();
        assert_eq!(rsp.transaction_id.as_deref(), Some(req.transaction_id()));
        assert_eq!(rsp.status(), Some(StatusCode::Success));
        assert_eq!(rsp.version.as_ref(), Some(req.version()));
        assert!(rsp.is_success());
        assert_eq!(
            peek_transaction_id(&ct, &body).as_deref(),
            Some(req.transaction_id())
        );
    }
}

#[test]
fn submit_rsp_and_fault_parsed() {
    let (ct, body) = fixture("submit_rsp.mm7");
    let r = parse_submit_response(&ct, &body).unwrap();
    assert_eq!(r.kind, ResponseKind::SubmitRsp);
    assert_eq!(r.message_id.as_deref(), Some("MMSC-MSG-1"));
    assert!(r.is_success());
    assert!(matches!(
        parse_deliver_response(&ct, &body),
        Err(Mm7Error::UnexpectedKind { .. })
    ));

    let (ct, body) = fixture("rs_error_fault.mm7");
    let r = parse_submit_response(&ct, &body).unwrap();
    assert_eq!(r.kind, ResponseKind::RsErrorRsp);
    assert_eq!(r.status(), Some(StatusCode::AddressError));
    assert_eq!(r.status_text.as_deref(), Some("SUBS is ported"));
    assert_eq!(r.transaction_id.as_deref(), Some("SUB-2"));
    assert_eq!(
        r.fault.as_ref().map(|f| f.code.as_str()),
        Some("env:Client")
    );
    assert!(!r.is_success());
}
