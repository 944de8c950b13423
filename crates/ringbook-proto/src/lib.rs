//! Ringbook's wire protocol and domain types, shared by the server and the client SDK.
//!
//! Nothing here does I/O. Modules:
//! - [`phone`]: E.164 phone numbers, normalised with a real numbering-plan library (PB-1).
//! - [`device`]: the device identity a client presents at login (PB-2).
//! - [`api`]: JSON bodies of the HTTP API, requests and responses.
//! - [`error`]: the error body every failed request returns, with stable codes.
//! - [`ws`]: WebSocket frames, as closed enums tagged by `type`.

pub mod api;
pub mod device;
pub mod error;
pub mod openplatform;
pub mod phone;
pub mod ws;

pub use device::DeviceIdentity;
pub use error::ErrorBody;
pub use phone::{PhoneError, PhoneNumber};
