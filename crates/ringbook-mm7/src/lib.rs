//! # ringbook-mm7 — a pure 3GPP MM7 codec
//!
//! Ringbook receives profile updates by MMS (spec part MM, MM-1): the operator's MMSC forwards
//! the phone's MMS to us over MM7 (SOAP 1.1 over HTTP, TS 23.140), and we send prompts back
//! with a `SubmitReq` (MM-6). This crate turns HTTP bodies into typed values and back. It does
//! no I/O, spawns nothing and never panics on input; the HTTP server (`POST /mm7`) and the CLI
//! (`ringbook mms send`) own the transport.
//!
//! Modules:
//! * [`request`] — [`parse_request`] / [`parse_deliver_request`]: `multipart/related` (SOAP part
//!   chosen by `start`, else the first) or bare `text/xml`; `DeliverReq`, `DeliveryReportReq`,
//!   `ReadReplyReq`; attachments resolved from `<Content href="cid:...">`, flat or in nested
//!   `multipart/mixed`/`related`, with base64 / quoted-printable / 7bit / 8bit / binary.
//! * [`attachment`] — [`Attachment`], [`classify`] (image with magic-byte sniffing, text, vCard,
//!   SMIL) and [`decode_text`] (UTF-8, GB2312/GBK/GB18030, ASCII, Latin-1 via `encoding_rs`).
//! * [`build`] — responses echoing the TransactionID (`DeliverRsp`, `DeliveryReportRsp`,
//!   `ReadReplyRsp`), SOAP faults, `SubmitReq` with a text body, and MMSC-style `DeliverReq`s.
//! * [`response`] — client side: [`parse_deliver_response`], [`parse_submit_response`].
//! * [`status`] — [`StatusCode`], the MM7 request status codes.
//! * [`version`] — [`Mm7Schema`] (REL-5-MM7-1-0 … REL-6-MM7-1-4) and [`Mm7Version`].
//! * [`error`] — [`Mm7Error`], each mapped to a status code by [`Mm7Error::status_code`].
//!
//! Elements are matched by local name in any prefix; the MM7 namespace must be one of the
//! supported schemas (else 4002). Limits: multipart nesting ≤ [`MAX_MULTIPART_DEPTH`] levels
//! (the HTTP body counts as one), ≤ [`MAX_ATTACHMENTS`] attachments, XML depth ≤ 64.
//!
//! Not done here: HTTP, authentication of the MMSC, E.164 number normalisation (other crates),
//! image decoding/resizing (MM-5), SOAP 1.2, MM7 operations other than the ones above
//! (Cancel/Replace requests are rejected with 4003), DIME or MTOM.
// Library code must not panic on input; tests may unwrap.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod attachment;
pub mod build;
pub mod error;
mod mime;
pub mod request;
pub mod response;
mod soap;
pub mod status;
pub mod version;

pub use attachment::{classify, decode_text, Attachment, AttachmentKind, ImageFormat};
pub use build::{
    build_deliver_request, build_deliver_response, build_delivery_report_response, build_fault,
    build_read_reply_response, build_response, build_submit_request, guess_address,
    DeliverReqBuilder, OutgoingAttachment, ResponseKind, SubmitReqBuilder,
};
pub use error::Mm7Error;
pub use request::{
    parse_deliver_request, parse_request, peek_transaction_id, Address, AddressKind, DeliverReq,
    DeliveryReportReq, Mm7Request, Priority, ReadReplyReq, Recipient, RecipientKind,
};
pub use response::{
    parse_deliver_response, parse_response, parse_submit_response, Mm7Response, SoapFault,
};
pub use status::StatusCode;
pub use version::{Mm7Schema, Mm7Version, MM7_NAMESPACE_PREFIX, SOAP_ENV_NS};

/// Maximum multipart nesting, counting the HTTP body's `multipart/related` as level 1.
pub const MAX_MULTIPART_DEPTH: usize = 4;

/// Maximum number of attachments (leaf media parts) in one message.
pub const MAX_ATTACHMENTS: usize = 64;

/// Content-Type to send our SOAP responses with.
pub const RESPONSE_CONTENT_TYPE: &str = "text/xml; charset=utf-8";
