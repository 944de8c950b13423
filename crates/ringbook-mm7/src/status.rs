//! MM7 request status codes (3GPP TS 23.140, table "Request Status Codes").

use std::fmt;

/// An MM7 status code. [`StatusCode::code`] gives the number; [`StatusCode::from_code`] parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum StatusCode {
    Success,
    PartialSuccess,
    ClientError,
    OperationRestricted,
    AddressError,
    AddressNotFound,
    MultimediaContentRefused,
    MessageIdNotFound,
    LinkedIdNotFound,
    MessageFormatCorrupt,
    ServerError,
    NotPossible,
    MessageRejected,
    MultipleAddressesNotSupported,
    GeneralServiceError,
    ImproperIdentification,
    UnsupportedVersion,
    UnsupportedOperation,
    ValidationError,
    ServiceError,
    ServiceUnavailable,
    ServiceDenied,
}

const TABLE: [(StatusCode, u16, &str); 22] = [
    (StatusCode::Success, 1000, "Success"),
    (StatusCode::PartialSuccess, 1100, "Partial success"),
    (StatusCode::ClientError, 2000, "Client error"),
    (
        StatusCode::OperationRestricted,
        2001,
        "Operation restricted",
    ),
    (StatusCode::AddressError, 2002, "Address Error"),
    (StatusCode::AddressNotFound, 2003, "Address Not Found"),
    (
        StatusCode::MultimediaContentRefused,
        2004,
        "Multimedia content refused",
    ),
    (StatusCode::MessageIdNotFound, 2005, "Message ID Not found"),
    (StatusCode::LinkedIdNotFound, 2006, "LinkedID not found"),
    (
        StatusCode::MessageFormatCorrupt,
        2007,
        "Message format corrupt",
    ),
    (StatusCode::ServerError, 3000, "Server Error"),
    (StatusCode::NotPossible, 3001, "Not Possible"),
    (StatusCode::MessageRejected, 3002, "Message rejected"),
    (
        StatusCode::MultipleAddressesNotSupported,
        3003,
        "Multiple addresses not supported",
    ),
    (
        StatusCode::GeneralServiceError,
        4000,
        "General service error",
    ),
    (
        StatusCode::ImproperIdentification,
        4001,
        "Improper identification",
    ),
    (StatusCode::UnsupportedVersion, 4002, "Unsupported version"),
    (
        StatusCode::UnsupportedOperation,
        4003,
        "Unsupported operation",
    ),
    (StatusCode::ValidationError, 4004, "Validation error"),
    (StatusCode::ServiceError, 4005, "Service error"),
    (StatusCode::ServiceUnavailable, 4006, "Service unavailable"),
    (StatusCode::ServiceDenied, 4007, "Service denied"),
];

impl StatusCode {
    /// All codes, in numeric order.
    pub fn all() -> impl Iterator<Item = StatusCode> {
        TABLE.iter().map(|(s, _, _)| *s)
    }

    /// The numeric MM7 code (1000, 2007, 4004, ...).
    pub fn code(self) -> u16 {
        TABLE
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or(4000, |(_, c, _)| *c)
    }

    /// The enum value of a numeric code, `None` for codes outside the standard table.
    pub fn from_code(code: u16) -> Option<StatusCode> {
        TABLE
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(s, _, _)| *s)
    }

    /// The standard status text (used when a builder is given an empty text).
    pub fn default_text(self) -> &'static str {
        TABLE
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("", |(_, _, t)| *t)
    }

    /// 1000 and 1100.
    pub fn is_success(self) -> bool {
        self.code() < 2000
    }

    /// Whether a SOAP fault for this code should say `Server` (else `Client`) in `faultcode`.
    pub fn is_server_fault(self) -> bool {
        matches!(self.code(), 3000..=3999 | 4005 | 4006)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.default_text())
    }
}
