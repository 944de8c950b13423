//! What an MMS carries, turned into a profile change (MM-1, MM-2):
//!
//! - the first picture → the avatar (through the standard, MM-5);
//! - `text/plain` → `Key: value` lines (English or Chinese labels, `:` or `：`) set personal
//!   data fields; every other line is the signature;
//! - vCards → the card holding the sender's (or the account's) number sets personal data, the
//!   other cards update the account's contacts (PB-11's server copy);
//! - SMIL layout and anything else is ignored.
//!
//! Reading never writes: the caller validates everything first, so a bad part refuses the
//! whole MMS and the profile stays as it was.

use super::model;
use ringbook_mm7::{Attachment, AttachmentKind, DeliverReq};
use ringbook_phonebook::{parse_vcards, PhonebookContact, Region, EXT_NICKNAME, EXT_SIGNATURE};
use ringbook_proto::profiles::ProfileField;
use std::collections::BTreeMap;

/// The usable content of one MMS.
#[derive(Debug, Default)]
pub struct MmsContent {
    /// Validated text fields.
    pub fields: BTreeMap<ProfileField, String>,
    /// The raw picture, still to be standardised.
    pub picture: Option<Vec<u8>>,
    /// Address-book entries for the account's contacts.
    pub contacts: Vec<PhonebookContact>,
}

impl MmsContent {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.picture.is_none() && self.contacts.is_empty()
    }
}

/// Reads the attachments of `req`. `own_numbers` are the sender's and the account's numbers
/// (E.164), used to recognise the user's own vCard. The error is a sentence for the sender.
pub fn read(req: &DeliverReq, own_numbers: &[&str], region: &str) -> Result<MmsContent, String> {
    let mut out = MmsContent::default();
    let mut text_fields = BTreeMap::new();
    let mut signature_lines: Vec<String> = Vec::new();
    for att in &req.attachments {
        match att.kind() {
            AttachmentKind::Image(_) => {
                if out.picture.is_none() {
                    out.picture = Some(att.data.clone());
                }
            }
            AttachmentKind::Text => read_text(&att.text(), &mut text_fields, &mut signature_lines),
            AttachmentKind::VCard => {
                read_vcard(att, own_numbers, region, &mut text_fields, &mut out)?
            }
            AttachmentKind::Smil | AttachmentKind::Other => {}
        }
    }
    if !signature_lines.is_empty() {
        let mut sig: Vec<String> = text_fields
            .remove(&ProfileField::Signature)
            .into_iter()
            .collect();
        sig.extend(signature_lines);
        text_fields.insert(ProfileField::Signature, sig.join("\n"));
    }
    for (f, v) in text_fields {
        let v = model::validate(f, &v).map_err(|e| e.to_string())?;
        out.fields.insert(f, v);
    }
    Ok(out)
}

/// `Key: value` lines set fields; other non-empty lines are the signature.
fn read_text(text: &str, fields: &mut BTreeMap<ProfileField, String>, signature: &mut Vec<String>) {
    for line in text.trim_start_matches('\u{feff}').lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let split = line
            .char_indices()
            .find(|(_, c)| *c == ':' || *c == '：')
            .map(|(i, c)| (&line[..i], &line[i + c.len_utf8()..]));
        let field = split.and_then(|(k, v)| {
            ProfileField::parse_label(k)
                .filter(|f| f.is_text())
                .map(|f| (f, v.trim()))
        });
        match field {
            Some((f, v)) => {
                fields.insert(f, v.to_string());
            }
            None => signature.push(line.to_string()),
        }
    }
}

fn read_vcard(
    att: &Attachment,
    own_numbers: &[&str],
    region: &str,
    fields: &mut BTreeMap<ProfileField, String>,
    out: &mut MmsContent,
) -> Result<(), String> {
    let region = Region::parse(region).map_err(|e| format!("server region: {e}"))?;
    let report = parse_vcards(&att.data, region, &mut |_, _| {});
    if report.contacts.is_empty() && !report.skipped.is_empty() {
        return Err("the vCard holds no entry with a valid mobile number".into());
    }
    for c in report.contacts {
        let mine = std::iter::once(&c.mobile)
            .chain(c.other_mobiles.iter())
            .any(|m| own_numbers.contains(&m.as_str()));
        if !mine {
            out.contacts.push(c);
            continue;
        }
        let mut set = |f: ProfileField, v: Option<&String>| {
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                fields.insert(f, v.clone());
            }
        };
        set(ProfileField::Name, Some(&c.display_name));
        set(
            ProfileField::Nickname,
            c.nickname.as_ref().or(c.extensions.get(EXT_NICKNAME)),
        );
        set(ProfileField::Company, c.org.as_ref());
        set(ProfileField::Title, c.title.as_ref());
        set(ProfileField::Email, c.emails.first());
        set(ProfileField::Signature, c.extensions.get(EXT_SIGNATURE));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_lines_and_signature() {
        let mut f = BTreeMap::new();
        let mut sig = Vec::new();
        read_text(
            "昵称：小李\nCompany: Acme\nWebsite: https://x.cn\n今天心情不错\nNote: hi",
            &mut f,
            &mut sig,
        );
        assert_eq!(f[&ProfileField::Nickname], "小李");
        assert_eq!(f[&ProfileField::Company], "Acme");
        assert_eq!(f[&ProfileField::Website], "https://x.cn");
        assert_eq!(
            sig,
            vec!["今天心情不错".to_string(), "Note: hi".to_string()]
        );
    }

    #[test]
    fn chinese_signature_label() {
        let mut f = BTreeMap::new();
        let mut sig = Vec::new();
        read_text("签名：天天向上", &mut f, &mut sig);
        assert_eq!(f[&ProfileField::Signature], "天天向上");
        assert!(sig.is_empty());
    }
}
