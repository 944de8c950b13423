//! Ringbook's wire protocol and domain types, shared by the server and the client SDK.
//!
//! Nothing here does I/O. Modules:
//! - [`phone`]: E.164 phone numbers, normalised with a real numbering-plan library (PB-1).
//! - [`device`]: the device identity a client presents at login (PB-2).
//! - [`api`]: JSON bodies of the HTTP API, requests and responses.
//! - [`error`]: the error body every failed request returns, with stable codes.
//! - [`ws`]: WebSocket frames, as closed enums tagged by `type`.
//! - [`messaging`]: chat history and block-list bodies.
//! - [`profiles`]: profiles, field visibility and number bindings (part MM).
//! - [`services`]: service sharing between matched friends (SS-1 … SS-6).
//! - [`official`]: official accounts, the console and the direct API (OA-1 … OA-5).
// Library code must not panic on input; tests may unwrap.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod api;
pub mod contacts;
pub mod device;
pub mod error;
pub mod messaging;
pub mod official;
pub mod openplatform;
pub mod phone;
pub mod presence;
pub mod profiles;
pub mod services;
pub mod ws;

pub use device::DeviceIdentity;
pub use error::ErrorBody;
pub use phone::{PhoneError, PhoneNumber};
