//! The state handed to every handler: no globals, so two servers can run in one test process.

use crate::config::Config;
use crate::ratelimit::KeyedLimiter;
use crate::shared::Core;
use crate::sms::SmsGateway;
use std::sync::Arc;

pub type AppState = Arc<App>;

pub struct App {
    /// What every part is built from (store, hub, metrics, keys, workers, …).
    pub core: Arc<Core>,
    pub config: Config,
    pub sms: SmsGateway,
    pub limits: Limits,
    /// Messaging's writer queue and send limiter.
    pub messaging: crate::messaging::Runtime,
    /// The official-account push worker's wake-up and concurrency bound.
    pub official: crate::official::Runtime,
    /// The service platform orders go to (SS), built once from `[services]`.
    pub platform: Box<dyn crate::services::platform::ServicePlatform>,
    /// The key that signs visitor tokens and derives pseudonyms (WV), read once at start.
    pub visitor_token_key: Vec<u8>,
    /// The bounded pool avatar conversions run in.
    pub avatars: crate::profiles::avatar::ConversionPool,
}

/// In-memory rate limiters; durable counters (wrong codes, rescue failures) live in the store.
pub struct Limits {
    pub codes_per_number: KeyedLimiter,
    pub codes_per_addr: KeyedLimiter,
    pub logins_per_addr: KeyedLimiter,
    pub rescue_changes_per_user: KeyedLimiter,
    pub mo_polls_per_addr: KeyedLimiter,
}

impl Limits {
    pub fn from_config(cfg: &Config) -> Self {
        let id = &cfg.identity;
        Limits {
            codes_per_number: KeyedLimiter::per_hour(id.codes_per_number_per_hour),
            codes_per_addr: KeyedLimiter::per_hour(id.codes_per_addr_per_hour),
            logins_per_addr: KeyedLimiter::per_minute(id.logins_per_addr_per_minute),
            rescue_changes_per_user: KeyedLimiter::per_hour(id.rescue_changes_per_hour),
            mo_polls_per_addr: KeyedLimiter::per_minute(id.mo_polls_per_addr_per_minute),
        }
    }
}

/// Milliseconds since the Unix epoch: every stored time uses this.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
