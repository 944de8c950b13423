//! The resolver's config file (TOML). It holds console passwords, so it must not be readable by
//! group or others (mode 0600); a looser file is refused with the command that fixes it.
//!
//! ```toml
//! listen = "127.0.0.1:9090"
//! platform = "http://127.0.0.1:8080"   # the Ringbook server whose console is used
//! data_dir = "./thirdparty-data"        # SQLite store and resolver.log
//! retry_ms = 5000                       # how often unresolved messages are retried
//!
//! [accounts.news]                       # one table per official account, by name
//! token = "tok3n"                       # the developer-mode token set on the platform
//! password = "console password"
//! ```

use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThirdPartyConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    pub platform: String,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default = "default_retry_ms")]
    pub retry_ms: u64,
    pub accounts: BTreeMap<String, AccountCreds>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountCreds {
    pub token: String,
    pub password: String,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9090))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./thirdparty-data")
}
fn default_retry_ms() -> u64 {
    5000
}

impl fmt::Debug for AccountCreds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountCreds")
            .field("token", &"***")
            .field("password", &"***")
            .finish()
    }
}

impl fmt::Debug for ThirdPartyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThirdPartyConfig")
            .field("listen", &self.listen)
            .field("platform", &self.platform)
            .field("data_dir", &self.data_dir)
            .field("accounts", &self.accounts.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ThirdPartyConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        check_permissions(path)?;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let cfg: ThirdPartyConfig =
            toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))?;
        if cfg.accounts.is_empty() {
            anyhow::bail!(
                "{} lists no [accounts.NAME]; add the accounts whose pushes this resolver receives",
                path.display()
            );
        }
        Ok(cfg)
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "{} holds console passwords but is readable by others (mode {:o}); run: chmod 600 {}",
            path.display(),
            mode,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn refuses_a_world_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tp.toml");
        std::fs::write(
            &p,
            "platform = \"http://x\"\n[accounts.a]\ntoken = \"t\"\npassword = \"p\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = ThirdPartyConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cfg = ThirdPartyConfig::load(&p).unwrap();
        assert!(!format!("{cfg:?}").contains("\"p\""));
    }
}
