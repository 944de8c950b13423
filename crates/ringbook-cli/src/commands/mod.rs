//! One module per command family.

pub mod admin;
pub mod auth;
pub mod chat;
pub mod contacts;
pub mod messaging;
pub mod monitor;
pub mod official;
pub mod openplatform;
pub mod presence;
pub mod profiles;
pub mod serve;
pub mod services;
