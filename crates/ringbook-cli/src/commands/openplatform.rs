//! Open platform commands (WV-1 … WV-6, X-1): the visitor's consents and disclosure log, the
//! operator's site registration, the demo website, and starting the local agent websites ask
//! (the agent itself is [`crate::agent`]).

use crate::agent::{self, WhenAsked};
use crate::ctx::Global;
use anyhow::Context;
use ringbook_proto::openplatform::{Choice, RegisterSite, SetConsent};
use std::net::SocketAddr;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Run the local agent that registered websites' pages ask "who is this visitor?".
    Agent(AgentArgs),
    /// Your standing choices per website (ask, allow, deny) and the fields you share.
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// What was disclosed to websites, newest first.
    #[command(subcommand)]
    Privacy(PrivacyCmd),
    /// Operator: register and list websites of the open platform.
    #[command(subcommand)]
    Site(SiteCmd),
    /// Run the demo website (a shop that recognises consenting visitors).
    #[command(name = "demo-site")]
    DemoSite(DemoArgs),
}

#[derive(clap::Args)]
pub struct AgentArgs {
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1:47800")]
    listen: SocketAddr,
    /// What to do when your standing choice for a site is `ask`: ask at this terminal (`ask`),
    /// or answer without asking (`allow` saves allow for the site, `deny` answers none).
    #[arg(long, value_enum, default_value = "ask")]
    answer: WhenAsked,
    /// Fields to allow when you say yes.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "name,company,title,email,phone"
    )]
    fields: Vec<String>,
}

#[derive(clap::Subcommand)]
pub enum ConsentCmd {
    /// List your standing choices.
    List,
    /// Allow a site (ID or name) these fields.
    Allow {
        site: String,
        #[arg(long, value_delimiter = ',', required = true)]
        fields: Vec<String>,
        /// Also put your number in its tokens and let it look you up by number.
        #[arg(long)]
        raw_id: bool,
    },
    /// Never share with a site.
    Deny { site: String },
    /// Ask every time (the default).
    Ask { site: String },
    /// Withdraw consent: nothing more is shared with the site.
    Revoke { site: String },
    /// Show or set the fields websites may receive (each still needs per-site consent).
    Profile {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        age: Option<i64>,
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum PrivacyCmd {
    /// The disclosure log.
    Log {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(clap::Subcommand)]
pub enum SiteCmd {
    /// Register a website; prints its ID and (once) its shared secret.
    Register {
        #[arg(long)]
        name: String,
        /// An origin its pages come from (repeatable), e.g. https://shop.example.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// An address or CIDR its server calls from (repeatable).
        #[arg(long = "addr", required = true)]
        addrs: Vec<String>,
        /// Do not generate a shared secret (then give --public-key).
        #[arg(long)]
        no_secret: bool,
        /// Base64 Ed25519 public key.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// List registered websites.
    List,
    /// Remove a website.
    Remove { id: i64 },
}

#[derive(clap::Args)]
pub struct DemoArgs {
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// The site's ID at the Ringbook server.
    #[arg(long)]
    site_id: i64,
    /// The site's shared secret.
    #[arg(long, env = "RINGBOOK_SITE_SECRET", hide_env_values = true)]
    secret: String,
    /// The visitor's agent as their browser reaches it.
    #[arg(long, default_value = "http://127.0.0.1:47800")]
    agent_url: String,
    /// Folder of the site's own data (customers.db, mail-outbox/, sms-outbox.jsonl).
    #[arg(long, default_value = "./demo-site")]
    data: std::path::PathBuf,
    /// COMPANY=NUMBER: the account manager of a company (repeatable).
    #[arg(long = "manager")]
    managers: Vec<String>,
    /// host:port of an SMTP relay instead of the file outbox.
    #[arg(long)]
    smtp: Option<String>,
    #[arg(long, default_value = "Acme Supplies <news@acme.example>")]
    mail_from: String,
}

pub async fn run(global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Agent(a) => run_agent(global, a).await,
        Cmd::Consent(c) => consent(global, c).await,
        Cmd::Privacy(PrivacyCmd::Log { limit }) => {
            let ctx = global.ctx().await?;
            let log = ctx.authed()?.op_disclosures(limit).await?;
            if log.is_empty() {
                println!("Nothing was disclosed to websites.");
            }
            for d in log {
                let fields = if d.fields.is_empty() {
                    "(no fields)".to_string()
                } else {
                    d.fields.join(",")
                };
                println!(
                    "{}  {}  {}  {}  from {}",
                    crate::time::utc_z(d.at),
                    d.site_name,
                    d.purpose,
                    fields,
                    d.caller_addr
                );
            }
            Ok(())
        }
        Cmd::Site(s) => site(global, s).await,
        Cmd::DemoSite(d) => demo(global, d).await,
    }
}

async fn consent(global: &Global, cmd: ConsentCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let c = ctx.authed()?;
    let show = |i: &ringbook_proto::openplatform::ConsentInfo| {
        let fields = if i.fields.is_empty() {
            "-".to_string()
        } else {
            i.fields.join(",")
        };
        let raw = if i.raw_id { " (number shared)" } else { "" };
        println!(
            "{} [{}]  {}  {}{}",
            i.site_name,
            i.site_id,
            i.choice.as_str(),
            fields,
            raw
        );
    };
    match cmd {
        ConsentCmd::List => {
            let list = c.op_consents().await?;
            if list.is_empty() {
                println!("No website has asked yet.");
            }
            list.iter().for_each(show);
        }
        ConsentCmd::Allow {
            site,
            fields,
            raw_id,
        } => show(
            &c.op_set_consent(
                &site,
                &SetConsent {
                    choice: Choice::Allow,
                    fields,
                    raw_id,
                },
            )
            .await?,
        ),
        ConsentCmd::Deny { site } => show(
            &c.op_set_consent(
                &site,
                &SetConsent {
                    choice: Choice::Deny,
                    fields: vec![],
                    raw_id: false,
                },
            )
            .await?,
        ),
        ConsentCmd::Ask { site } => show(
            &c.op_set_consent(
                &site,
                &SetConsent {
                    choice: Choice::Ask,
                    fields: vec![],
                    raw_id: false,
                },
            )
            .await?,
        ),
        ConsentCmd::Revoke { site } => {
            let i = c.op_revoke(&site).await?;
            println!(
                "Consent for {} withdrawn: nothing more is shared with it.",
                i.site_name
            );
        }
        ConsentCmd::Profile {
            name,
            age,
            company,
            title,
            email,
        } => {
            let mut p = c.op_profile().await?;
            if name.is_some()
                || age.is_some()
                || company.is_some()
                || title.is_some()
                || email.is_some()
            {
                p.phone = None;
                if name.is_some() {
                    p.name = name;
                }
                if age.is_some() {
                    p.age = age;
                }
                if company.is_some() {
                    p.company = company;
                }
                if title.is_some() {
                    p.title = title;
                }
                if email.is_some() {
                    p.email = email;
                }
                p = c.op_set_profile(&p).await?;
            }
            let v = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
            println!("name:    {}", v(&p.name));
            println!(
                "age:     {}",
                p.age.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
            );
            println!("company: {}", v(&p.company));
            println!("title:   {}", v(&p.title));
            println!("email:   {}", v(&p.email));
            println!("phone:   {}", v(&p.phone));
        }
    }
    Ok(())
}

async fn site(global: &Global, cmd: SiteCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let client = ctx.admin_client()?;
    match cmd {
        SiteCmd::Register {
            name,
            origins,
            addrs,
            no_secret,
            public_key,
        } => {
            let r = client
                .op_register_site(&RegisterSite {
                    name,
                    origins,
                    allowed_addrs: addrs,
                    shared_secret: !no_secret,
                    public_key,
                })
                .await?;
            println!("site-id: {}", r.site.id);
            println!("name: {}", r.site.name);
            println!("origins: {}", r.site.origins.join(" "));
            println!("addresses: {}", r.site.allowed_addrs.join(" "));
            if let Some(s) = r.secret {
                println!("secret: {s}");
                eprintln!("Keep the secret now: it is not shown again.");
            }
        }
        SiteCmd::List => {
            for s in client.op_sites().await? {
                let creds = match (s.has_secret, s.public_key.is_some()) {
                    (true, true) => "secret+key",
                    (true, false) => "secret",
                    _ => "key",
                };
                println!(
                    "{} {}  {}  {}  {creds}",
                    s.id,
                    s.name,
                    s.origins.join(","),
                    s.allowed_addrs.join(",")
                );
            }
        }
        SiteCmd::Remove { id } => {
            client.op_remove_site(id).await?;
            println!("site {id} removed");
        }
    }
    Ok(())
}

async fn demo(global: &Global, d: DemoArgs) -> anyhow::Result<()> {
    let server = match &global.server {
        Some(s) => s.clone(),
        None => global.ctx().await?.server,
    };
    let mut managers = Vec::new();
    for m in &d.managers {
        let (company, number) = m
            .split_once('=')
            .with_context(|| format!("--manager '{m}': write COMPANY=NUMBER"))?;
        managers.push((company.trim().to_string(), number.trim().to_string()));
    }
    let cfg = ringbook_demo_site::DemoConfig {
        server,
        site_id: d.site_id,
        secret: d.secret,
        agent_url: d.agent_url.trim_end_matches('/').to_string(),
        db_path: d.data.join("customers.db"),
        managers,
        mail_outbox: d.data.join("mail-outbox"),
        smtp_relay: d.smtp,
        mail_from: d.mail_from,
        sms_outbox: d.data.join("sms-outbox.jsonl"),
    };
    let listener = tokio::net::TcpListener::bind(d.listen)
        .await
        .with_context(|| format!("cannot listen on {}", d.listen))?;
    println!("demo site on http://{}", listener.local_addr()?);
    ringbook_demo_site::run(listener, cfg, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// `ringbook agent`: the server itself is [`crate::agent`].
async fn run_agent(global: &Global, a: AgentArgs) -> anyhow::Result<()> {
    // Wrong arguments are told before the store is opened.
    let settings = agent::Settings::new(a.listen, a.answer, a.fields)?;
    let ctx = global.ctx().await?;
    agent::run(ctx.authed()?.clone(), settings).await
}
