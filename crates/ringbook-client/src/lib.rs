//! Ringbook's client SDK, used by the `ringbook` CLI and by the server's integration tests.
//!
//! - [`api`]: [`Client`], typed calls to the HTTP API, and [`ClientError`].
//! - [`services`]: service sharing between matched friends (SS-1 … SS-6).
//! - [`ws`]: the WebSocket connection ([`ws::Connection`]).
//! - [`official`]: official accounts (follow, write, inbox, developer mode).
//! - [`store`]: the client's own SQLite store in its home folder (PB-7): the own-user record, the
//!   device identity generated once, the session token.
// Library code must not panic on input; tests may unwrap.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod api;
pub mod contacts;
pub mod contacts_store;
pub mod messaging;
pub mod official;
pub mod openplatform;
pub mod profiles;
pub mod services;
pub mod store;
pub mod ws;

pub use reqwest::Method;

pub use api::{Client, ClientError};
pub use store::ClientStore;
