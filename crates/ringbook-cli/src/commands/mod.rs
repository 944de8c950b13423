//! One module per command family.

pub mod admin;
pub mod auth;
pub mod serve;
