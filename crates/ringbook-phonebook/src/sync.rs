//! Two-way phone book ↔ IM contacts sync diff (PB-9).
//!
//! [`sync_plan`] is a three-way diff: `base` is the contact list as it was at the last
//! successful sync (both sides were equal then), `phonebook` is the phone book now, `im` is the
//! IM contact list now. Contacts are keyed by their default mobile number
//! ([`PhonebookContact::mobile`], E.164); changing a contact's default mobile is therefore seen
//! as a delete of the old key plus an add of the new one.
//!
//! # Rules, per key
//!
//! | base | phone book | IM   | result |
//! |------|------------|------|--------|
//! | –    | P          | –    | `to_im: Add(P)` |
//! | –    | –          | I    | `to_phonebook: Add(I)` |
//! | –    | P          | I    | equal: nothing; else field-wise merge M (a *BothAdded* conflict if a field clashes), `Update(M)` to each side that differs from M |
//! | B    | –          | –    | deleted on both sides: nothing |
//! | B    | P = B      | –    | deleted in IM: `to_phonebook: Delete` |
//! | B    | P ≠ B      | –    | deleted in IM but edited in the phone book: **the edit wins**, `to_im: Add(P)` + conflict |
//! | B    | –          | I = B| deleted in the phone book: `to_im: Delete` |
//! | B    | –          | I ≠ B| deleted in the phone book but edited in IM: **the edit wins**, `to_phonebook: Add(I)` + conflict |
//! | B    | P          | I    | one side changed: `Update` the other; both changed: field-wise three-way merge M |
//!
//! # Conflict rule
//!
//! * **Edit beats delete**: nothing the user typed is lost; deleting again is one tap.
//! * **Both sides edited**: fields are merged one by one against `base`. A field changed on only
//!   one side takes that side's value. Where the *same* field was changed to different values
//!   on both sides, **the phone book wins**: it is the user's primary address book (PB-8 imports
//!   from it; the IM list is derived from it), and IM-specific data normally lives in
//!   `X-RINGBOOK-*` extensions (PB-10), which are merged key by key and so rarely clash.
//! * List fields (`other_mobiles`, `emails`, `groups`) are merged as sets: an item removed on
//!   either side is removed, an item added on either side is added; they never conflict.
//! * Without a base (added on both sides independently) an empty field never clashes with a
//!   filled one; the filled one is taken.
//!
//! Every resolved clash is reported in [`SyncPlan::conflicts`] (for a log or a UI notice); the
//! changes already carry the resolution, so applying the plan needs no further decisions.
//! After [`SyncPlan::apply`] both sides hold the same contacts, which become the next `base`.
//!
//! If a list holds the same key twice, the first occurrence is used.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::contact::PhonebookContact;

/// One change to apply to one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Insert this contact (it is not on that side).
    Add(PhonebookContact),
    /// Replace the contact with the same default mobile by this one.
    Update(PhonebookContact),
    /// Remove the contact with this default mobile (E.164).
    Delete(String),
}

impl Change {
    /// The sync key (default mobile, E.164) the change is about.
    pub fn key(&self) -> &str {
        match self {
            Change::Add(c) | Change::Update(c) => &c.mobile,
            Change::Delete(k) => k,
        }
    }
}

/// What kind of clash was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConflictKind {
    /// Edited on both sides with different values for the same field(s); the phone book won.
    BothEdited,
    /// Added on both sides with different values for the same field(s); the phone book won.
    BothAdded,
    /// Deleted in IM but edited in the phone book; the phone-book edit was kept.
    DeletedInImEditedInPhonebook,
    /// Deleted in the phone book but edited in IM; the IM edit was kept.
    DeletedInPhonebookEditedInIm,
}

/// A clash that [`sync_plan`] resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The contact's default mobile (E.164).
    pub key: String,
    /// What happened.
    pub kind: ConflictKind,
    /// The clashing (or, for delete-vs-edit, the edited) field names, e.g. `"display_name"`,
    /// `"extensions.X-RINGBOOK-STATUS"`.
    pub fields: Vec<String>,
}

/// The result of [`sync_plan`]. Changes and conflicts are ordered by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SyncPlan {
    /// Changes to make to the IM contact list.
    pub to_im: Vec<Change>,
    /// Changes to write back to the phone book.
    pub to_phonebook: Vec<Change>,
    /// Clashes that were resolved (informational).
    pub conflicts: Vec<Conflict>,
}

impl SyncPlan {
    /// `true` when neither side needs a change.
    pub fn is_empty(&self) -> bool {
        self.to_im.is_empty() && self.to_phonebook.is_empty()
    }

    /// Applies the plan; returns `(new phone book, new IM list)`. Both hold the same contacts
    /// (by key and value) and can be stored as the next sync's `base`.
    pub fn apply(
        &self,
        phonebook: &[PhonebookContact],
        im: &[PhonebookContact],
    ) -> (Vec<PhonebookContact>, Vec<PhonebookContact>) {
        (
            apply_changes(phonebook, &self.to_phonebook),
            apply_changes(im, &self.to_im),
        )
    }
}

/// Applies changes to one side's list: updates in place (keeping order), deletes, and appends
/// additions at the end. `Add` of an existing key replaces it; `Update` of a missing key adds it.
pub fn apply_changes(list: &[PhonebookContact], changes: &[Change]) -> Vec<PhonebookContact> {
    let mut slots: Vec<Option<PhonebookContact>> = list.iter().cloned().map(Some).collect();
    let mut index: HashMap<String, usize> = HashMap::with_capacity(slots.len());
    for (i, c) in list.iter().enumerate() {
        index.entry(c.mobile.clone()).or_insert(i);
    }
    for change in changes {
        match change {
            Change::Add(c) | Change::Update(c) => match index.get(&c.mobile) {
                Some(&i) => slots[i] = Some(c.clone()),
                None => {
                    index.insert(c.mobile.clone(), slots.len());
                    slots.push(Some(c.clone()));
                }
            },
            Change::Delete(key) => {
                if let Some(i) = index.remove(key) {
                    slots[i] = None;
                }
                // Later duplicates of the key go too.
                for s in slots.iter_mut() {
                    if s.as_ref().is_some_and(|c| &c.mobile == key) {
                        *s = None;
                    }
                }
            }
        }
    }
    slots.into_iter().flatten().collect()
}

fn by_key(list: &[PhonebookContact]) -> HashMap<&str, &PhonebookContact> {
    let mut m = HashMap::with_capacity(list.len());
    for c in list {
        m.entry(c.mobile.as_str()).or_insert(c);
    }
    m
}

/// Computes the two-way sync plan (see the module docs for the rules).
pub fn sync_plan(
    base: &[PhonebookContact],
    phonebook: &[PhonebookContact],
    im: &[PhonebookContact],
) -> SyncPlan {
    let (b, p, i) = (by_key(base), by_key(phonebook), by_key(im));
    let keys: BTreeSet<&str> = b.keys().chain(p.keys()).chain(i.keys()).copied().collect();
    let mut plan = SyncPlan::default();
    for key in keys {
        match (b.get(key), p.get(key), i.get(key)) {
            (None, Some(p), None) => plan.to_im.push(Change::Add((*p).clone())),
            (None, None, Some(i)) => plan.to_phonebook.push(Change::Add((*i).clone())),
            (_, None, None) => {}
            (Some(b), Some(p), None) => {
                if p == b {
                    plan.to_phonebook.push(Change::Delete(key.to_string()));
                } else {
                    plan.to_im.push(Change::Add((*p).clone()));
                    plan.conflicts.push(Conflict {
                        key: key.to_string(),
                        kind: ConflictKind::DeletedInImEditedInPhonebook,
                        fields: changed_fields(b, p),
                    });
                }
            }
            (Some(b), None, Some(i)) => {
                if i == b {
                    plan.to_im.push(Change::Delete(key.to_string()));
                } else {
                    plan.to_phonebook.push(Change::Add((*i).clone()));
                    plan.conflicts.push(Conflict {
                        key: key.to_string(),
                        kind: ConflictKind::DeletedInPhonebookEditedInIm,
                        fields: changed_fields(b, i),
                    });
                }
            }
            (base, Some(p), Some(i)) => {
                if p == i {
                    continue;
                }
                let base = base.copied();
                let mut clashes = Vec::new();
                let merged = merge(base, p, i, &mut clashes);
                if !clashes.is_empty() {
                    plan.conflicts.push(Conflict {
                        key: key.to_string(),
                        kind: if base.is_some() {
                            ConflictKind::BothEdited
                        } else {
                            ConflictKind::BothAdded
                        },
                        fields: clashes,
                    });
                }
                if merged != **p {
                    plan.to_phonebook.push(Change::Update(merged.clone()));
                }
                if merged != **i {
                    plan.to_im.push(Change::Update(merged));
                }
            }
        }
    }
    plan
}

/// Names of the fields that differ between two versions of a contact.
pub fn changed_fields(a: &PhonebookContact, b: &PhonebookContact) -> Vec<String> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($f:ident),*) => { $( if a.$f != b.$f { out.push(stringify!($f).to_string()); } )* };
    }
    cmp!(
        display_name,
        given_name,
        family_name,
        nickname,
        mobile,
        other_mobiles,
        emails,
        org,
        title,
        note,
        groups,
        uid
    );
    let keys: BTreeSet<&String> = a.extensions.keys().chain(b.extensions.keys()).collect();
    for k in keys {
        if a.extensions.get(k) != b.extensions.get(k) {
            out.push(format!("extensions.{k}"));
        }
    }
    out
}

/// Three-way merge of one scalar field; the phone book wins a clash.
fn merge_field<T: PartialEq + Clone>(
    base: Option<&T>,
    p: &T,
    i: &T,
    blank: impl Fn(&T) -> bool,
    name: &str,
    clashes: &mut Vec<String>,
) -> T {
    if p == i {
        return p.clone();
    }
    match base {
        Some(b) if p == b => return i.clone(),
        Some(b) if i == b => return p.clone(),
        Some(_) => {}
        None if blank(p) => return i.clone(),
        None if blank(i) => return p.clone(),
        None => {}
    }
    clashes.push(name.to_string());
    p.clone()
}

/// Three-way set merge of a list field, keeping the phone book's order.
fn merge_list(base: Option<&[String]>, p: &[String], i: &[String]) -> Vec<String> {
    let base = base.unwrap_or_default();
    let mut out: Vec<String> = p
        .iter()
        .filter(|x| !base.contains(x) || i.contains(x))
        .cloned()
        .collect();
    for x in i {
        if !p.contains(x) && !base.contains(x) && !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

fn merge(
    b: Option<&PhonebookContact>,
    p: &PhonebookContact,
    i: &PhonebookContact,
    clashes: &mut Vec<String>,
) -> PhonebookContact {
    let none = |o: &Option<String>| o.is_none();
    macro_rules! opt {
        ($f:ident) => {
            merge_field(
                b.map(|b| &b.$f),
                &p.$f,
                &i.$f,
                none,
                stringify!($f),
                clashes,
            )
        };
    }
    macro_rules! list {
        ($f:ident) => {
            merge_list(b.map(|b| b.$f.as_slice()), &p.$f, &i.$f)
        };
    }
    let display_name = merge_field(
        b.map(|b| &b.display_name),
        &p.display_name,
        &i.display_name,
        |s: &String| s.is_empty(),
        "display_name",
        clashes,
    );
    let given_name = opt!(given_name);
    let family_name = opt!(family_name);
    let nickname = opt!(nickname);
    let other_mobiles: Vec<String> = list!(other_mobiles)
        .into_iter()
        .filter(|m| *m != p.mobile)
        .collect();
    let emails = list!(emails);
    let org = opt!(org);
    let title = opt!(title);
    let note = opt!(note);
    let groups = list!(groups);
    let uid = opt!(uid);
    let mut extensions = BTreeMap::new();
    let keys: BTreeSet<&String> = p
        .extensions
        .keys()
        .chain(i.extensions.keys())
        .chain(b.iter().flat_map(|b| b.extensions.keys()))
        .collect();
    for k in keys {
        let base_value = b.map(|b| b.extensions.get(k));
        let v = merge_field(
            base_value.as_ref(),
            &p.extensions.get(k),
            &i.extensions.get(k),
            |o: &Option<&String>| o.is_none(),
            &format!("extensions.{k}"),
            clashes,
        );
        if let Some(v) = v {
            extensions.insert(k.clone(), v.clone());
        }
    }
    PhonebookContact {
        display_name,
        given_name,
        family_name,
        nickname,
        mobile: p.mobile.clone(),
        other_mobiles,
        emails,
        org,
        title,
        note,
        groups,
        uid,
        extensions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::EXT_STATUS;

    fn c(mobile: &str, name: &str) -> PhonebookContact {
        PhonebookContact {
            display_name: name.to_string(),
            mobile: mobile.to_string(),
            ..PhonebookContact::default()
        }
    }

    const A: &str = "+8613800138000";
    const B: &str = "+8613900000000";

    /// After applying, both sides must be equal; return them.
    fn converge(
        base: &[PhonebookContact],
        pb: &[PhonebookContact],
        im: &[PhonebookContact],
    ) -> (SyncPlan, Vec<PhonebookContact>) {
        let plan = sync_plan(base, pb, im);
        let (pb2, im2) = plan.apply(pb, im);
        let mut a = pb2.clone();
        let mut b = im2;
        a.sort_by(|x, y| x.mobile.cmp(&y.mobile));
        b.sort_by(|x, y| x.mobile.cmp(&y.mobile));
        assert_eq!(a, b, "sides did not converge for plan {plan:?}");
        // A second sync from the converged state is a no-op.
        assert!(sync_plan(&a, &a, &b).is_empty());
        (plan, a)
    }

    #[test]
    fn nothing_changed() {
        let l = vec![c(A, "a")];
        let (plan, _) = converge(&l, &l, &l);
        assert_eq!(plan, SyncPlan::default());
        assert!(sync_plan(&[], &[], &[]).is_empty());
    }

    #[test]
    fn added_in_phonebook() {
        let (plan, out) = converge(&[], &[c(A, "a")], &[]);
        assert_eq!(plan.to_im, vec![Change::Add(c(A, "a"))]);
        assert!(plan.to_phonebook.is_empty() && plan.conflicts.is_empty());
        assert_eq!(out, vec![c(A, "a")]);
    }

    #[test]
    fn added_in_im() {
        let (plan, _) = converge(&[], &[], &[c(A, "a")]);
        assert_eq!(plan.to_phonebook, vec![Change::Add(c(A, "a"))]);
        assert!(plan.to_im.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn added_on_both_sides_equal() {
        let (plan, _) = converge(&[], &[c(A, "a")], &[c(A, "a")]);
        assert!(plan.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn added_on_both_sides_different_fills_blanks_and_phonebook_wins() {
        let mut p = c(A, "Phone Name");
        p.org = Some("ACME".into());
        let mut i = c(A, "IM Name");
        i.note = Some("from IM".into());
        i.extensions.insert(EXT_STATUS.into(), "online".into());
        let (plan, out) = converge(&[], &[p], &[i]);
        let m = &out[0];
        assert_eq!(m.display_name, "Phone Name");
        assert_eq!(m.org.as_deref(), Some("ACME"));
        assert_eq!(m.note.as_deref(), Some("from IM"));
        assert_eq!(
            m.extensions.get(EXT_STATUS).map(String::as_str),
            Some("online")
        );
        assert_eq!(
            plan.conflicts,
            vec![Conflict {
                key: A.into(),
                kind: ConflictKind::BothAdded,
                fields: vec!["display_name".into()]
            }]
        );
        assert_eq!(plan.to_im.len(), 1);
        assert_eq!(plan.to_phonebook.len(), 1);
    }

    #[test]
    fn deleted_on_both_sides() {
        let (plan, out) = converge(&[c(A, "a")], &[], &[]);
        assert!(plan.is_empty() && plan.conflicts.is_empty());
        assert!(out.is_empty());
    }

    #[test]
    fn deleted_in_im() {
        let l = vec![c(A, "a"), c(B, "b")];
        let (plan, out) = converge(&l, &l, &[c(B, "b")]);
        assert_eq!(plan.to_phonebook, vec![Change::Delete(A.into())]);
        assert!(plan.to_im.is_empty());
        assert_eq!(out, vec![c(B, "b")]);
    }

    #[test]
    fn deleted_in_phonebook() {
        let l = vec![c(A, "a"), c(B, "b")];
        let (plan, _) = converge(&l, &[c(A, "a")], &l);
        assert_eq!(plan.to_im, vec![Change::Delete(B.into())]);
        assert!(plan.to_phonebook.is_empty());
    }

    #[test]
    fn deleted_in_im_but_edited_in_phonebook_keeps_edit() {
        let (plan, out) = converge(&[c(A, "a")], &[c(A, "a2")], &[]);
        assert_eq!(plan.to_im, vec![Change::Add(c(A, "a2"))]);
        assert!(plan.to_phonebook.is_empty());
        assert_eq!(
            plan.conflicts[0].kind,
            ConflictKind::DeletedInImEditedInPhonebook
        );
        assert_eq!(plan.conflicts[0].fields, vec!["display_name".to_string()]);
        assert_eq!(out, vec![c(A, "a2")]);
    }

    #[test]
    fn deleted_in_phonebook_but_edited_in_im_keeps_edit() {
        let mut i = c(A, "a");
        i.extensions.insert(EXT_STATUS.into(), "busy".into());
        let (plan, out) = converge(&[c(A, "a")], &[], &[i.clone()]);
        assert_eq!(plan.to_phonebook, vec![Change::Add(i.clone())]);
        assert!(plan.to_im.is_empty());
        assert_eq!(
            plan.conflicts[0].kind,
            ConflictKind::DeletedInPhonebookEditedInIm
        );
        assert_eq!(
            plan.conflicts[0].fields,
            vec![format!("extensions.{EXT_STATUS}")]
        );
        assert_eq!(out, vec![i]);
    }

    #[test]
    fn edited_in_phonebook_only() {
        let (plan, _) = converge(&[c(A, "a")], &[c(A, "a2")], &[c(A, "a")]);
        assert_eq!(plan.to_im, vec![Change::Update(c(A, "a2"))]);
        assert!(plan.to_phonebook.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn edited_in_im_only() {
        let (plan, _) = converge(&[c(A, "a")], &[c(A, "a")], &[c(A, "a3")]);
        assert_eq!(plan.to_phonebook, vec![Change::Update(c(A, "a3"))]);
        assert!(plan.to_im.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn both_edited_identically() {
        let (plan, _) = converge(&[c(A, "a")], &[c(A, "x")], &[c(A, "x")]);
        assert!(plan.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn both_edited_different_fields_merge_without_conflict() {
        let base = c(A, "a");
        let mut p = base.clone();
        p.title = Some("CTO".into());
        let mut i = base.clone();
        i.extensions.insert(EXT_STATUS.into(), "away".into());
        let (plan, out) = converge(&[base], &[p], &[i]);
        assert!(plan.conflicts.is_empty());
        assert_eq!(out[0].title.as_deref(), Some("CTO"));
        assert_eq!(
            out[0].extensions.get(EXT_STATUS).map(String::as_str),
            Some("away")
        );
        assert_eq!(plan.to_im.len(), 1);
        assert_eq!(plan.to_phonebook.len(), 1);
    }

    #[test]
    fn both_edited_same_field_phonebook_wins() {
        let mut base = c(A, "a");
        base.extensions.insert(EXT_STATUS.into(), "online".into());
        let mut p = base.clone();
        p.display_name = "From phone".into();
        p.extensions.insert(EXT_STATUS.into(), "busy".into());
        let mut i = base.clone();
        i.display_name = "From IM".into();
        i.extensions.remove(EXT_STATUS);
        i.note = Some("n".into());
        let (plan, out) = converge(&[base], &[p], &[i]);
        assert_eq!(out[0].display_name, "From phone");
        assert_eq!(
            out[0].extensions.get(EXT_STATUS).map(String::as_str),
            Some("busy")
        );
        assert_eq!(out[0].note.as_deref(), Some("n"));
        assert_eq!(
            plan.conflicts,
            vec![Conflict {
                key: A.into(),
                kind: ConflictKind::BothEdited,
                fields: vec!["display_name".into(), format!("extensions.{EXT_STATUS}")]
            }]
        );
    }

    #[test]
    fn cleared_field_against_edit_phonebook_wins() {
        let mut base = c(A, "a");
        base.org = Some("Old".into());
        let mut p = base.clone();
        p.org = None;
        let mut i = base.clone();
        i.org = Some("New".into());
        let (plan, out) = converge(&[base], &[p], &[i]);
        assert_eq!(out[0].org, None);
        assert_eq!(plan.conflicts[0].fields, vec!["org".to_string()]);
    }

    #[test]
    fn list_fields_merge_as_sets() {
        let mut base = c(A, "a");
        base.emails = vec!["x@e.com".into(), "y@e.com".into()];
        base.groups = vec!["Friends".into()];
        let mut p = base.clone();
        p.emails = vec!["x@e.com".into(), "z@e.com".into()]; // removed y, added z
        let mut i = base.clone();
        i.emails = vec!["y@e.com".into(), "x@e.com".into(), "w@e.com".into()]; // added w
        i.groups = vec![]; // removed Friends
        i.other_mobiles = vec![B.into()];
        let (plan, out) = converge(&[base], &[p], &[i]);
        assert!(plan.conflicts.is_empty());
        assert_eq!(
            out[0].emails,
            vec!["x@e.com".to_string(), "z@e.com".into(), "w@e.com".into()]
        );
        assert!(out[0].groups.is_empty());
        assert_eq!(out[0].other_mobiles, vec![B.to_string()]);
    }

    #[test]
    fn changed_default_mobile_is_delete_plus_add() {
        let (plan, out) = converge(&[c(A, "a")], &[c(B, "a")], &[c(A, "a")]);
        assert_eq!(
            plan.to_im,
            vec![Change::Delete(A.into()), Change::Add(c(B, "a"))]
        );
        assert_eq!(out, vec![c(B, "a")]);
    }

    #[test]
    fn duplicates_use_first_occurrence() {
        let pb = vec![c(A, "first"), c(A, "second")];
        let plan = sync_plan(&[], &pb, &[]);
        assert_eq!(plan.to_im, vec![Change::Add(c(A, "first"))]);
    }

    #[test]
    fn apply_changes_keeps_order() {
        let l = vec![c(A, "a"), c(B, "b")];
        let out = apply_changes(
            &l,
            &[
                Change::Update(c(A, "a2")),
                Change::Add(c("+8613700000000", "c")),
                Change::Delete(B.into()),
                Change::Delete("+8600000000000".into()),
            ],
        );
        assert_eq!(out, vec![c(A, "a2"), c("+8613700000000", "c")]);
        assert_eq!(Change::Delete(B.into()).key(), B);
    }
}
