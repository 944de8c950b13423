//! build_deliver_request → parse_deliver_request preserves everything; SubmitReq is readable.

#![allow(clippy::unwrap_used)] // tests may unwrap (workspace policy)

use proptest::prelude::*;
use ringbook_mm7::*;

fn builder(attachments: Vec<OutgoingAttachment>) -> DeliverReqBuilder {
    DeliverReqBuilder {
        from: "+8613800138000".into(),
        to: vec!["10658888".into()],
        subject: Some("头像 <& 签名>".into()),
        transaction_id: "tx-<1>&\"2\"".into(),
        attachments,
        version: Mm7Version::new(Mm7Schema::Rel6Mm7_1_4),
        mms_relay_server_id: Some("relay".into()),
        linked_id: Some("L1".into()),
        time_stamp: Some("2024-01-01T00:00:00Z".into()),
        priority: Some(Priority::Low),
    }
}

#[test]
fn round_trip_preserves_attachments_byte_exactly() {
    let jpeg: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((0..=255u8).cycle().take(5000))
        .collect();
    let (gb, _, _) = encoding_rs::GBK.encode("签名");
    let atts = vec![
        OutgoingAttachment::new("image/jpeg", Some("头像 \"1\".jpg"), jpeg.clone()),
        OutgoingAttachment::new("text/plain; charset=gb2312", Some("sig.txt"), gb.to_vec()),
        OutgoingAttachment::new(
            "text/x-vcard",
            None,
            b"BEGIN:VCARD\r\nEND:VCARD\r\n".to_vec(),
        ),
        OutgoingAttachment::new("application/smil", Some("p.smil"), b"<smil/>".to_vec()),
        OutgoingAttachment::new("application/octet-stream", None, Vec::new()),
    ];
    let b = builder(atts.clone());
    let (ct, body) = build_deliver_request(&b);
    assert!(ct.starts_with("multipart/related;"));
    let req = parse_deliver_request(&ct, &body).unwrap();
    assert_eq!(req.transaction_id, b.transaction_id);
    assert_eq!(req.version, b.version);
    assert_eq!(req.sender_number(), Some("+8613800138000"));
    assert_eq!(req.recipients[0].address.value, "10658888");
    assert_eq!(req.recipients[0].address.kind, AddressKind::ShortCode);
    assert_eq!(req.subject, b.subject);
    assert_eq!(req.linked_id.as_deref(), Some("L1"));
    assert_eq!(req.priority, Some(Priority::Low));
    assert_eq!(req.mms_relay_server_id.as_deref(), Some("relay"));
    assert_eq!(req.attachments.len(), atts.len());
    for (got, want) in req.attachments.iter().zip(&atts) {
        assert_eq!(got.data, want.data);
        assert_eq!(&got.filename, &want.filename);
        assert!(want.content_type.starts_with(&got.content_type));
    }
    assert_eq!(
        req.attachments[0].kind(),
        AttachmentKind::Image(ImageFormat::Jpeg)
    );
    assert_eq!(req.attachments[1].text(), "签名");
    assert_eq!(req.attachments[2].kind(), AttachmentKind::VCard);
    assert_eq!(req.attachments[3].kind(), AttachmentKind::Smil);

    let rsp = build_deliver_response(&req.transaction_id, &req.version, StatusCode::Success, "");
    assert!(rsp.contains("tx-&lt;1&gt;&amp;&quot;2&quot;</mm7:TransactionID>"));
    let parsed = parse_deliver_response("text/xml", rsp.as_bytes()).unwrap();
    assert_eq!(
        parsed.transaction_id.as_deref(),
        Some(b.transaction_id.as_str())
    );
}

#[test]
fn text_only_builds_bare_envelope() {
    let mut b = builder(Vec::new());
    b.from = "+8613800138000/TYPE=PLMN".into();
    let (ct, body) = build_deliver_request(&b);
    assert!(ct.starts_with("text/xml"));
    let req = parse_deliver_request(&ct, &body).unwrap();
    assert_eq!(req.sender.kind, AddressKind::Rfc2822);
    assert_eq!(req.sender_number(), Some("+8613800138000"));
    assert!(req.attachments.is_empty());
    assert_eq!(req.content_ref, None);
}

#[test]
fn submit_request_is_well_formed() {
    for schema in [Mm7Schema::Rel5Mm7_1_0, Mm7Schema::Rel6Mm7_1_4] {
        let sb = SubmitReqBuilder {
            transaction_id: "sub-1".into(),
            version: Mm7Version::new(schema),
            vasp_id: "RB".into(),
            vas_id: "profile".into(),
            sender_address: Some("10658888".into()),
            to: vec!["+8613800138000".into()],
            service_code: Some("MM".into()),
            linked_id: Some("LNK-77".into()),
            subject: Some("Ringbook".into()),
            delivery_report: true,
            text: "请先注册 Ringbook 账号".into(),
        };
        let (ct, body) = build_submit_request(&sb);
        assert!(ct.contains("multipart/related"));
        assert!(ct.contains("start=\"<mm7-soap@ringbook>\""));
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains("<Recipients><To><Number>+8613800138000</Number></To></Recipients>"));
        assert!(text.contains("<VASPID>RB</VASPID><VASID>profile</VASID>"));
        assert!(text.contains("<Content href=\"cid:ringbook-text@ringbook\""));
        assert!(text.contains(&schema.namespace()));
        if schema == Mm7Schema::Rel5Mm7_1_0 {
            assert!(text.contains("<SenderAddress>10658888</SenderAddress>"));
        } else {
            assert!(text.contains("<SenderAddress><ShortCode>10658888</ShortCode></SenderAddress>"));
        }
        // SubmitReq is not something we accept, but the MIME and text must read back.
        let err = parse_request(&ct, &body).unwrap_err();
        assert_eq!(err, Mm7Error::UnsupportedOperation("SubmitReq".into()));
        assert_eq!(peek_transaction_id(&ct, &body).as_deref(), Some("sub-1"));
        assert!(text.contains(&base64_of("请先注册 Ringbook 账号")));
    }
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("image/jpeg".to_string()),
        Just("image/png".to_string()),
        Just("text/plain; charset=utf-8".to_string()),
        Just("text/x-vcard".to_string()),
        Just("application/octet-stream".to_string()),
        "[a-z]{1,8}/[a-z0-9.+-]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn prop_round_trip(
        atts in prop::collection::vec(
            (content_type(), prop::option::of("[^\\p{Cc}]{0,20}"), prop::collection::vec(any::<u8>(), 0..600)),
            1..6,
        ),
        tid in "[^\\p{Cc}\\s][^\\p{Cc}]{0,30}[^\\p{Cc}\\s]",
        subject in prop::option::of("[^\\p{Cc}\\s]{1,20}"),
        schema_idx in 0usize..9,
    ) {
        let schema = Mm7Schema::all().nth(schema_idx).unwrap();
        let out: Vec<_> = atts
            .iter()
            .map(|(ct, name, data)| OutgoingAttachment::new(ct, name.as_deref(), data.clone()))
            .collect();
        let mut b = builder(out);
        b.transaction_id = tid.clone();
        b.subject = subject.clone();
        b.version = Mm7Version::new(schema);
        let (ct, body) = build_deliver_request(&b);
        let req = parse_deliver_request(&ct, &body).unwrap();
        prop_assert_eq!(&req.transaction_id, &tid);
        prop_assert_eq!(&req.subject, &subject);
        prop_assert_eq!(req.version.schema, schema);
        prop_assert_eq!(req.attachments.len(), atts.len());
        for (got, (ct, name, data)) in req.attachments.iter().zip(&atts) {
            prop_assert_eq!(&got.data, data);
            prop_assert!(ct.starts_with(&got.content_type));
            let want_name = name.as_deref().filter(|n| !n.trim().is_empty()).map(str::trim);
            prop_assert_eq!(got.filename.as_deref().map(str::trim), want_name);
        }
    }

    #[test]
    fn prop_never_panics(ct in "(multipart/related; boundary=b|text/xml|multipart/mixed; boundary=\"--\")", body in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_request(&ct, &body);
        let _ = parse_response(&ct, &body);
        let _ = peek_transaction_id(&ct, &body);
    }

    #[test]
    fn prop_never_panics_mutated(idx in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let (ct, mut body) = build_deliver_request(&builder(vec![
            OutgoingAttachment::new("image/jpeg", Some("a.jpg"), vec![0xFF, 0xD8, 0xFF, 1, 2, 3]),
            OutgoingAttachment::new("text/plain", None, b"hi".to_vec()),
        ]));
        let i = idx.index(body.len());
        body[i] = byte;
        body.truncate(cut.index(body.len() + 1));
        if let Ok(Mm7Request::Deliver(d)) = parse_request(&ct, &body) {
            for a in &d.attachments {
                let _ = a.kind();
                let _ = a.text();
            }
        }
    }
}
