//! export → import gives equal contacts, for both vCard versions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ringbook_phonebook::{
    export_vcard, import_bytes, import_file, PhonebookContact, VcardVersion, EXT_DEVICE,
    EXT_NICKNAME, EXT_SIGNATURE, EXT_STATUS, EXT_USER,
};

fn rich() -> PhonebookContact {
    let mut ext = BTreeMap::new();
    ext.insert(EXT_STATUS.to_string(), "online".to_string());
    ext.insert(EXT_NICKNAME.to_string(), "小明明".to_string());
    ext.insert(
        EXT_SIGNATURE.to_string(),
        "签名里有逗号,分号;反斜杠\\和换行\n第二行，而且这个签名非常非常非常非常非常非常非常长，需要折行".to_string(),
    );
    ext.insert(EXT_DEVICE.to_string(), "imei=356938035643809".to_string());
    ext.insert(EXT_USER.to_string(), "1".to_string());
    PhonebookContact {
        display_name: "陈小明".into(),
        given_name: Some("小明".into()),
        family_name: Some("陈".into()),
        nickname: Some("明明".into()),
        mobile: "+8613912345678".into(),
        other_mobiles: vec!["+8615800002222".into(), "+12015550123".into()],
        emails: vec!["chen@example.com".into(), "xm@example.cn".into()],
        org: Some("示例, Inc.".into()),
        title: Some("工程师; 组长".into()),
        note: Some("line 1\nline 2".into()),
        groups: vec!["朋友".into(), "Work, old".into()],
        uid: Some("urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1".into()),
        extensions: ext,
    }
}

fn minimal() -> PhonebookContact {
    PhonebookContact {
        display_name: "Li Lei".into(),
        mobile: "+8618612345678".into(),
        ..PhonebookContact::default()
    }
}

#[test]
fn export_import_roundtrip() {
    let contacts = vec![rich(), minimal()];
    for version in [VcardVersion::V3, VcardVersion::V4] {
        let text = export_vcard(&contacts, version);
        for line in text.split("\r\n") {
            assert!(
                line.len() <= 75,
                "{version:?}: line of {} octets: {line}",
                line.len()
            );
        }
        let report = import_bytes(text.as_bytes(), "CN", &mut |_, _| {}).expect("import");
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        assert_eq!(report.contacts, contacts, "{version:?}\n{text}");
    }
}

#[test]
fn export_shape() {
    let text = export_vcard(&[minimal()], VcardVersion::V3);
    assert_eq!(
        text,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Li Lei\r\nN:;;;;\r\nTEL;TYPE=CELL,PREF:+8618612345678\r\nEND:VCARD\r\n"
    );
    let text = export_vcard(&[rich()], VcardVersion::V4);
    assert!(text.contains("TEL;VALUE=uri;TYPE=cell;PREF=1:tel:+8613912345678\r\n"));
    assert!(text.contains("X-RINGBOOK-USER:1\r\n"));
    assert!(text.contains("X-RINGBOOK-STATUS:online\r\n"));
    assert!(text.contains("CATEGORIES:朋友,Work\\, old\r\n"));
}

#[test]
fn fixtures_survive_export_and_reimport() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in [
        "android_21.vcf",
        "iphone_30.vcf",
        "v40.vcf",
        "google.csv",
        "google_legacy.csv",
        "outlook.csv",
    ] {
        let first = import_file(&dir.join(name), "CN", &mut |_, _| {}).expect("import");
        for version in [VcardVersion::V3, VcardVersion::V4] {
            let text = export_vcard(&first.contacts, version);
            let again = import_bytes(text.as_bytes(), "CN", &mut |_, _| {}).expect("reimport");
            assert_eq!(again.contacts, first.contacts, "{name} {version:?}");
        }
    }
}
