//! The core every part is built from: storage, live connections, metrics, this node's name, the
//! phone-number cache, the keys, the password pool and the worker supervisor. Nothing here knows
//! a product part; parts get an `Arc<Core>` and build their own state from it and their own
//! config section.

use crate::hub::Hub;
use crate::identity::PhoneCache;
use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::passwords::Passwords;
use crate::workers::Workers;
use ringbook_store::Store;

pub struct Core {
    pub store: Store,
    /// This node's live connections (PB-6).
    pub hub: Hub,
    pub metrics: Metrics,
    /// This node's name in the connection table (PB-6).
    pub node: String,
    /// Recently parsed phone numbers.
    pub phones: PhoneCache,
    /// The master key and what is derived from it.
    pub keys: Keys,
    /// The one bounded pool for argon2.
    pub passwords: Passwords,
    /// The one owner of every background task.
    pub workers: Workers,
}
