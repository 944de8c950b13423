//! Reading MM7 responses on the client side (the CLI, or the server after a SubmitReq).

use crate::build::ResponseKind;
use crate::error::Mm7Error;
use crate::request::{envelope_parts, read_envelope};
use crate::soap::Element;
use crate::status::StatusCode;
use crate::version::{Mm7Schema, Mm7Version};

/// A SOAP 1.1 fault's text fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// `faultcode` (e.g. `env:Client`).
    pub code: String,
    /// `faultstring`.
    pub string: String,
}

/// A parsed MM7 response or fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mm7Response {
    /// Which response element was found (for faults: the `detail` element, else `Fault`).
    pub kind: ResponseKind,
    /// SOAP header TransactionID, if any.
    pub transaction_id: Option<String>,
    /// Namespace/version, if the response carried a recognised MM7 namespace.
    pub version: Option<Mm7Version>,
    /// Numeric status (`StatusCode` element; for a bare fault 2000 for Client, else 3000).
    pub status_code: u16,
    /// `StatusText` (or the fault string).
    pub status_text: Option<String>,
    /// `MessageID` (SubmitRsp).
    pub message_id: Option<String>,
    /// Set when the body was a SOAP Fault.
    pub fault: Option<SoapFault>,
}

impl Mm7Response {
    /// The typed status, if the number is a standard one.
    pub fn status(&self) -> Option<StatusCode> {
        StatusCode::from_code(self.status_code)
    }

    /// 1xxx and not a fault.
    pub fn is_success(&self) -> bool {
        self.fault.is_none() && (1000..2000).contains(&self.status_code)
    }
}

fn status_of(el: &Element) -> (Option<u16>, Option<String>) {
    let code = el
        .find("StatusCode")
        .and_then(Element::trimmed_text)
        .and_then(|t| t.parse::<u16>().ok());
    let text = el.find("StatusText").and_then(Element::trimmed_text);
    (code, text)
}

/// Parse any MM7 response or SOAP fault. `content_type` is the HTTP Content-Type.
pub fn parse_response(content_type: &str, body: &[u8]) -> Result<Mm7Response, Mm7Error> {
    let env = read_envelope(content_type, body)?;
    let (tid, op) = envelope_parts(&env.root)?;
    let transaction_id = tid.and_then(Element::trimmed_text);
    let version_for = |el: &Element| {
        let schema = el
            .ns
            .as_deref()
            .and_then(Mm7Schema::from_namespace)
            .or_else(|| {
                tid.and_then(|t| t.ns.as_deref())
                    .and_then(Mm7Schema::from_namespace)
            })?;
        Some(Mm7Version {
            schema,
            mm7_version: el
                .child_text("MM7Version")
                .unwrap_or_else(|| schema.default_mm7_version().to_string()),
        })
    };
    if op.local == "Fault" {
        let code = op.child_text("faultcode").unwrap_or_default();
        let string = op.child_text("faultstring").unwrap_or_default();
        let detail_op = op.child("detail").and_then(|d| d.children.first());
        let kind = detail_op
            .and_then(|d| ResponseKind::from_element(&d.local))
            .unwrap_or(ResponseKind::Fault);
        let (sc, st) = detail_op.map(status_of).unwrap_or((None, None));
        let fallback = if code.to_ascii_lowercase().ends_with("server") {
            3000
        } else {
            2000
        };
        return Ok(Mm7Response {
            kind,
            transaction_id,
            version: detail_op.and_then(version_for),
            status_code: sc.unwrap_or(fallback),
            status_text: st.or_else(|| (!string.is_empty()).then(|| string.clone())),
            message_id: None,
            fault: Some(SoapFault { code, string }),
        });
    }
    let kind = ResponseKind::from_element(&op.local)
        .ok_or_else(|| Mm7Error::UnsupportedOperation(op.local.clone()))?;
    let (sc, st) = status_of(op);
    Ok(Mm7Response {
        kind,
        transaction_id,
        version: version_for(op),
        status_code: sc.ok_or(Mm7Error::MissingElement("StatusCode"))?,
        status_text: st,
        message_id: op.child_text("MessageID"),
        fault: None,
    })
}

fn expect(r: Mm7Response, want: ResponseKind) -> Result<Mm7Response, Mm7Error> {
    match r.kind {
        k if k == want => Ok(r),
        ResponseKind::RsErrorRsp | ResponseKind::VaspErrorRsp | ResponseKind::Fault => Ok(r),
        k => Err(Mm7Error::UnexpectedKind {
            expected: want.element(),
            found: k.element().to_string(),
        }),
    }
}

/// Parse the answer to a DeliverReq: a `DeliverRsp`, or an error response / SOAP fault
/// (check [`Mm7Response::is_success`]).
pub fn parse_deliver_response(content_type: &str, body: &[u8]) -> Result<Mm7Response, Mm7Error> {
    expect(
        parse_response(content_type, body)?,
        ResponseKind::DeliverRsp,
    )
}

/// Parse the answer to a SubmitReq: a `SubmitRsp` (with `message_id`), or an error / fault.
pub fn parse_submit_response(content_type: &str, body: &[u8]) -> Result<Mm7Response, Mm7Error> {
    expect(parse_response(content_type, body)?, ResponseKind::SubmitRsp)
}
