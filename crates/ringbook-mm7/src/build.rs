//! Building MM7 messages: our responses, SubmitReq prompts, and MMSC-style DeliverReqs.

use std::fmt::Write as _;

use crate::mime::{base64_lines, header_safe, header_text, param_value};
use crate::request::{Address, AddressKind, Priority};
use crate::soap::esc;
use crate::status::StatusCode;
use crate::version::{Mm7Schema, Mm7Version, SOAP_ENV_NS};

/// Response operations this crate can build or parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ResponseKind {
    DeliverRsp,
    DeliveryReportRsp,
    ReadReplyRsp,
    SubmitRsp,
    CancelRsp,
    ReplaceRsp,
    /// Error response from the relay (usually inside a SOAP Fault's `detail`).
    RsErrorRsp,
    /// Error response from the VASP (usually inside a SOAP Fault's `detail`).
    VaspErrorRsp,
    /// A SOAP Fault with no recognised MM7 error element.
    Fault,
}

impl ResponseKind {
    /// The element name (`DeliverRsp`, ...); `Fault` for a bare fault.
    pub fn element(self) -> &'static str {
        match self {
            ResponseKind::DeliverRsp => "DeliverRsp",
            ResponseKind::DeliveryReportRsp => "DeliveryReportRsp",
            ResponseKind::ReadReplyRsp => "ReadReplyRsp",
            ResponseKind::SubmitRsp => "SubmitRsp",
            ResponseKind::CancelRsp => "CancelRsp",
            ResponseKind::ReplaceRsp => "ReplaceRsp",
            ResponseKind::RsErrorRsp => "RSErrorRsp",
            ResponseKind::VaspErrorRsp => "VASPErrorRsp",
            ResponseKind::Fault => "Fault",
        }
    }

    pub(crate) fn from_element(local: &str) -> Option<ResponseKind> {
        [
            ResponseKind::DeliverRsp,
            ResponseKind::DeliveryReportRsp,
            ResponseKind::ReadReplyRsp,
            ResponseKind::SubmitRsp,
            ResponseKind::CancelRsp,
            ResponseKind::ReplaceRsp,
            ResponseKind::RsErrorRsp,
            ResponseKind::VaspErrorRsp,
        ]
        .into_iter()
        .find(|k| k.element() == local)
    }
}

fn envelope_open(out: &mut String, transaction_id: Option<&str>, ns: &str) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
    let _ = write!(out, "<env:Envelope xmlns:env=\"{SOAP_ENV_NS}\">");
    out.push_str("<env:Header>");
    if let Some(tid) = transaction_id {
        let _ = write!(
            out,
            "<mm7:TransactionID xmlns:mm7=\"{}\" env:mustUnderstand=\"1\">{}</mm7:TransactionID>",
            esc(ns),
            esc(tid)
        );
    }
    out.push_str("</env:Header><env:Body>");
}

fn envelope_close(out: &mut String) {
    out.push_str("</env:Body></env:Envelope>\r\n");
}

fn status_xml(out: &mut String, status: StatusCode, status_text: &str) {
    let text = if status_text.trim().is_empty() {
        status.default_text()
    } else {
        status_text
    };
    let _ = write!(
        out,
        "<Status><StatusCode>{}</StatusCode><StatusText>{}</StatusText></Status>",
        status.code(),
        esc(text)
    );
}

/// Build a response envelope of `kind` (DeliverRsp, DeliveryReportRsp, ReadReplyRsp, ...),
/// echoing `transaction_id` with `mustUnderstand="1"` in the request's namespace.
/// An empty `status_text` uses the code's standard text. Send as `text/xml; charset=utf-8`.
pub fn build_response(
    kind: ResponseKind,
    transaction_id: &str,
    version: &Mm7Version,
    status: StatusCode,
    status_text: &str,
) -> String {
    let ns = version.schema.namespace();
    let mut out = String::with_capacity(512);
    envelope_open(&mut out, Some(transaction_id), &ns);
    let el = kind.element();
    let _ = write!(
        out,
        "<{el} xmlns=\"{ns}\"><MM7Version>{}</MM7Version>",
        esc(&version.mm7_version)
    );
    status_xml(&mut out, status, status_text);
    let _ = write!(out, "</{el}>");
    envelope_close(&mut out);
    out
}

/// `DeliverRsp` for a [`crate::DeliverReq`].
pub fn build_deliver_response(
    transaction_id: &str,
    version: &Mm7Version,
    status: StatusCode,
    status_text: &str,
) -> String {
    build_response(
        ResponseKind::DeliverRsp,
        transaction_id,
        version,
        status,
        status_text,
    )
}

/// `DeliveryReportRsp` for a [`crate::DeliveryReportReq`].
pub fn build_delivery_report_response(
    transaction_id: &str,
    version: &Mm7Version,
    status: StatusCode,
    status_text: &str,
) -> String {
    build_response(
        ResponseKind::DeliveryReportRsp,
        transaction_id,
        version,
        status,
        status_text,
    )
}

/// `ReadReplyRsp` for a [`crate::ReadReplyReq`].
pub fn build_read_reply_response(
    transaction_id: &str,
    version: &Mm7Version,
    status: StatusCode,
    status_text: &str,
) -> String {
    build_response(
        ResponseKind::ReadReplyRsp,
        transaction_id,
        version,
        status,
        status_text,
    )
}

/// A SOAP Fault carrying a `VASPErrorRsp` — our answer to a request we could not parse
/// (use [`crate::Mm7Error::status_code`] and [`crate::peek_transaction_id`]). Send it with
/// HTTP status 500 (SOAP 1.1) and `text/xml; charset=utf-8`. Without a known version the
/// REL-6-MM7-1-4 namespace is used.
pub fn build_fault(
    transaction_id: Option<&str>,
    version: Option<&Mm7Version>,
    status: StatusCode,
    status_text: &str,
) -> String {
    let default = Mm7Version::default();
    let version = version.unwrap_or(&default);
    let ns = version.schema.namespace();
    let mut out = String::with_capacity(768);
    envelope_open(&mut out, transaction_id, &ns);
    let code = if status.is_server_fault() {
        "env:Server"
    } else {
        "env:Client"
    };
    let text = if status_text.trim().is_empty() {
        status.default_text()
    } else {
        status_text
    };
    let _ = write!(
        out,
        "<env:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring><detail>\
         <VASPErrorRsp xmlns=\"{ns}\"><MM7Version>{}</MM7Version>",
        esc(text),
        esc(&version.mm7_version)
    );
    status_xml(&mut out, status, text);
    out.push_str("</VASPErrorRsp></detail></env:Fault>");
    envelope_close(&mut out);
    out
}

fn address_xml(out: &mut String, a: &Address) {
    let el = match a.kind {
        AddressKind::Number => "Number",
        AddressKind::Rfc2822 => "RFC2822Address",
        AddressKind::ShortCode => "ShortCode",
    };
    let _ = write!(out, "<{el}>{}</{el}>", esc(&a.value));
}

/// Guess the element for a bare address string: `+...` or a long digit string is a Number,
/// anything with `@` an RFC 2822 address, a short digit string a ShortCode.
pub fn guess_address(s: &str) -> Address {
    let t = s.trim();
    let kind = if t.contains('@') {
        AddressKind::Rfc2822
    } else if t.starts_with('+') || t.chars().filter(|c| c.is_ascii_digit()).count() > 8 {
        AddressKind::Number
    } else if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        AddressKind::ShortCode
    } else {
        AddressKind::Rfc2822
    };
    Address::new(kind, t)
}

/// Pick a boundary not present in any of `bodies`.
fn pick_boundary(tag: &str, bodies: &[&[u8]]) -> String {
    let mut n: u32 = 0;
    loop {
        let b = format!("----=_Ringbook_{tag}_{n:04}");
        let needle = b.as_bytes();
        let clash = bodies
            .iter()
            .any(|body| memchr::memmem::find(body, needle).is_some());
        if !clash || n == u32::MAX {
            return b;
        }
        n += 1;
    }
}

/// Inputs of [`build_submit_request`]: a text prompt sent back to a phone (spec MM-6).
#[derive(Debug, Clone, Default)]
pub struct SubmitReqBuilder {
    /// TransactionID for the SOAP header.
    pub transaction_id: String,
    /// Namespace/version to use (normally the MMSC's, from the DeliverReq).
    pub version: Mm7Version,
    /// `VASPID`.
    pub vasp_id: String,
    /// `VASID`.
    pub vas_id: String,
    /// Our service number / short code (`SenderAddress`), if any.
    pub sender_address: Option<String>,
    /// Recipient phone numbers (`Recipients/To/Number`).
    pub to: Vec<String>,
    /// `ServiceCode` (charging), if any.
    pub service_code: Option<String>,
    /// `LinkedID` (the DeliverReq's LinkedID when replying to a phone's MMS).
    pub linked_id: Option<String>,
    /// `Subject`.
    pub subject: Option<String>,
    /// Request a delivery report.
    pub delivery_report: bool,
    /// The text/plain body (sent as UTF-8).
    pub text: String,
}

/// Build a `SubmitReq` with a single `text/plain; charset=utf-8` content part.
///
/// Returns `(content_type_header_value, body)`; POST it to the MMSC's MM7 URL.
/// With REL-5-MM7-1-0 the `SenderAddress` is written as bare text (as that schema and
/// many Chinese MMSCs expect); later schemas use an address element.
pub fn build_submit_request(b: &SubmitReqBuilder) -> (String, Vec<u8>) {
    let ns = b.version.schema.namespace();
    let content_id = "ringbook-text@ringbook";
    let mut xml = String::with_capacity(1024);
    envelope_open(&mut xml, Some(&b.transaction_id), &ns);
    let _ = write!(
        xml,
        "<SubmitReq xmlns=\"{ns}\"><MM7Version>{}</MM7Version>",
        esc(&b.version.mm7_version)
    );
    let _ = write!(
        xml,
        "<SenderIdentification><VASPID>{}</VASPID><VASID>{}</VASID>",
        esc(&b.vasp_id),
        esc(&b.vas_id)
    );
    if let Some(s) = &b.sender_address {
        if b.version.schema == Mm7Schema::Rel5Mm7_1_0 {
            let _ = write!(xml, "<SenderAddress>{}</SenderAddress>", esc(s));
        } else {
            xml.push_str("<SenderAddress>");
            address_xml(&mut xml, &guess_address(s));
            xml.push_str("</SenderAddress>");
        }
    }
    xml.push_str("</SenderIdentification><Recipients><To>");
    for t in &b.to {
        let _ = write!(xml, "<Number>{}</Number>", esc(t.trim()));
    }
    xml.push_str("</To></Recipients>");
    if let Some(s) = &b.service_code {
        let _ = write!(xml, "<ServiceCode>{}</ServiceCode>", esc(s));
    }
    if let Some(l) = &b.linked_id {
        let _ = write!(xml, "<LinkedID>{}</LinkedID>", esc(l));
    }
    xml.push_str("<MessageClass>Informational</MessageClass>");
    let _ = write!(
        xml,
        "<DeliveryReport>{}</DeliveryReport>",
        if b.delivery_report { "true" } else { "false" }
    );
    if let Some(s) = &b.subject {
        let _ = write!(xml, "<Subject>{}</Subject>", esc(s));
    }
    let _ = write!(
        xml,
        "<Content href=\"cid:{content_id}\" allowAdaptations=\"true\"/></SubmitReq>"
    );
    envelope_close(&mut xml);

    let text_b64 = base64_lines(b.text.as_bytes());
    let boundary = pick_boundary("submit", &[xml.as_bytes()]);
    let mut body = String::with_capacity(xml.len() + text_b64.len() + 512);
    let _ = write!(
        body,
        "--{boundary}\r\nContent-Type: text/xml; charset=utf-8\r\n\
         Content-ID: <mm7-soap@ringbook>\r\n\r\n{xml}\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-ID: <{content_id}>\r\nContent-Transfer-Encoding: base64\r\n\r\n{text_b64}\
         --{boundary}--\r\n"
    );
    let ct = format!(
        "multipart/related; type=\"text/xml\"; start=\"<mm7-soap@ringbook>\"; boundary=\"{boundary}\""
    );
    (ct, body.into_bytes())
}

/// One media part for [`build_deliver_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    /// MIME type, optionally with parameters (`text/plain; charset=gb2312`).
    pub content_type: String,
    /// File name (also used as Content-Location). Control characters are replaced by spaces.
    pub filename: Option<String>,
    /// Raw bytes (sent base64-encoded).
    pub data: Vec<u8>,
}

impl OutgoingAttachment {
    /// Convenience constructor.
    pub fn new(content_type: &str, filename: Option<&str>, data: Vec<u8>) -> Self {
        OutgoingAttachment {
            content_type: content_type.to_string(),
            filename: filename.map(str::to_string),
            data,
        }
    }
}

/// Inputs of [`build_deliver_request`]: an MMS as an MMSC would forward it.
#[derive(Debug, Clone, Default)]
pub struct DeliverReqBuilder {
    /// Sender phone number (written as `<Sender><Number>`; `/TYPE=PLMN` forms are kept as
    /// `RFC2822Address`).
    pub from: String,
    /// Recipient addresses (service short code or numbers).
    pub to: Vec<String>,
    /// `Subject`.
    pub subject: Option<String>,
    /// TransactionID for the SOAP header.
    pub transaction_id: String,
    /// Media parts; none gives a bare `text/xml` envelope without `Content`.
    pub attachments: Vec<OutgoingAttachment>,
    /// Namespace/version.
    pub version: Mm7Version,
    /// `MMSRelayServerID`.
    pub mms_relay_server_id: Option<String>,
    /// `LinkedID`.
    pub linked_id: Option<String>,
    /// `TimeStamp` text (ISO 8601), if any.
    pub time_stamp: Option<String>,
    /// `Priority`.
    pub priority: Option<Priority>,
}

/// Build an MMSC-style `DeliverReq`: `multipart/related` with the SOAP part first and the
/// content as a nested `multipart/mixed` whose parts are base64-encoded.
///
/// Returns `(content_type_header_value, body)`.
pub fn build_deliver_request(b: &DeliverReqBuilder) -> (String, Vec<u8>) {
    let ns = b.version.schema.namespace();
    let content_id = "mms-content@ringbook";
    let mut xml = String::with_capacity(1024);
    envelope_open(&mut xml, Some(&b.transaction_id), &ns);
    let _ = write!(
        xml,
        "<DeliverReq xmlns=\"{ns}\"><MM7Version>{}</MM7Version>",
        esc(&b.version.mm7_version)
    );
    if let Some(s) = &b.mms_relay_server_id {
        let _ = write!(xml, "<MMSRelayServerID>{}</MMSRelayServerID>", esc(s));
    }
    if let Some(s) = &b.linked_id {
        let _ = write!(xml, "<LinkedID>{}</LinkedID>", esc(s));
    }
    xml.push_str("<Sender>");
    let from = b.from.trim();
    let sender = if from.to_ascii_uppercase().contains("/TYPE=") {
        Address {
            kind: AddressKind::Rfc2822,
            value: from.to_string(),
            raw: from.to_string(),
        }
    } else {
        let mut a = guess_address(from);
        if a.kind == AddressKind::ShortCode {
            a.kind = AddressKind::Number;
        }
        a
    };
    address_xml(&mut xml, &sender);
    xml.push_str("</Sender><Recipients><To>");
    for t in &b.to {
        address_xml(&mut xml, &guess_address(t));
    }
    xml.push_str("</To></Recipients>");
    if let Some(s) = &b.time_stamp {
        let _ = write!(xml, "<TimeStamp>{}</TimeStamp>", esc(s));
    }
    if let Some(p) = b.priority {
        let _ = write!(xml, "<Priority>{}</Priority>", p.as_str());
    }
    if let Some(s) = &b.subject {
        let _ = write!(xml, "<Subject>{}</Subject>", esc(s));
    }
    if !b.attachments.is_empty() {
        let _ = write!(
            xml,
            "<Content href=\"cid:{content_id}\" allowAdaptations=\"true\"/>"
        );
    }
    xml.push_str("</DeliverReq>");
    envelope_close(&mut xml);

    if b.attachments.is_empty() {
        return ("text/xml; charset=utf-8".to_string(), xml.into_bytes());
    }

    // Inner multipart/mixed. All bodies are base64, whose alphabet cannot contain the
    // "=_" of our boundaries; headers are checked by pick_boundary anyway.
    let mut part_heads = Vec::with_capacity(b.attachments.len());
    let mut part_bodies = Vec::with_capacity(b.attachments.len());
    for (i, a) in b.attachments.iter().enumerate() {
        let mut h = String::new();
        let ct = header_safe(a.content_type.trim());
        let ct = if ct.is_empty() {
            "application/octet-stream".into()
        } else {
            ct
        };
        let _ = write!(h, "Content-Type: {ct}");
        if let Some(f) = &a.filename {
            let _ = write!(h, "; name={}", param_value(f));
        }
        let _ = write!(h, "\r\nContent-ID: <part{i}@ringbook>\r\n");
        if let Some(f) = &a.filename {
            let _ = write!(
                h,
                "Content-Location: {}\r\nContent-Disposition: attachment; filename={}\r\n",
                header_text(f),
                param_value(f)
            );
        }
        h.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        part_heads.push(h);
        part_bodies.push(base64_lines(&a.data));
    }
    let mut probe: Vec<&[u8]> = part_heads.iter().map(|h| h.as_bytes()).collect();
    probe.push(xml.as_bytes());
    let inner_boundary = pick_boundary("mixed", &probe);
    let mut inner = String::new();
    for (h, body) in part_heads.iter().zip(&part_bodies) {
        let _ = write!(inner, "--{inner_boundary}\r\n{h}{body}");
    }
    let _ = write!(inner, "--{inner_boundary}--\r\n");

    let outer_probe: Vec<&[u8]> = vec![xml.as_bytes(), inner.as_bytes()];
    let outer_boundary = pick_boundary("related", &outer_probe);
    let mut body = String::with_capacity(xml.len() + inner.len() + 512);
    let _ = write!(
        body,
        "--{outer_boundary}\r\nContent-Type: text/xml; charset=utf-8\r\n\
         Content-ID: <mm7-soap@ringbook>\r\n\r\n{xml}\r\n\
         --{outer_boundary}\r\nContent-Type: multipart/mixed; boundary=\"{inner_boundary}\"\r\n\
         Content-ID: <{content_id}>\r\n\r\n{inner}\r\n--{outer_boundary}--\r\n"
    );
    let ct = format!(
        "multipart/related; type=\"text/xml\"; start=\"<mm7-soap@ringbook>\"; boundary=\"{outer_boundary}\""
    );
    (ct, body.into_bytes())
}
