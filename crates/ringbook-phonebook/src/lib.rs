//! Ringbook phone-book library (spec part PB): phone-number normalisation, phone-book import,
//! vCard export and the two-way sync diff. Pure: no network, no async runtime, no database;
//! the only I/O is reading a file in [`import_file`] when given a path.
//!
//! # Modules
//!
//! * [`number`] — [`normalize_mobile`]: any spelling of a mobile number → E.164 with the
//!   `phonenumber` numbering-plan metadata and a default region (PB-1). Also used by the server.
//! * [`contact`] — [`PhonebookContact`] (the IM-relevant fields, PB-7/PB-8), [`ImportReport`],
//!   [`Skipped`], [`SkipReason`], the `X-RINGBOOK-*` extension keys (PB-10).
//! * [`vcard`] — vCard 2.1/3.0/4.0 reader ([`parse_vcards`]) and writer ([`export_vcard`]).
//! * [`book`] — [`PhoneBook`]: a phone-book file kept whole, every entry's bytes beside its
//!   parsed view, edited in place so a write-back changes only what Ringbook owns (PB-9, PB-10).
//! * [`csv_import`] — Google (old and new) and Outlook CSV reader ([`parse_csv`]).
//! * [`import`] — [`import_file`] / [`import_bytes`]: BOM handling, vCard-vs-CSV sniffing,
//!   progress callback.
//! * [`sync`] — [`sync_plan`] three-way diff between the last-synced state, the phone book and
//!   the IM contacts (PB-9), [`SyncPlan::apply`] / [`apply_changes`].
//!
//! # Import rules (PB-8)
//!
//! Only entries with a valid mobile number are imported (numbering-plan type `Mobile` or
//! `FixedLineOrMobile`; a number labelled fax/pager never counts, and a `FixedLineOrMobile`
//! number explicitly labelled home/work does not either). With several mobiles the first one
//! stored in the entry is the default ([`PhonebookContact::mobile`]), the rest go to
//! `other_mobiles`. Everything else is reported in [`ImportReport::skipped`] with a
//! [`SkipReason`]; an entry whose default mobile was already imported is a
//! [`SkipReason::DuplicateNumber`].
//!
//! # Sync conflict rule (PB-9)
//!
//! Keyed by the default mobile. An edit beats a delete (nothing typed is lost). When both sides
//! edited the same contact, fields are merged one by one against the last-synced state; where
//! the same field was changed differently on both sides **the phone book wins** (it is the
//! user's primary address book); list fields merge as sets; `X-RINGBOOK-*` extensions merge key
//! by key. See [`sync`] for the full table.
// Library code must not panic on input; tests may unwrap.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod book;
pub mod contact;
pub mod csv_import;
pub mod import;
pub mod number;
pub mod sync;
pub mod vcard;

pub use book::{Entry, EntrySource, PhoneBook};
pub use contact::{
    ImportReport, PhonebookContact, SkipReason, Skipped, EXT_DEVICE, EXT_NICKNAME, EXT_PREFIX,
    EXT_SIGNATURE, EXT_STATUS, EXT_USER,
};
pub use csv_import::parse_csv;
pub use import::{import_bytes, import_file, sniff, Format, ImportError, ImportSource};
pub use number::{
    normalize_mobile, normalize_mobile_in, normalize_number, normalize_number_in, NumberError,
    NumberKind, Region,
};
pub use sync::{
    apply_changes, changed_fields, sync_plan, Change, Conflict, ConflictKind, SyncPlan,
};
pub use vcard::{export_vcard, parse_vcards, VcardVersion};
