//! A phone book a user uploads (vCard 2.1/3.0/4.0 or Google/Outlook CSV, with or without BOM),
//! and vCards an MMS carries: import, then export what was imported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringbook_phonebook::{
    export_vcard, import_bytes, parse_csv, parse_vcards, Region, VcardVersion,
};

fuzz_target!(
    // Loading the numbering-plan database takes seconds under the sanitizer, once per process
    // (the server pays it once too): not a slow input.
    init: {
        let _ = ringbook_phonebook::normalize_mobile("+8613800138000", "CN");
    },
    |data: &[u8]| {
    let Ok(region) = Region::parse("CN") else { return };
    let mut progress = |done: usize, total: usize| assert!(done <= total, "{done} > {total}");
    if let Ok(report) = import_bytes(data, "CN", &mut progress) {
        // Exported cards read back as the same numbers (escaping holds).
        for version in [VcardVersion::V3, VcardVersion::V4] {
            let card = export_vcard(&report.contacts, version);
            let again = parse_vcards(card.as_bytes(), region, &mut |_, _| {});
            let numbers = |c: &[ringbook_phonebook::PhonebookContact]| {
                c.iter().map(|c| c.mobile.clone()).collect::<Vec<_>>()
            };
            assert_eq!(numbers(&again.contacts), numbers(&report.contacts));
        }
    }
    // The parsers directly too, whatever the sniffing says.
    let _ = parse_vcards(data, region, &mut |_, _| {});
    let _ = parse_csv(data, region, &mut |_, _| {});
});
