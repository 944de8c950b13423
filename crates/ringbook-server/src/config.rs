//! The server's configuration: one documented struct with defaults, read from a TOML file, then
//! `RINGBOOK_*` environment variables (nested keys joined by `__`, e.g.
//! `RINGBOOK_IDENTITY__SMS_CODE=false`), then command-line flags. See `ringbook.example.toml`.

use crate::secret::{CredentialUrl, Secret};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP/WebSocket listener binds.
    pub listen: SocketAddr,
    /// Folder for the SQLite database and the SMS outbox.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `sqlite://<data_dir>/ringbook.db`.
    pub database_url: Option<CredentialUrl>,
    /// SQLite durability: `normal` (survives a killed process) or `full` (fsync per commit,
    /// survives power loss).
    pub sqlite_synchronous: ringbook_store::SqliteSync,
    /// This node's name in the connection table (PB-6); default: the host name.
    pub node: Option<String>,
    /// Region used to read numbers written without a country code (ISO 3166, e.g. CN).
    pub default_region: String,
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed for the client address (e.g. a reverse proxy
    /// or load balancer). Every allow-list and rate limit uses the address derived through them.
    pub trusted_proxies: Vec<IpNet>,
    /// 64 hex digits: the key that protects secrets at rest (keyed hashes of codes and tokens,
    /// encrypted callback tokens and site secrets). Without it `<data_dir>/master.key` is
    /// created; set it on multi-node deployments. `openplatform.master_key` is its old name.
    pub master_key: Option<Secret>,
    /// The argon2 pool shared by every password check.
    pub passwords: crate::passwords::PasswordConfig,
    /// Connection guards: header-read timeout, per-address and total caps (`transport`).
    pub connections: crate::transport::ConnectionsConfig,
    /// Per-user budgets of WebSocket frames (`ws`).
    pub websocket: crate::ws::WebSocketConfig,
    pub identity: IdentityConfig,
    pub sms: SmsConfig,
    pub admin: AdminConfig,
    pub contacts: crate::contacts::ContactsConfig,
    pub presence: crate::presence::PresenceConfig,
    pub messaging: crate::messaging::MessagingConfig,
    pub profiles: crate::profiles::ProfilesConfig,
    pub openplatform: crate::openplatform::OpenPlatformConfig,
    pub official: crate::official::OfficialConfig,
    pub services: crate::services::ServicesConfig,
}

/// The four ways to prove a number (PB-3) and the login rules (PB-5).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// (a) SMS verification code.
    pub sms_code: bool,
    /// (b) number declared by the client: only for trusted deployments.
    pub declared_number: bool,
    /// (c) mobile-originated SMS carrying a token to `sms.service_number`.
    pub mo_sms: bool,
    /// (d) header enrichment by the operator's gateway.
    pub header_enrichment: bool,
    /// Header carrying the number for (d).
    pub msisdn_header: String,
    /// Gateways allowed to set that header (d); requests from elsewhere are refused.
    pub header_trusted_proxies: Vec<IpNet>,
    pub code_ttl_secs: u64,
    pub code_resend_secs: u64,
    pub code_max_attempts: i64,
    /// Codes sent per number per hour.
    pub codes_per_number_per_hour: u32,
    /// Codes requested per client address per hour.
    pub codes_per_addr_per_hour: u32,
    pub mo_token_ttl_secs: u64,
    /// Wrong rescue passwords before the account's rescue is locked.
    pub rescue_max_failures: i64,
    pub rescue_lock_secs: u64,
    /// Login attempts per client address per minute.
    pub logins_per_addr_per_minute: u32,
    /// Rescue-password changes per account per hour.
    pub rescue_changes_per_hour: u32,
    /// Polls of MO login tokens per client address per minute.
    pub mo_polls_per_addr_per_minute: u32,
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum SmsProvider {
    /// Appends one JSON object per SMS to `<data_dir>/sms-outbox.jsonl` (development).
    Outbox,
    /// Kannel's HTTP `sendsms` interface.
    Kannel,
    /// A generic HTTP/JSON provider: POST `{"to","from","text"}` to `url`.
    Http,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    /// The operator service number users text for MO login (PB-3 c) and replies.
    pub service_number: String,
    /// Kannel `sendsms` URL (e.g. http://127.0.0.1:13013/cgi-bin/sendsms) or the HTTP provider URL.
    pub url: Option<CredentialUrl>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Sent as `Authorization: Bearer` to the HTTP provider.
    pub api_key: Option<Secret>,
    pub timeout_secs: u64,
    pub retries: u32,
    /// Most SMS parts one text may take (a concatenated SMS); must not exceed Kannel's
    /// `max-messages`. A longer text is refused rather than cut.
    pub max_parts: u32,
    /// Ringbook's delivery-report callback as the gateway reaches it, e.g.
    /// `http://127.0.0.1:8080/v1/sms/dlr`. When set, Kannel is asked for delivery reports
    /// (`dlr-mask`, `dlr-url`); unset, an SMS stays "sent" once Kannel accepted it.
    pub dlr_url: Option<CredentialUrl>,
    /// Who may call the gateway callbacks (`/v1/sms/mo`, `/v1/sms/dlr`), by client address
    /// (behind `trusted_proxies`, the forwarded one); loopback by default.
    pub mo_allowed: Vec<IpNet>,
    /// Optional shared secret the gateway callbacks must carry: `Authorization: Bearer KEY`,
    /// HTTP basic auth with KEY as the password, or `key=KEY` in the query (Kannel's get-url can
    /// only do the last two; see docs/sms-gateways.md). Unset: the address check alone.
    pub mo_key: Option<Secret>,
    /// Reply to a text nobody was waiting for; empty (the default) for no reply — an automatic
    /// answer to every stray text can start a loop with another machine's auto-reply.
    pub mo_help_reply: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token for `/v1/admin/*`; when unset, only loopback callers may use them.
    pub token: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            sqlite_synchronous: Default::default(),
            node: None,
            default_region: "CN".into(),
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            master_key: None,
            passwords: Default::default(),
            connections: Default::default(),
            websocket: Default::default(),
            identity: IdentityConfig::default(),
            sms: SmsConfig::default(),
            admin: AdminConfig::default(),
            contacts: Default::default(),
            presence: Default::default(),
            messaging: Default::default(),
            profiles: Default::default(),
            openplatform: Default::default(),
            official: Default::default(),
            services: Default::default(),
        }
    }
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            sms_code: true,
            declared_number: false,
            mo_sms: true,
            header_enrichment: false,
            msisdn_header: "X-MSISDN".into(),
            header_trusted_proxies: Vec::new(),
            code_ttl_secs: 300,
            code_resend_secs: 60,
            code_max_attempts: 5,
            codes_per_number_per_hour: 5,
            codes_per_addr_per_hour: 30,
            mo_token_ttl_secs: 600,
            rescue_max_failures: 5,
            rescue_lock_secs: 900,
            logins_per_addr_per_minute: 60,
            rescue_changes_per_hour: 10,
            mo_polls_per_addr_per_minute: 300,
        }
    }
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            provider: SmsProvider::Outbox,
            service_number: "10690000".into(),
            url: None,
            username: None,
            password: None,
            api_key: None,
            timeout_secs: 5,
            retries: 2,
            max_parts: 4,
            dlr_url: None,
            mo_allowed: vec![loopback_v4(), loopback_v6()],
            mo_key: None,
            mo_help_reply: String::new(),
        }
    }
}

fn loopback_v4() -> IpNet {
    IpNet::new(IpAddr::from([127, 0, 0, 0]), 8).unwrap_or_default()
}

fn loopback_v6() -> IpNet {
    IpNet::new(IpAddr::from(std::net::Ipv6Addr::LOCALHOST), 128).unwrap_or_default()
}

/// Every top-level key of [`Config`], for the environment filter.
const TOP_LEVEL_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "sqlite_synchronous",
    "node",
    "default_region",
    "max_body_bytes",
    "trusted_proxies",
    "master_key",
    "passwords",
    "connections",
    "websocket",
    "identity",
    "sms",
    "admin",
    "contacts",
    "presence",
    "messaging",
    "profiles",
    "openplatform",
    "official",
    "services",
];

impl Config {
    /// File (if given), then environment, then `overrides` (the command-line flags).
    pub fn load(
        file: Option<&Path>,
        overrides: &ConfigOverrides,
    ) -> Result<Self, Box<figment::Error>> {
        let vars = std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        });
        Self::load_with_env(file, overrides, vars)
    }

    /// [`Config::load`] with the environment given (tests do not touch the process's).
    pub fn load_with_env(
        file: Option<&Path>,
        overrides: &ConfigOverrides,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            fig = fig.merge(Toml::file_exact(file));
        }
        fig = fig.merge(EnvText::from_vars(vars));
        fig = fig.merge(Serialized::defaults(overrides));
        // Lossy: the environment's text becomes a number or a boolean where the field is one.
        fig.extract_lossy().map_err(Box::new)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .as_ref()
            .map(|u| u.expose().to_owned())
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ringbook.db").display()))
    }

    /// The configured master key, under its current or its old name.
    pub fn configured_master_key(&self) -> anyhow::Result<Option<&str>> {
        match (&self.master_key, &self.openplatform.master_key) {
            (Some(a), Some(b)) if a.expose().trim() != b.expose().trim() => anyhow::bail!(
                "master_key and openplatform.master_key (its old name) are both set and differ"
            ),
            (Some(k), _) | (None, Some(k)) => Ok(Some(k.expose())),
            (None, None) => Ok(None),
        }
    }

    /// Every inconsistent setting at once, one line each, so an operator fixes them in one go
    /// rather than meeting them one request at a time.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut problems = Vec::new();
        let mut problem = |p: String| problems.push(p);

        if let Some(url) = &self.database_url {
            let u = url.expose();
            if !(u.starts_with("sqlite:")
                || u.starts_with("postgres://")
                || u.starts_with("postgresql://"))
            {
                problem(format!(
                    "database_url: {:?} is neither sqlite://… nor postgres://…",
                    ringbook_store::redact_url(u)
                ));
            }
        }
        if let Err(e) = ringbook_phonebook::number::Region::parse(&self.default_region) {
            problem(format!("default_region: {e}"));
        }
        if self.node.as_deref().is_some_and(|n| n.trim().is_empty()) {
            problem("node: an empty name; leave it out to use the host name".into());
        }
        if self.max_body_bytes < 1024 {
            problem(format!(
                "max_body_bytes: {} is too small for any request (at least 1024)",
                self.max_body_bytes
            ));
        }
        match self.configured_master_key() {
            Err(e) => problem(format!("master_key: {e}")),
            Ok(Some(k)) if !is_hex_key(k) => problem(
                "master_key: must be 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`"
                    .into(),
            ),
            Ok(_) => {}
        }
        if self
            .admin
            .token
            .as_ref()
            .is_some_and(|t| t.expose().trim().is_empty())
        {
            problem("admin.token: empty; leave it out to allow loopback callers only".into());
        }
        if self.passwords.workers == 0 {
            problem("passwords.workers: must be at least 1".into());
        }

        let id = &self.identity;
        if !(id.sms_code || id.declared_number || id.mo_sms || id.header_enrichment) {
            problem("identity: every way to prove a number is off (sms_code, declared_number, mo_sms, header_enrichment); nobody could log in".into());
        }
        if id.header_enrichment && id.header_trusted_proxies.is_empty() {
            problem("identity.header_enrichment: on, but identity.header_trusted_proxies is empty, so no gateway may set the header".into());
        }
        if id.code_max_attempts < 1 {
            problem("identity.code_max_attempts: must be at least 1".into());
        }
        if id.rescue_max_failures < 1 {
            problem("identity.rescue_max_failures: must be at least 1".into());
        }

        let sms = &self.sms;
        match (&sms.provider, &sms.url) {
            (SmsProvider::Kannel | SmsProvider::Http, None) => problem(format!(
                "sms.url: sms.provider = {:?} needs the gateway's URL",
                format!("{:?}", sms.provider).to_ascii_lowercase()
            )),
            (_, Some(url)) => check_url("sms.url", url.expose(), &mut problem),
            _ => {}
        }
        if sms.provider == SmsProvider::Kannel && (sms.username.is_none() || sms.password.is_none())
        {
            problem("sms.username and sms.password: sms.provider = \"kannel\" needs the sendsms user (docs/sms-gateways.md)".into());
        }
        if let Some(url) = &sms.dlr_url {
            check_url("sms.dlr_url", url.expose(), &mut problem);
        }
        if !(1..=255).contains(&sms.max_parts) {
            problem(format!(
                "sms.max_parts: {} is not between 1 and 255",
                sms.max_parts
            ));
        }
        if sms.timeout_secs == 0 {
            problem("sms.timeout_secs: must be at least 1".into());
        }
        if sms
            .mo_key
            .as_ref()
            .is_some_and(|k| k.expose().trim().is_empty())
        {
            problem("sms.mo_key: empty; leave it out to rely on sms.mo_allowed alone".into());
        }

        let prompts = &self.profiles.prompts;
        if prompts.via == crate::profiles::PromptVia::Mm7 && prompts.mmsc_url.is_none() {
            problem(
                "profiles.prompts.mmsc_url: profiles.prompts.via = \"mm7\" needs the MMSC's URL"
                    .into(),
            );
        }
        if let Some(url) = &prompts.mmsc_url {
            check_url("profiles.prompts.mmsc_url", url, &mut problem);
        }
        let mm7 = &self.profiles.mm7;
        if mm7.username.is_some() != mm7.password.is_some() {
            problem("profiles.mm7: set both username and password, or neither".into());
        }
        if self.profiles.avatar_conversions == 0 {
            problem("profiles.avatar_conversions: must be at least 1".into());
        }

        let services = &self.services;
        match (services.platform, &services.platform_url) {
            (crate::services::PlatformKind::Http, None) => problem(
                "services.platform_url: services.platform = \"http\" needs the platform's base URL"
                    .into(),
            ),
            (_, Some(url)) => check_url("services.platform_url", url, &mut problem),
            _ => {}
        }
        if self.official.push_concurrency == 0 {
            problem("official.push_concurrency: must be at least 1".into());
        }
        if self.messaging.queue == 0 || self.messaging.batch_max == 0 {
            problem("messaging.queue and messaging.batch_max: must be at least 1".into());
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(problems))
        }
    }

    pub fn node_name(&self) -> String {
        self.node.clone().unwrap_or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "node-1".into())
        })
    }
}

/// What [`Config::validate`] found: one problem per line.
#[derive(Debug, thiserror::Error)]
#[error("the configuration has {} problem(s):\n{}", .0.len(), .0.join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

fn is_hex_key(k: &str) -> bool {
    let k = k.trim();
    k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_url(key: &str, url: &str, problem: &mut impl FnMut(String)) {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(_) => problem(format!(
            "{key}: {:?} is not an http:// or https:// URL",
            ringbook_store::redact_url(url)
        )),
        Err(e) => problem(format!(
            "{key}: {:?} is not a URL ({e})",
            ringbook_store::redact_url(url)
        )),
    }
}

/// The `RINGBOOK_*` environment, as text: `RINGBOOK_SMS__PASSWORD` is the key `sms.password`.
///
/// Why not figment's `Env`: it guesses types from the text, so `RINGBOOK_SMS__PASSWORD=123456`
/// became a number and the string setting refused it ("found unsigned int"), and `007` would
/// have lost its zeros. Here every scalar stays the text it was written as, and
/// [`Config::load`] extracts lossily, which reads text as a number or a boolean exactly where
/// the field is one — so the rule holds for every setting of every section, present and future.
/// Lists and tables (`[10.0.0.0/8, 127.0.0.1/32]`) are still parsed, their items kept as text.
struct EnvText(Vec<(String, String)>);

impl EnvText {
    fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let keys = vars
            .into_iter()
            .filter_map(|(name, value)| {
                let rest = name
                    .get(..9)
                    .filter(|p| p.eq_ignore_ascii_case("RINGBOOK_"))
                    .and(name.get(9..))?;
                let key = rest.trim().to_ascii_lowercase().replace("__", ".");
                // Only keys of this struct: other RINGBOOK_* variables (the client's
                // RINGBOOK_SERVER, test settings) must not trip `deny_unknown_fields`.
                let top = key.split('.').next().unwrap_or_default();
                (TOP_LEVEL_KEYS.contains(&top) && !key.split('.').any(str::is_empty))
                    .then_some((key, value))
            })
            .collect();
        EnvText(keys)
    }
}

impl figment::Provider for EnvText {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variable(s)")
            .interpolater(|_, keys| format!("RINGBOOK_{}", keys.join("__").to_ascii_uppercase()))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        use figment::value::{Dict, Value};
        let mut dict = Dict::new();
        for (key, raw) in &self.0 {
            let trimmed = raw.trim_start();
            let value = if trimmed.starts_with('[') || trimmed.starts_with('{') {
                scalars_as_text(raw.parse::<Value>().unwrap_or_else(|e| match e {}))
            } else {
                Value::from(raw.clone())
            };
            if let Some(nested) = figment::util::nest(key, value).into_dict() {
                dict = merge_dicts(dict, nested);
            }
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// Later keys win, nested tables merge (as figment's own `Env` does).
fn merge_dicts(mut into: figment::value::Dict, from: figment::value::Dict) -> figment::value::Dict {
    use figment::value::Value;
    for (k, v) in from {
        let merged = match (into.remove(&k), v) {
            (Some(Value::Dict(_, a)), Value::Dict(tag, b)) => Value::Dict(tag, merge_dicts(a, b)),
            (_, v) => v,
        };
        into.insert(k, merged);
    }
    into
}

fn scalars_as_text(v: figment::value::Value) -> figment::value::Value {
    use figment::error::Actual;
    use figment::value::Value;
    match v {
        Value::Num(tag, n) => {
            let text = match n.to_actual() {
                Actual::Unsigned(u) => u.to_string(),
                Actual::Signed(i) => i.to_string(),
                Actual::Float(f) => f.to_string(),
                other => other.to_string(),
            };
            Value::String(tag, text)
        }
        Value::Bool(tag, b) => Value::String(tag, b.to_string()),
        Value::Char(tag, c) => Value::String(tag, c.to_string()),
        Value::Array(tag, items) => {
            Value::Array(tag, items.into_iter().map(scalars_as_text).collect())
        }
        Value::Dict(tag, d) => Value::Dict(
            tag,
            d.into_iter()
                .map(|(k, v)| (k, scalars_as_text(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Command-line flags of `ringbook serve`; only the ones given override the rest.
#[derive(Clone, Default, Serialize)]
pub struct ConfigOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--allow-private-callbacks` → `official.allow_private_callbacks`.
    #[serde(
        rename = "official",
        skip_serializing_if = "Option::is_none",
        serialize_with = "official_override"
    )]
    pub allow_private_callbacks: Option<bool>,
}

/// Serialises the flag as the nested `official.allow_private_callbacks` key.
fn official_override<S: serde::Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry("allow_private_callbacks", v)?;
    m.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_debug_redacts() {
        let mut cfg = Config::load(None, &ConfigOverrides::default()).unwrap();
        assert_eq!(cfg.default_region, "CN");
        cfg.sms.password = Some("hunter2".into());
        cfg.database_url = Some("postgres://rb:pw@db/rb".into());
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(":pw@"),
            "{shown}"
        );
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn nested_environment_overrides_apply() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RINGBOOK_IDENTITY__DECLARED_NUMBER", "true");
            jail.set_env("RINGBOOK_DEFAULT_REGION", "GB");
            jail.set_env("RINGBOOK_SERVER", "http://ignored.example");
            jail.set_env("RINGBOOK_SQLITE_SYNCHRONOUS", "full");
            let cfg = Config::load(None, &ConfigOverrides::default()).map_err(|e| e.to_string())?;
            assert!(cfg.identity.declared_number);
            assert_eq!(cfg.default_region, "GB");
            assert_eq!(cfg.sqlite_synchronous, ringbook_store::SqliteSync::Full);
            Ok(())
        });
    }

    #[test]
    fn an_unknown_durability_level_is_refused_by_name() {
        // A file, not the environment: other tests load the configuration in parallel.
        let path = std::env::temp_dir().join(format!("rb-config-{}.toml", std::process::id()));
        std::fs::write(&path, "sqlite_synchronous = \"sometimes\"\n").unwrap();
        let err = Config::load(Some(&path), &ConfigOverrides::default())
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        assert!(err.contains("sometimes"), "{err}");
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn digits_from_the_environment_stay_text_where_text_is_wanted() {
        let cfg = Config::load_with_env(
            None,
            &ConfigOverrides::default(),
            env(&[
                ("RINGBOOK_SMS__SERVICE_NUMBER", "10690000"),
                ("RINGBOOK_SMS__PASSWORD", "007123"),
                ("RINGBOOK_SMS__USERNAME", "42"),
                ("RINGBOOK_ADMIN__TOKEN", "123456"),
                ("RINGBOOK_SMS__RETRIES", "7"),
                ("RINGBOOK_IDENTITY__DECLARED_NUMBER", "true"),
                ("RINGBOOK_TRUSTED_PROXIES", "[10.0.0.0/8, 192.168.0.0/16]"),
                ("RINGBOOK_SERVER", "http://ignored.example"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.sms.service_number, "10690000");
        assert_eq!(
            cfg.sms.password.as_ref().map(Secret::expose),
            Some("007123"),
            "zeros kept"
        );
        assert_eq!(cfg.sms.username.as_deref(), Some("42"));
        assert_eq!(cfg.admin.token.as_ref().map(Secret::expose), Some("123456"));
        assert_eq!(cfg.sms.retries, 7);
        assert!(cfg.identity.declared_number);
        assert_eq!(cfg.trusted_proxies.len(), 2);
        // A number where a number is wanted is still checked.
        let err = Config::load_with_env(
            None,
            &ConfigOverrides::default(),
            env(&[("RINGBOOK_SMS__RETRIES", "many")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("RINGBOOK_SMS__RETRIES"), "{err}");
    }

    /// Every text setting of every section, found by walking the defaults: digits from the
    /// environment never fail as a wrong type.
    #[test]
    fn every_text_setting_accepts_digits_from_the_environment() {
        use figment::value::Value;
        fn leaves(prefix: &str, v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Dict(_, d) => {
                    for (k, v) in d {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}__{k}")
                        };
                        leaves(&key, v, out);
                    }
                }
                // Text, and unset options (Option<String> among them).
                Value::String(..) | Value::Empty(..) => out.push(prefix.to_string()),
                _ => {}
            }
        }
        use figment::Provider;
        let defaults = Serialized::defaults(Config::default())
            .data()
            .unwrap()
            .remove(&figment::Profile::Default)
            .unwrap();
        let mut keys = Vec::new();
        leaves("", &Value::from(defaults), &mut keys);
        assert!(keys.iter().any(|k| k == "sms__password"), "{keys:?}");
        assert!(keys.len() > 20, "{keys:?}");
        for key in keys {
            let var = format!("RINGBOOK_{}", key.to_ascii_uppercase());
            if let Err(e) = Config::load_with_env(
                None,
                &ConfigOverrides::default(),
                env(&[(var.as_str(), "10690000")]),
            ) {
                let e = e.to_string();
                assert!(!e.contains("invalid type"), "{var}: {e}");
            }
        }
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ringbook.example.toml");
        Config::load(Some(&path), &ConfigOverrides::default()).unwrap();
    }
}

#[cfg(test)]
mod validate_tests {
    use super::*;

    fn problems(tweak: impl FnOnce(&mut Config)) -> Vec<String> {
        let mut cfg = Config::default();
        tweak(&mut cfg);
        match cfg.validate() {
            Ok(()) => Vec::new(),
            Err(ConfigErrors(p)) => p,
        }
    }

    fn one(tweak: impl FnOnce(&mut Config), key: &str) {
        let p = problems(tweak);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with(key), "{p:?}");
    }

    #[test]
    fn the_defaults_and_the_example_file_are_consistent() {
        assert_eq!(problems(|_| {}), Vec::<String>::new());
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ringbook.example.toml");
        let cfg = Config::load(Some(&path), &ConfigOverrides::default()).unwrap();
        cfg.validate().unwrap();
    }

    #[test]
    fn each_inconsistent_setting_is_one_line_naming_its_key() {
        use crate::services::PlatformKind;
        one(
            |c| c.services.platform = PlatformKind::Http,
            "services.platform_url",
        );
        one(
            |c| c.services.platform_url = Some("ftp://sp.example".into()),
            "services.platform_url",
        );
        one(|c| c.master_key = Some("abc".into()), "master_key");
        one(
            |c| {
                c.master_key = Some("00".repeat(32).as_str().into());
                c.openplatform.master_key = Some("11".repeat(32).as_str().into());
            },
            "master_key",
        );
        one(
            |c| {
                c.sms.provider = SmsProvider::Kannel;
                c.sms.username = Some("ringbook".into());
                c.sms.password = Some("secret".into());
            },
            "sms.url",
        );
        one(
            |c| {
                c.sms.provider = SmsProvider::Kannel;
                c.sms.url = Some("http://127.0.0.1:13013/cgi-bin/sendsms".into());
            },
            "sms.username",
        );
        one(|c| c.sms.url = Some("not a url".into()), "sms.url");
        one(
            |c| c.sms.dlr_url = Some("127.0.0.1/dlr".into()),
            "sms.dlr_url",
        );
        one(|c| c.sms.max_parts = 0, "sms.max_parts");
        one(|c| c.sms.mo_key = Some(" ".into()), "sms.mo_key");
        one(|c| c.default_region = "XX".into(), "default_region");
        one(
            |c| c.database_url = Some("mysql://db/rb".into()),
            "database_url",
        );
        one(|c| c.node = Some("".into()), "node");
        one(|c| c.admin.token = Some("".into()), "admin.token");
        one(|c| c.passwords.workers = 0, "passwords.workers");
        one(
            |c| {
                c.identity.sms_code = false;
                c.identity.mo_sms = false;
            },
            "identity:",
        );
        one(
            |c| c.identity.header_enrichment = true,
            "identity.header_enrichment",
        );
        one(
            |c| c.identity.code_max_attempts = 0,
            "identity.code_max_attempts",
        );
        one(
            |c| c.profiles.prompts.via = crate::profiles::PromptVia::Mm7,
            "profiles.prompts.mmsc_url",
        );
        one(
            |c| c.profiles.mm7.username = Some("mmsc".into()),
            "profiles.mm7",
        );
        one(
            |c| c.official.push_concurrency = 0,
            "official.push_concurrency",
        );
        one(|c| c.messaging.batch_max = 0, "messaging.queue");
    }

    #[test]
    fn all_problems_are_reported_at_once_and_no_secret_is_shown() {
        let err = Config {
            master_key: Some("not-hex-hunter2".into()),
            sms: SmsConfig {
                provider: SmsProvider::Http,
                dlr_url: Some("postgres://u:hunter2@x".into()),
                ..SmsConfig::default()
            },
            ..Config::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        let text = err.to_string();
        assert!(text.contains("3 problem(s)"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[cfg(test)]
mod official_override_tests {
    use super::*;

    #[test]
    fn allow_private_callbacks_flag_reaches_the_official_section() {
        let cfg = Config::load(None, &ConfigOverrides::default()).unwrap();
        assert!(!cfg.official.allow_private_callbacks);
        let o = ConfigOverrides {
            allow_private_callbacks: Some(true),
            ..Default::default()
        };
        let cfg = Config::load(None, &o).unwrap();
        assert!(cfg.official.allow_private_callbacks);
        assert_eq!(cfg.official.push_timeout_secs, 5);
    }
}
