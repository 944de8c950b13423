//! Settings that must never reach a log: their `Debug` is their type's, not each struct's, so
//! every config section can derive `Debug` and a new field can never silently drop out of (or
//! leak into) the start-up log.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A password, token or key from the configuration. `Debug` shows `***`; the text is read with
/// [`Secret::expose`], which names every place that needs it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// A URL that may carry credentials (`postgres://user:password@host/db`, a gateway URL with
/// `?password=`): `Debug` shows it with them masked.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CredentialUrl(String);

impl CredentialUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CredentialUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", ringbook_store::redact_url(&self.0))
    }
}

impl From<&str> for CredentialUrl {
    fn from(s: &str) -> Self {
        CredentialUrl(s.to_owned())
    }
}

impl From<String> for CredentialUrl {
    fn from(s: String) -> Self {
        CredentialUrl(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
        let u = CredentialUrl::from("postgres://rb:pw@db/rb");
        assert!(!format!("{u:?}").contains("pw@"), "{u:?}");
    }

    #[test]
    fn serde_reads_and_writes_the_plain_text() {
        let s: Secret = serde_json::from_str("\"007\"").unwrap();
        assert_eq!(s.expose(), "007");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"007\"");
    }
}
