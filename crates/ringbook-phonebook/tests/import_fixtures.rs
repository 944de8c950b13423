//! Imports the realistic exports under tests/fixtures and checks numbers, default mobile
//! choice and skip reasons.

use std::path::PathBuf;

use ringbook_phonebook::{
    import_file, ImportReport, PhonebookContact, SkipReason, EXT_DEVICE, EXT_SIGNATURE, EXT_STATUS,
    EXT_USER,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn import(name: &str) -> ImportReport {
    let mut last = (0, 0);
    let report = import_file(&fixture(name), "CN", &mut |d, t| last = (d, t))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(last.0, last.1, "progress must end at total");
    assert_eq!(
        last.1,
        report.contacts.len() + report.skipped.len(),
        "every entry is either imported or skipped"
    );
    report
}

fn find<'a>(r: &'a ImportReport, name: &str) -> &'a PhonebookContact {
    r.contacts
        .iter()
        .find(|c| c.display_name == name)
        .unwrap_or_else(|| panic!("{name} not imported: {r:#?}"))
}

fn skipped(r: &ImportReport) -> Vec<(usize, Option<&str>, SkipReason)> {
    r.skipped
        .iter()
        .map(|s| (s.index, s.name.as_deref(), s.reason.clone()))
        .collect()
}

#[test]
fn android_21_quoted_printable() {
    let r = import("android_21.vcf");
    let names: Vec<&str> = r.contacts.iter().map(|c| c.display_name.as_str()).collect();
    assert_eq!(names, vec!["张三", "欧阳娜娜", "赵六"]);

    let zhang = find(&r, "张三");
    assert_eq!(zhang.family_name.as_deref(), Some("张"));
    assert_eq!(zhang.given_name.as_deref(), Some("三"));
    // The home fixed line comes first but is not a mobile; the first stored mobile is default.
    assert_eq!(zhang.mobile, "+8613800138000");
    assert_eq!(zhang.other_mobiles, vec!["+8613900000001".to_string()]);
    assert_eq!(zhang.emails, vec!["zhangsan@example.com".to_string()]);

    let ouyang = find(&r, "欧阳娜娜");
    assert_eq!(ouyang.family_name.as_deref(), Some("欧阳"));
    // PB-8: first stored mobile is the default even though the second carries PREF.
    assert_eq!(ouyang.mobile, "+8613600000003");
    assert_eq!(ouyang.other_mobiles, vec!["+8613500000004".to_string()]);
    assert_eq!(
        ouyang.note.as_deref(),
        Some("她的电话很多，请优先打手机。第二行备注内容比较长，所以会被折行处理。")
    );

    let zhao = find(&r, "赵六"); // CHARSET=GBK
    assert_eq!(zhao.family_name.as_deref(), Some("赵"));
    assert_eq!(zhao.mobile, "+8618612345678");

    assert_eq!(
        skipped(&r),
        vec![
            (2, Some("李四"), SkipReason::NoMobileNumber),
            (3, Some("王五"), SkipReason::NoPhoneNumber),
            (
                4,
                Some("Tom Typo"),
                SkipReason::InvalidNumber("12345".into())
            ),
            (
                5,
                Some("张三（工作）"),
                SkipReason::DuplicateNumber("+8613800138000".into())
            ),
        ]
    );
}

#[test]
fn iphone_30_grouped_labels_and_photo() {
    let r = import("iphone_30.vcf");
    let john = find(&r, "John Appleseed");
    // The US "HOME" number is FixedLineOrMobile but labelled home: not a mobile.
    // item2 (X-ABLabel Mobile) is the first stored mobile; item3 is a CN fixed line.
    assert_eq!(john.mobile, "+8613800138001");
    assert_eq!(john.other_mobiles, vec!["+8618612345679".to_string()]);
    assert_eq!(john.emails, vec!["john@example.com".to_string()]);
    assert_eq!(john.org.as_deref(), Some("Apple Inc."));
    assert_eq!(john.title.as_deref(), Some("Engineer"));
    assert_eq!(john.note.as_deref(), Some("Met at WWDC, 2019\nLikes tea"));

    let chen = find(&r, "陈小明");
    assert_eq!(chen.nickname.as_deref(), Some("明明"));
    // item2 is labelled HomeFAX and never counts; item3 "Main" is a CN mobile by the plan.
    assert_eq!(chen.mobile, "+8613912345678");
    assert_eq!(chen.other_mobiles, vec!["+8615800002222".to_string()]);

    // A US number stored without +1 is read in the default region CN, where it is a valid
    // fixed line (area code 415): not a mobile.
    assert_eq!(
        skipped(&r),
        vec![(2, Some("Bob Builder"), SkipReason::NoMobileNumber)]
    );
}

#[test]
fn vcard_40_uri_tel_and_extensions() {
    let r = import("v40.vcf");
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    let wang = find(&r, "王芳");
    assert_eq!(
        wang.uid.as_deref(),
        Some("urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1")
    );
    assert_eq!(wang.mobile, "+8615012345678");
    assert_eq!(wang.other_mobiles, vec!["+8615100009999".to_string()]);
    assert_eq!(wang.nickname.as_deref(), Some("芳芳"));
    assert_eq!(wang.org.as_deref(), Some("北京示例科技有限公司"));
    assert_eq!(wang.groups, vec!["同事".to_string(), "朋友".to_string()]);
    assert_eq!(
        wang.extensions.get(EXT_STATUS).map(String::as_str),
        Some("busy")
    );
    assert_eq!(wang.extensions.get(EXT_USER).map(String::as_str), Some("1"));
    assert_eq!(
        wang.extensions.get(EXT_SIGNATURE).map(String::as_str),
        Some("今天也要加油, 好好工作")
    );
    assert_eq!(
        wang.extensions.get(EXT_DEVICE).map(String::as_str),
        Some("imei=356938035643809;iccid=8986001234567890123")
    );
    let maria = find(&r, "Maria Garcia");
    assert_eq!(maria.mobile, "+34612345678");
    assert_eq!(
        maria.note.as_deref(),
        Some("This note is long enough that the exporting application folded it over two lines with a tab.")
    );
}

#[test]
fn google_csv() {
    let r = import("google.csv");
    let zhang = find(&r, "张三");
    assert_eq!(zhang.given_name.as_deref(), Some("三"));
    assert_eq!(zhang.family_name.as_deref(), Some("张"));
    assert_eq!(zhang.nickname.as_deref(), Some("小张"));
    assert_eq!(zhang.mobile, "+8613800138000");
    assert_eq!(zhang.other_mobiles, vec!["+8613900000001".to_string()]);
    assert_eq!(zhang.org.as_deref(), Some("示例公司"));
    assert_eq!(zhang.title.as_deref(), Some("工程师"));
    assert_eq!(zhang.note.as_deref(), Some("多行备注\n第二行"));
    assert_eq!(zhang.groups, vec!["同事".to_string()]);
    assert_eq!(zhang.emails, vec!["zhangsan@example.com".to_string()]);

    let li = find(&r, "Li Lei");
    assert_eq!(li.mobile, "+8618612345678");
    assert!(li.other_mobiles.is_empty(), "same number twice in one cell");
    assert!(li.groups.is_empty());

    assert_eq!(
        skipped(&r),
        vec![
            (2, Some("Fixed Only"), SkipReason::NoMobileNumber),
            (3, Some("No Phone"), SkipReason::NoPhoneNumber),
            (
                4,
                Some("Bad Number"),
                SkipReason::InvalidNumber("1380013".into())
            ),
        ]
    );
}

#[test]
fn google_legacy_csv() {
    let r = import("google_legacy.csv");
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    let wang = find(&r, "王芳");
    assert_eq!(wang.mobile, "+8615012345678");
    assert_eq!(wang.org.as_deref(), Some("北京示例科技有限公司"));
    assert_eq!(wang.title.as_deref(), Some("产品经理"));
    assert_eq!(wang.groups, vec!["Family".to_string()]);
    assert_eq!(find(&r, "John Smith").mobile, "+12015550123");
}

#[test]
fn outlook_csv() {
    let r = import("outlook.csv");
    let liu = find(&r, "Wei Liu");
    // Outlook's dedicated "Mobile Phone" slot is the default, the mobile in "Home Phone" follows.
    assert_eq!(liu.mobile, "+8613800138000");
    assert_eq!(liu.other_mobiles, vec!["+8613900000003".to_string()]);
    assert_eq!(liu.title.as_deref(), Some("Sales Director"));
    assert_eq!(liu.org.as_deref(), Some("Contoso China"));
    assert_eq!(liu.note.as_deref(), Some("Key account"));
    assert_eq!(liu.groups, vec!["VIP".to_string(), "Customers".to_string()]);
    assert_eq!(
        skipped(&r),
        vec![(1, Some("Fang Zhou"), SkipReason::NoMobileNumber)]
    );
}
