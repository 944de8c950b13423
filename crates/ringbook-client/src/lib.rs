//! Ringbook's client SDK, used by the `ringbook` CLI and by the server's integration tests.
//!
//! - [`api`]: [`Client`], typed calls to the HTTP API, and [`ClientError`].
//! - [`ws`]: the WebSocket connection ([`ws::Connection`]).
//! - [`store`]: the client's own SQLite store in its home folder (PB-7): the own-user record, the
//!   device identity generated once, the session token.

pub mod api;
pub mod openplatform;
pub mod store;
pub mod ws;

pub use reqwest::Method;

pub use api::{Client, ClientError};
pub use store::ClientStore;
