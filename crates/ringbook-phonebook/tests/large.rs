//! 10,000-contact files: checks correctness and prints the time (no timing assertion; run
//! `cargo run --release -p ringbook-phonebook --example bench_import` for release numbers).

use std::time::Instant;

use ringbook_phonebook::{import_bytes, SkipReason};

fn big_vcf(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:联系人 {i}\r\nN:联系人;{i};;;\r\nTEL;TYPE=HOME:010 6275 {:04}\r\nTEL;TYPE=CELL:138 {:04} {:04}\r\nEMAIL:c{i}@example.com\r\nEND:VCARD\r\n",
            i % 10_000,
            i / 10_000,
            i % 10_000
        ));
    }
    s
}

#[test]
fn ten_thousand_vcards() {
    let data = big_vcf(10_000);
    let mut calls = 0usize;
    let start = Instant::now();
    let r = import_bytes(data.as_bytes(), "CN", &mut |_, _| calls += 1).expect("import");
    eprintln!(
        "10,000 vCards imported in {:?} (debug build)",
        start.elapsed()
    );
    assert_eq!(r.contacts.len(), 10_000);
    assert!(r.skipped.is_empty());
    assert_eq!(calls, 10_001);
    assert_eq!(r.contacts[1234].mobile, "+8613800001234");
}

#[test]
fn ten_thousand_csv_rows_with_duplicates() {
    let mut data = String::from("Name,Phone 1 - Type,Phone 1 - Value\n");
    for i in 0..10_000 {
        data.push_str(&format!(
            "Person {i},Mobile,+86 139 {:04} {:04}\n",
            i / 2 / 10_000,
            (i / 2) % 10_000
        ));
    }
    let start = Instant::now();
    let r = import_bytes(data.as_bytes(), "CN", &mut |_, _| {}).expect("import");
    eprintln!(
        "10,000 CSV rows imported in {:?} (debug build)",
        start.elapsed()
    );
    assert_eq!(r.contacts.len(), 5_000);
    assert_eq!(r.skipped.len(), 5_000);
    assert!(r
        .skipped
        .iter()
        .all(|s| matches!(s.reason, SkipReason::DuplicateNumber(_))));
}
