//! Times the import of a generated 10,000-contact vCard file and CSV file.
//!
//! `cargo run --release -p ringbook-phonebook --example bench_import`

use std::time::Instant;

use ringbook_phonebook::{export_vcard, import_bytes, VcardVersion};

fn main() {
    let n = 10_000;
    let mut vcf = String::new();
    let mut csv =
        String::from("Name,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value\n");
    for i in 0..n {
        vcf.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;{i};;;\r\nTEL;HOME:010 6275 {:04}\r\nTEL;CELL;PREF:138 {:04} {:04}\r\nEMAIL:c{i}@example.com\r\nEND:VCARD\r\n",
            i % 10_000,
            i / 10_000,
            i % 10_000
        ));
        csv.push_str(&format!(
            "Person {i},Work,010 6275 {:04},Mobile,+86 139 {:04} {:04}\n",
            i % 10_000,
            i / 10_000,
            i % 10_000
        ));
    }
    let mut last = (0, 0);
    let t = Instant::now();
    let r = match import_bytes(vcf.as_bytes(), "CN", &mut |d, total| last = (d, total)) {
        Ok(r) => r,
        Err(e) => return eprintln!("vCard import failed: {e}"),
    };
    println!(
        "vCard: {} contacts, {} skipped, progress {:?}, {:?}",
        r.contacts.len(),
        r.skipped.len(),
        last,
        t.elapsed()
    );
    let t = Instant::now();
    let r2 = match import_bytes(csv.as_bytes(), "CN", &mut |_, _| {}) {
        Ok(r) => r,
        Err(e) => return eprintln!("CSV import failed: {e}"),
    };
    println!(
        "CSV:   {} contacts, {} skipped, {:?}",
        r2.contacts.len(),
        r2.skipped.len(),
        t.elapsed()
    );
    let t = Instant::now();
    let out = export_vcard(&r.contacts, VcardVersion::V3);
    println!("export: {} bytes, {:?}", out.len(), t.elapsed());
}
