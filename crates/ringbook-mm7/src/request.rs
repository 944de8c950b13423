//! Parsing MM7 requests received from an MMSC (the relay/server side calls us, the VASP).

use crate::attachment::Attachment;
use crate::error::Mm7Error;
use crate::mime::{split_multipart, strip_angle, ContentType, RawPart};
use crate::soap::{parse_xml, Element};
use crate::version::{Mm7Schema, Mm7Version};
use crate::{MAX_ATTACHMENTS, MAX_MULTIPART_DEPTH};

/// How an address was written in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// `<Number>` (MSISDN).
    Number,
    /// `<RFC2822Address>` (e-mail, or `+8613800138000/TYPE=PLMN`).
    Rfc2822,
    /// `<ShortCode>` (service number).
    ShortCode,
}

/// An MM7 address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Element it came from.
    pub kind: AddressKind,
    /// Normalised value: trimmed, `tel:` prefix, display name and `/TYPE=PLMN` suffix removed
    /// (`"+8613800138000/TYPE=PLMN"` → `"+8613800138000"`). Not E.164-normalised.
    pub value: String,
    /// The text exactly as received (trimmed).
    pub raw: String,
}

impl Address {
    /// Build an address, normalising `raw` as described on [`Address::value`].
    pub fn new(kind: AddressKind, raw: &str) -> Address {
        Address {
            kind,
            value: normalise_address(raw),
            raw: raw.trim().to_string(),
        }
    }

    /// The phone number, if this address is one (a `<Number>`, or an RFC 2822 address whose
    /// normalised value is phone-like, such as the `/TYPE=PLMN` form).
    pub fn number(&self) -> Option<&str> {
        match self.kind {
            AddressKind::Number => Some(&self.value),
            AddressKind::Rfc2822 if is_phone_like(&self.value) => Some(&self.value),
            _ => None,
        }
    }
}

fn normalise_address(raw: &str) -> String {
    let mut v = raw.trim();
    // "Name <addr>" → addr
    if let (Some(l), Some(r)) = (v.rfind('<'), v.rfind('>')) {
        if l < r {
            v = v[l + 1..r].trim();
        }
    }
    if let Some(rest) = strip_prefix_ci(v, "tel:") {
        v = rest;
    }
    if let Some(idx) = v.to_ascii_uppercase().find("/TYPE=") {
        v = &v[..idx];
    }
    v.trim().to_string()
}

/// ASCII case-insensitive `strip_prefix`, safe on any UTF-8 input.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn is_phone_like(v: &str) -> bool {
    let digits = v.strip_prefix('+').unwrap_or(v);
    digits.len() >= 3
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
        && digits.chars().any(|c| c.is_ascii_digit())
}

/// Recipient field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum RecipientKind {
    To,
    Cc,
    Bcc,
}

/// One recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// To / Cc / Bcc.
    pub kind: RecipientKind,
    /// The address.
    pub address: Address,
}

/// MM7 `Priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Priority {
    Low,
    Normal,
    High,
}

impl Priority {
    fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            _ => None,
        }
    }

    /// The XML value (`High`, `Normal`, `Low`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Normal => "Normal",
            Priority::High => "High",
        }
    }
}

/// A `DeliverReq`: a phone's MMS forwarded to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverReq {
    /// SOAP header TransactionID, verbatim (surrounding whitespace trimmed); echo it back.
    pub transaction_id: String,
    /// Namespace + MM7Version of the request; pass to the response builders.
    pub version: Mm7Version,
    /// `MMSRelayServerID`.
    pub mms_relay_server_id: Option<String>,
    /// `VASPID` / `VASID` (REL-6 and some Chinese MMSCs).
    pub vasp_id: Option<String>,
    /// See `vasp_id`.
    pub vas_id: Option<String>,
    /// `LinkedID` (use it when answering with a SubmitReq).
    pub linked_id: Option<String>,
    /// The phone that sent the MMS.
    pub sender: Address,
    /// To/Cc/Bcc recipients, in document order.
    pub recipients: Vec<Recipient>,
    /// `TimeStamp`, as received (ISO 8601 text).
    pub time_stamp: Option<String>,
    /// `Priority`.
    pub priority: Option<Priority>,
    /// `Subject`.
    pub subject: Option<String>,
    /// `<Content href>` with the `cid:` prefix and angle brackets removed.
    pub content_ref: Option<String>,
    /// Media parts, flattened out of any nested multiparts, in order (SMIL included).
    pub attachments: Vec<Attachment>,
}

impl DeliverReq {
    /// The sender's phone number, when the sender is one.
    pub fn sender_number(&self) -> Option<&str> {
        self.sender.number()
    }
}

/// A `DeliveryReportReq`: the MMSC reports the fate of a message we submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReportReq {
    /// SOAP header TransactionID.
    pub transaction_id: String,
    /// Namespace + MM7Version of the request.
    pub version: Mm7Version,
    /// `MMSRelayServerID`.
    pub mms_relay_server_id: Option<String>,
    /// `MessageID` of the submitted message.
    pub message_id: String,
    /// `Recipient` the report is about.
    pub recipient: Option<Address>,
    /// `Sender` of the original message.
    pub sender: Option<Address>,
    /// `Date`.
    pub date: Option<String>,
    /// `MMStatus` (Retrieved, Rejected, Expired, Forwarded, Deferred, Indeterminate ...).
    pub mm_status: Option<String>,
    /// `StatusText`.
    pub status_text: Option<String>,
}

/// A `ReadReplyReq`: a read report for a message we submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReplyReq {
    /// SOAP header TransactionID.
    pub transaction_id: String,
    /// Namespace + MM7Version of the request.
    pub version: Mm7Version,
    /// `MMSRelayServerID`.
    pub mms_relay_server_id: Option<String>,
    /// `MessageID` of the submitted message.
    pub message_id: String,
    /// `Recipient` who read (or deleted) it.
    pub recipient: Option<Address>,
    /// `Sender` of the original message.
    pub sender: Option<Address>,
    /// `TimeStamp`.
    pub time_stamp: Option<String>,
    /// `MMStatus` (Read, Deleted, Indeterminate).
    pub mm_status: Option<String>,
    /// `StatusText`.
    pub status_text: Option<String>,
}

/// Any request this endpoint handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mm7Request {
    /// `DeliverReq` → answer with [`crate::build_deliver_response`].
    Deliver(DeliverReq),
    /// `DeliveryReportReq` → answer with [`crate::build_delivery_report_response`].
    DeliveryReport(DeliveryReportReq),
    /// `ReadReplyReq` → answer with [`crate::build_read_reply_response`].
    ReadReply(ReadReplyReq),
}

impl Mm7Request {
    /// The TransactionID to echo.
    pub fn transaction_id(&self) -> &str {
        match self {
            Mm7Request::Deliver(r) => &r.transaction_id,
            Mm7Request::DeliveryReport(r) => &r.transaction_id,
            Mm7Request::ReadReply(r) => &r.transaction_id,
        }
    }

    /// The request's version context.
    pub fn version(&self) -> &Mm7Version {
        match self {
            Mm7Request::Deliver(r) => &r.version,
            Mm7Request::DeliveryReport(r) => &r.version,
            Mm7Request::ReadReply(r) => &r.version,
        }
    }

    /// The matching response envelope (DeliverRsp / DeliveryReportRsp / ReadReplyRsp).
    /// An empty `status_text` uses the code's standard text.
    pub fn build_response(&self, status: crate::StatusCode, status_text: &str) -> String {
        let kind = match self {
            Mm7Request::Deliver(_) => crate::ResponseKind::DeliverRsp,
            Mm7Request::DeliveryReport(_) => crate::ResponseKind::DeliveryReportRsp,
            Mm7Request::ReadReply(_) => crate::ResponseKind::ReadReplyRsp,
        };
        crate::build::build_response(
            kind,
            self.transaction_id(),
            self.version(),
            status,
            status_text,
        )
    }
}

// ------------------------------------------------------------------ envelope extraction

/// The SOAP part and the other (content) parts of an MM7 HTTP body.
pub(crate) struct Envelope<'a> {
    pub(crate) root: Element,
    pub(crate) others: Vec<RawPart<'a>>,
}

fn is_xml_type(essence: &str) -> bool {
    matches!(
        essence,
        "text/xml" | "application/xml" | "application/soap+xml" | ""
    )
}

/// Split the HTTP body into the parsed SOAP envelope and the remaining MIME parts.
pub(crate) fn read_envelope<'a>(
    content_type: &str,
    body: &'a [u8],
) -> Result<Envelope<'a>, Mm7Error> {
    let ct = ContentType::parse(content_type);
    if is_xml_type(&ct.essence) {
        let root = parse_xml(body, ct.param("charset"))?;
        return Ok(Envelope {
            root,
            others: Vec::new(),
        });
    }
    if !ct.is_multipart() {
        return Err(Mm7Error::UnsupportedContentType(ct.essence));
    }
    let boundary = ct
        .param("boundary")
        .ok_or_else(|| Mm7Error::Multipart("no boundary parameter".into()))?;
    // SOAP part + up to MAX_ATTACHMENTS flat parts.
    let mut parts = split_multipart(body, boundary, MAX_ATTACHMENTS + 1)?;
    let start = ct.param("start").map(strip_angle).filter(|s| !s.is_empty());
    let idx = start
        .and_then(|s| {
            parts.iter().position(|p| {
                p.content_id().as_deref() == Some(s.as_str())
                    || p.content_location().as_deref() == Some(s.as_str())
            })
        })
        // No (or a dangling) start: the first part, per RFC 2387.
        .unwrap_or(0);
    let soap = parts.remove(idx);
    let soap_ct = soap.content_type();
    let xml = soap.decoded_body()?;
    let root = parse_xml(&xml, soap_ct.param("charset"))?;
    Ok(Envelope {
        root,
        others: parts,
    })
}

/// Envelope → (TransactionID if present, header, body operation element).
pub(crate) fn envelope_parts(root: &Element) -> Result<(Option<&Element>, &Element), Mm7Error> {
    if root.local != "Envelope" {
        return Err(Mm7Error::NotSoap(format!("root element is {}", root.local)));
    }
    let body = root
        .child("Body")
        .ok_or_else(|| Mm7Error::NotSoap("no Body".into()))?;
    let op = body
        .children
        .first()
        .ok_or_else(|| Mm7Error::NotSoap("empty Body".into()))?;
    let tid = root.child("Header").and_then(|h| h.child("TransactionID"));
    Ok((tid, op))
}

/// Work out the schema from the operation's namespace, else the TransactionID's.
pub(crate) fn schema_of(op: &Element, tid: Option<&Element>) -> Result<Mm7Schema, Mm7Error> {
    let candidates = [op.ns.as_deref(), tid.and_then(|t| t.ns.as_deref())];
    for ns in candidates.iter().flatten() {
        if let Some(s) = Mm7Schema::from_namespace(ns) {
            return Ok(s);
        }
    }
    let shown = candidates
        .iter()
        .flatten()
        .find(|ns| Mm7Schema::looks_like_mm7(ns))
        .or(candidates.iter().flatten().next())
        .map_or_else(|| "(no namespace)".to_string(), |s| s.to_string());
    Err(Mm7Error::UnsupportedVersion(shown))
}

fn version_of(op: &Element, schema: Mm7Schema) -> Mm7Version {
    Mm7Version {
        schema,
        mm7_version: op
            .child_text("MM7Version")
            .unwrap_or_else(|| schema.default_mm7_version().to_string()),
    }
}

/// Best effort: the TransactionID of a message that may fail to parse otherwise, so a fault
/// can still echo it. Returns `None` if the SOAP part cannot be found or read.
pub fn peek_transaction_id(content_type: &str, body: &[u8]) -> Option<String> {
    let env = read_envelope(content_type, body).ok()?;
    let tid = env.root.child("Header")?.child("TransactionID")?;
    tid.trimmed_text()
}

fn parse_address(el: &Element) -> Option<Address> {
    for c in &el.children {
        let kind = match c.local.as_str() {
            "Number" => AddressKind::Number,
            "RFC2822Address" => AddressKind::Rfc2822,
            "ShortCode" => AddressKind::ShortCode,
            _ => continue,
        };
        if let Some(t) = c.trimmed_text() {
            return Some(Address::new(kind, &t));
        }
    }
    // Some MMSCs write the address as bare text (`<SenderAddress>1065...</SenderAddress>`).
    let t = el.trimmed_text()?;
    let kind = if is_phone_like(&normalise_address(&t)) {
        AddressKind::Number
    } else {
        AddressKind::Rfc2822
    };
    Some(Address::new(kind, &t))
}

fn parse_recipients(el: &Element) -> Vec<Recipient> {
    let mut out = Vec::new();
    for group in &el.children {
        let kind = match group.local.as_str() {
            "To" => RecipientKind::To,
            "Cc" => RecipientKind::Cc,
            "Bcc" => RecipientKind::Bcc,
            _ => continue,
        };
        for c in &group.children {
            let akind = match c.local.as_str() {
                "Number" => AddressKind::Number,
                "RFC2822Address" => AddressKind::Rfc2822,
                "ShortCode" => AddressKind::ShortCode,
                _ => continue,
            };
            if let Some(t) = c.trimmed_text() {
                out.push(Recipient {
                    kind,
                    address: Address::new(akind, &t),
                });
            }
        }
    }
    out
}

fn transaction_id(tid: Option<&Element>) -> Result<String, Mm7Error> {
    tid.and_then(Element::trimmed_text)
        .ok_or(Mm7Error::MissingTransactionId)
}

/// Parse any supported MM7 request (DeliverReq, DeliveryReportReq, ReadReplyReq).
///
/// `content_type` is the HTTP `Content-Type` header value; `body` the raw HTTP body.
pub fn parse_request(content_type: &str, body: &[u8]) -> Result<Mm7Request, Mm7Error> {
    let env = read_envelope(content_type, body)?;
    let (tid, op) = envelope_parts(&env.root)?;
    match op.local.as_str() {
        "DeliverReq" | "DeliveryReportReq" | "ReadReplyReq" => {}
        other => return Err(Mm7Error::UnsupportedOperation(other.to_string())),
    }
    let schema = schema_of(op, tid)?;
    let transaction_id = transaction_id(tid)?;
    let version = version_of(op, schema);
    match op.local.as_str() {
        "DeliverReq" => {
            parse_deliver(op, transaction_id, version, &env.others).map(Mm7Request::Deliver)
        }
        "DeliveryReportReq" => Ok(Mm7Request::DeliveryReport(DeliveryReportReq {
            transaction_id,
            version,
            mms_relay_server_id: op.child_text("MMSRelayServerID"),
            message_id: op
                .child_text("MessageID")
                .ok_or(Mm7Error::MissingElement("MessageID"))?,
            recipient: op.child("Recipient").and_then(parse_address),
            sender: op.child("Sender").and_then(parse_address),
            date: op.child_text("Date"),
            mm_status: op.child_text("MMStatus"),
            status_text: op.child_text("StatusText"),
        })),
        _ => Ok(Mm7Request::ReadReply(ReadReplyReq {
            transaction_id,
            version,
            mms_relay_server_id: op.child_text("MMSRelayServerID"),
            message_id: op
                .child_text("MessageID")
                .ok_or(Mm7Error::MissingElement("MessageID"))?,
            recipient: op.child("Recipient").and_then(parse_address),
            sender: op.child("Sender").and_then(parse_address),
            time_stamp: op.child_text("TimeStamp"),
            mm_status: op.child_text("MMStatus"),
            status_text: op.child_text("StatusText"),
        })),
    }
}

/// Parse a `DeliverReq`; any other operation is [`Mm7Error::UnexpectedKind`]
/// (or [`Mm7Error::UnsupportedOperation`] for operations this crate does not know).
pub fn parse_deliver_request(content_type: &str, body: &[u8]) -> Result<DeliverReq, Mm7Error> {
    match parse_request(content_type, body)? {
        Mm7Request::Deliver(d) => Ok(d),
        Mm7Request::DeliveryReport(_) => Err(Mm7Error::UnexpectedKind {
            expected: "DeliverReq",
            found: "DeliveryReportReq".into(),
        }),
        Mm7Request::ReadReply(_) => Err(Mm7Error::UnexpectedKind {
            expected: "DeliverReq",
            found: "ReadReplyReq".into(),
        }),
    }
}

fn parse_deliver(
    op: &Element,
    transaction_id: String,
    version: Mm7Version,
    parts: &[RawPart<'_>],
) -> Result<DeliverReq, Mm7Error> {
    let sender = op
        .child("Sender")
        .and_then(parse_address)
        .or_else(|| {
            op.child("SenderIdentification")
                .and_then(|s| s.child("SenderAddress"))
                .and_then(parse_address)
        })
        .ok_or(Mm7Error::MissingElement("Sender"))?;
    let content_ref = op
        .child("Content")
        .and_then(|c| c.attr("href"))
        .map(normalise_cid)
        .filter(|s| !s.is_empty());
    let attachments = resolve_content(content_ref.as_deref(), parts)?;
    let ident = op.child("SenderIdentification");
    Ok(DeliverReq {
        transaction_id,
        version,
        mms_relay_server_id: op.child_text("MMSRelayServerID"),
        vasp_id: op
            .child_text("VASPID")
            .or_else(|| ident.and_then(|i| i.child_text("VASPID"))),
        vas_id: op
            .child_text("VASID")
            .or_else(|| ident.and_then(|i| i.child_text("VASID"))),
        linked_id: op.child_text("LinkedID"),
        sender,
        recipients: op
            .child("Recipients")
            .map(parse_recipients)
            .unwrap_or_default(),
        time_stamp: op.child_text("TimeStamp"),
        priority: op
            .child_text("Priority")
            .as_deref()
            .and_then(Priority::parse),
        subject: op.child_text("Subject"),
        content_ref,
        attachments,
    })
}

/// `cid:abc%40x` → `abc@x`; `<abc>` → `abc`.
fn normalise_cid(href: &str) -> String {
    let h = href.trim();
    let h = strip_prefix_ci(h, "cid:").unwrap_or(h);
    let decoded = crate::mime::percent_decode(h);
    strip_angle(&String::from_utf8_lossy(&decoded))
}

fn part_matches(p: &RawPart<'_>, r: &str) -> bool {
    let eq = |v: Option<String>| v.is_some_and(|v| v == r || v.eq_ignore_ascii_case(r));
    eq(p.content_id()) || eq(p.content_location())
}

/// Resolve `<Content href>` to the media parts.
///
/// * The reference names a multipart (`multipart/mixed` or `related`): its leaves.
/// * It names a single part (flat style, e.g. the SMIL start): all non-SOAP parts.
/// * No reference, or a dangling one: all non-SOAP parts; none at all with a reference is
///   [`Mm7Error::ContentNotFound`].
fn resolve_content(r: Option<&str>, parts: &[RawPart<'_>]) -> Result<Vec<Attachment>, Mm7Error> {
    let mut out = Vec::new();
    if let Some(r) = r {
        if parts.is_empty() {
            return Err(Mm7Error::ContentNotFound(r.to_string()));
        }
        if let Some(p) = parts.iter().find(|p| part_matches(p, r)) {
            if p.content_type().is_multipart() {
                flatten(p, 1, &mut out)?;
                return Ok(out);
            }
        }
    }
    for p in parts {
        flatten(p, 1, &mut out)?;
    }
    Ok(out)
}

/// Append the leaves of `part` (which sits at nesting `depth`; the HTTP body is depth 1).
fn flatten(part: &RawPart<'_>, depth: usize, out: &mut Vec<Attachment>) -> Result<(), Mm7Error> {
    let ct = part.content_type();
    if ct.is_multipart() {
        if depth + 1 > MAX_MULTIPART_DEPTH {
            return Err(Mm7Error::NestingTooDeep(MAX_MULTIPART_DEPTH));
        }
        let boundary = ct
            .param("boundary")
            .ok_or_else(|| Mm7Error::Multipart("nested multipart without boundary".into()))?;
        let body = part.decoded_body()?;
        let children = split_multipart(&body, boundary, MAX_ATTACHMENTS + 1)?;
        for c in &children {
            flatten(c, depth + 1, out)?;
        }
        return Ok(());
    }
    if out.len() >= MAX_ATTACHMENTS {
        return Err(Mm7Error::TooManyAttachments(MAX_ATTACHMENTS));
    }
    out.push(Attachment {
        charset: ct.param("charset").map(|c| c.trim().to_ascii_lowercase()),
        content_id: part.content_id().filter(|c| !c.is_empty()),
        content_location: part.content_location(),
        filename: part.filename(&ct),
        data: part.decoded_body()?,
        content_type: if ct.essence.is_empty() {
            "text/plain".to_string()
        } else {
            ct.essence
        },
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_normalisation() {
        let a = Address::new(AddressKind::Rfc2822, " +8613800138000/TYPE=PLMN ");
        assert_eq!(a.value, "+8613800138000");
        assert_eq!(a.number(), Some("+8613800138000"));
        let e = Address::new(AddressKind::Rfc2822, "Li Lei <lilei@example.com>");
        assert_eq!(e.value, "lilei@example.com");
        assert_eq!(e.number(), None);
        let t = Address::new(AddressKind::Number, "tel:13800138000");
        assert_eq!(t.number(), Some("13800138000"));
        assert_eq!(Address::new(AddressKind::ShortCode, "10658").number(), None);
    }

    #[test]
    fn cid_normalisation() {
        assert_eq!(normalise_cid("cid:abc%40x"), "abc@x");
        assert_eq!(normalise_cid("CID:<a>"), "a");
        assert_eq!(normalise_cid("plain"), "plain");
        assert_eq!(normalise_cid("c\u{e9}d:x"), "c\u{e9}d:x");
        assert_eq!(
            normalise_address("+8\u{fffd}13800138000"),
            "+8\u{fffd}13800138000"
        );
        assert_eq!(normalise_address("té"), "té");
    }
}
