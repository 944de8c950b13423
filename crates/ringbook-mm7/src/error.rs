//! Typed errors of the codec and their MM7 status codes.

use crate::status::StatusCode;

/// Everything that can go wrong while reading an MM7 message.
///
/// Every variant maps to an MM7 status code via [`Mm7Error::status_code`], so the server can
/// answer with a SOAP fault (see [`crate::build_fault`]) without inspecting the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mm7Error {
    /// The HTTP `Content-Type` is neither `multipart/related` nor an XML type.
    #[error("unsupported content type: {0}")]
    UnsupportedContentType(String),
    /// The MIME structure is broken (no boundary, no parts, bad part headers ...).
    #[error("malformed MIME: {0}")]
    Multipart(String),
    /// Nested multiparts deeper than [`crate::MAX_MULTIPART_DEPTH`].
    #[error("multipart nesting deeper than {0} levels")]
    NestingTooDeep(usize),
    /// More attachments than [`crate::MAX_ATTACHMENTS`].
    #[error("more than {0} attachments")]
    TooManyAttachments(usize),
    /// A part's `Content-Transfer-Encoding` is unknown or its data does not decode.
    #[error("bad content transfer encoding: {0}")]
    TransferEncoding(String),
    /// The SOAP part is not well-formed XML (or uses a DTD, which SOAP forbids).
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Well-formed XML but not a SOAP 1.1 envelope with a body.
    #[error("not a SOAP envelope: {0}")]
    NotSoap(String),
    /// The SOAP header has no (or an empty) `TransactionID`.
    #[error("missing TransactionID in SOAP header")]
    MissingTransactionId,
    /// A mandatory MM7 element is absent or empty.
    #[error("missing mandatory element {0}")]
    MissingElement(&'static str),
    /// The MM7 namespace is not one of REL-5-MM7-1-0..1-3 / REL-6-MM7-1-0..1-4 (or absent).
    #[error("unsupported MM7 version/namespace: {0}")]
    UnsupportedVersion(String),
    /// The SOAP body holds an MM7 operation this endpoint does not handle.
    #[error("unsupported MM7 operation: {0}")]
    UnsupportedOperation(String),
    /// A specific parse function got another (known) message kind.
    #[error("expected {expected}, got {found}")]
    UnexpectedKind {
        /// What the caller asked for.
        expected: &'static str,
        /// The operation element found in the SOAP body.
        found: String,
    },
    /// `<Content href="...">` points nowhere and the message carries no content parts.
    #[error("content reference {0} not found")]
    ContentNotFound(String),
}

impl Mm7Error {
    /// The MM7 status code to report back for this error.
    ///
    /// Syntax problems (XML, MIME, encodings) are 2007 MessageFormatCorrupt; missing mandatory
    /// data is 4004 ValidationError; an unknown namespace is 4002; an unknown operation 4003.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Mm7Error::Multipart(_)
            | Mm7Error::NestingTooDeep(_)
            | Mm7Error::TransferEncoding(_)
            | Mm7Error::Xml(_)
            | Mm7Error::NotSoap(_)
            | Mm7Error::ContentNotFound(_) => StatusCode::MessageFormatCorrupt,
            Mm7Error::TooManyAttachments(_) => StatusCode::MultimediaContentRefused,
            Mm7Error::UnsupportedContentType(_)
            | Mm7Error::MissingTransactionId
            | Mm7Error::MissingElement(_) => StatusCode::ValidationError,
            Mm7Error::UnsupportedVersion(_) => StatusCode::UnsupportedVersion,
            Mm7Error::UnsupportedOperation(_) | Mm7Error::UnexpectedKind { .. } => {
                StatusCode::UnsupportedOperation
            }
        }
    }
}
