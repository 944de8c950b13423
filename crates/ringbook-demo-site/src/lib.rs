//! A demo website on Ringbook's open platform (WV-1 … WV-6), built on `ringbook-sitekit`.
//!
//! - `GET /` serves a page whose script asks the visitor's local agent
//!   (`<agent>/v1/visitor`) for a token and posts it to `POST /api/visit`.
//! - `/api/visit` answers at once (202) and looks the visitor up in a background task (WV-6):
//!   the allowed fields go into the site's own `customers` table (SQLite); the visitor's company
//!   picks an account manager from the `managers` table (company → Ringbook number), who gets a
//!   Ringbook message from the visitor (WV-4); product news goes out by email (lettre; a file
//!   outbox by default) and by SMS (a JSON-lines outbox standing in for the site's gateway) (WV-5).
//! - `GET /api/customers` lists the customer table (for the operator and tests).

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use lettre::{AsyncTransport, Message};
use ringbook_sitekit::{Credentials, SiteClient};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::Row;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// The Ringbook server.
    pub server: String,
    pub site_id: i64,
    pub secret: String,
    /// Where the visitor's agent listens, as the browser reaches it.
    pub agent_url: String,
    /// The site's own database (customers, managers).
    pub db_path: PathBuf,
    /// company → manager's Ringbook number (added to the managers table at start).
    pub managers: Vec<(String, String)>,
    /// lettre's file outbox (one .eml per email) when no SMTP relay is given.
    pub mail_outbox: PathBuf,
    /// `host:port` of an SMTP relay (plain, for a local relay); replaces the file outbox.
    pub smtp_relay: Option<String>,
    pub mail_from: String,
    /// JSON lines, one per product-news SMS.
    pub sms_outbox: PathBuf,
}

struct Demo {
    cfg: DemoConfig,
    kit: SiteClient,
    db: SqlitePool,
}

type Shared = Arc<Demo>;

/// Serves the demo site on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    cfg: DemoConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let kit = SiteClient::new(
        &cfg.server,
        cfg.site_id,
        Credentials::SharedSecret(cfg.secret.clone()),
    )?;
    if let Some(dir) = cfg.db_path.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    std::fs::create_dir_all(&cfg.mail_outbox).with_context(|| {
        format!(
            "cannot create the mail outbox {}",
            cfg.mail_outbox.display()
        )
    })?;
    let db = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&cfg.db_path)
            .create_if_missing(true),
    )
    .await
    .with_context(|| format!("cannot open {}", cfg.db_path.display()))?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS customers (
            visitor TEXT PRIMARY KEY, name TEXT, age INTEGER, company TEXT, title TEXT, email TEXT,
            phone TEXT, manager TEXT, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
            visits INTEGER NOT NULL DEFAULT 1);
         CREATE TABLE IF NOT EXISTS managers (company TEXT PRIMARY KEY, phone TEXT NOT NULL);",
    )
    .execute(&db)
    .await?;
    for (company, phone) in &cfg.managers {
        sqlx::query("INSERT INTO managers (company, phone) VALUES (?1, ?2) ON CONFLICT (company) DO UPDATE SET phone = ?2")
            .bind(company.to_lowercase())
            .bind(phone)
            .execute(&db)
            .await?;
    }
    let state = Arc::new(Demo { cfg, kit, db });
    let app = Router::new()
        .route("/", get(page))
        .route("/api/visit", post(visit))
        .route("/api/customers", get(customers))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn page(State(s): State<Shared>) -> Html<String> {
    let agent = serde_json::to_string(&s.cfg.agent_url).unwrap_or_else(|_| "\"\"".into());
    Html(format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Acme Supplies — demo shop</title></head>
<body>
<h1>Acme Supplies</h1>
<p id="catalogue">Our catalogue: industrial fasteners, adhesives and tools.</p>
<p id="status">Welcome, visitor.</p>
<script>
(async () => {{
  const status = document.getElementById('status');
  try {{
    const r = await fetch({agent} + '/v1/visitor', {{ cache: 'no-store' }});
    const a = await r.json();
    if (a.visitor === 'token') {{
      const v = await fetch('/api/visit', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }},
                                            body: JSON.stringify({{ token: a.token }}) }});
      status.textContent = v.status === 202 ? 'Welcome back — we are getting your account manager.' : 'Welcome, visitor.';
      status.dataset.state = 'shared';
    }} else {{
      status.dataset.state = 'anonymous';
    }}
  }} catch (e) {{
    status.dataset.state = 'no-agent';
  }}
}})();
</script>
</body></html>"#
    ))
}

#[derive(Deserialize)]
struct Visit {
    token: String,
}

/// Answers at once; the look-up and what follows run in the background (WV-6).
async fn visit(State(s): State<Shared>, Json(v): Json<Visit>) -> impl IntoResponse {
    if ringbook_sitekit::peek_claims(&v.token, s.cfg.site_id).is_err() {
        return StatusCode::BAD_REQUEST;
    }
    tokio::spawn(async move {
        if let Err(e) = follow_up(&s, &v.token).await {
            tracing::warn!(error = %e, "visitor follow-up failed");
        }
    });
    StatusCode::ACCEPTED
}

fn now_s() -> i64 {
    ringbook_sitekit::unix_now()
}

async fn follow_up(s: &Demo, token: &str) -> anyhow::Result<()> {
    let ans = s.kit.lookup_token(token).await?;
    let f = &ans.fields;
    let manager: Option<String> = match &f.company {
        Some(c) => sqlx::query("SELECT phone FROM managers WHERE company = ?1")
            .bind(c.to_lowercase())
            .fetch_optional(&s.db)
            .await?
            .map(|r| r.get::<String, _>("phone")),
        None => None,
    };
    let now = now_s();
    sqlx::query(
        "INSERT INTO customers (visitor, name, age, company, title, email, phone, manager, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
         ON CONFLICT (visitor) DO UPDATE SET name = ?2, age = ?3, company = ?4, title = ?5, email = ?6,
           phone = ?7, manager = ?8, last_seen = ?9, visits = customers.visits + 1",
    )
    .bind(&ans.visitor)
    .bind(&f.name)
    .bind(f.age)
    .bind(&f.company)
    .bind(&f.title)
    .bind(&f.email)
    .bind(&f.phone)
    .bind(&manager)
    .bind(now)
    .execute(&s.db)
    .await?;

    if let Some(m) = &manager {
        let who = f.name.clone().unwrap_or_else(|| "A visitor".into());
        let company = f.company.clone().unwrap_or_default();
        let text = format!("{who} from {company} is browsing the shop now; reply here to help.");
        match s.kit.message_from_visitor(token, m, &text).await {
            Ok(_) => {}
            Err(e) => tracing::info!(error = %e, "could not message the account manager"),
        }
    }
    if let Some(email) = &f.email {
        send_news_email(s, email, f.name.as_deref()).await?;
    }
    if let Some(phone) = &f.phone {
        send_news_sms(s, phone)?;
    }
    Ok(())
}

const NEWS: &str =
    "New this month: stainless fasteners in bulk packs, 10% off for account customers.";

async fn send_news_email(s: &Demo, to: &str, name: Option<&str>) -> anyhow::Result<()> {
    let to_box = match name {
        Some(n) => format!("{n} <{to}>"),
        None => to.to_string(),
    };
    let msg = Message::builder()
        .from(
            s.cfg
                .mail_from
                .parse()
                .context("mail_from is not an address")?,
        )
        .to(to_box
            .parse()
            .or_else(|_| to.parse())
            .context("the visitor's email is not an address")?)
        .subject("Acme Supplies — product news")
        .body(format!(
            "Hello{},\n\n{NEWS}\n",
            name.map(|n| format!(" {n}")).unwrap_or_default()
        ))?;
    match &s.cfg.smtp_relay {
        Some(relay) => {
            let (host, port) = relay.rsplit_once(':').unwrap_or((relay.as_str(), "25"));
            let t = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(host)
                .port(port.parse().unwrap_or(25))
                .build();
            t.send(msg).await?;
        }
        None => {
            let t = lettre::AsyncFileTransport::<lettre::Tokio1Executor>::new(&s.cfg.mail_outbox);
            t.send(msg).await?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Sms<'a> {
    to: &'a str,
    text: &'a str,
    at: i64,
}

fn send_news_sms(s: &Demo, to: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let line = serde_json::to_string(&Sms {
        to,
        text: NEWS,
        at: now_s(),
    })?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&s.cfg.sms_outbox)?;
    writeln!(f, "{line}")?;
    Ok(())
}

#[derive(Serialize)]
struct Customer {
    visitor: String,
    name: Option<String>,
    age: Option<i64>,
    company: Option<String>,
    title: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    manager: Option<String>,
    visits: i64,
}

async fn customers(State(s): State<Shared>) -> Result<Json<Vec<Customer>>, StatusCode> {
    let rows = sqlx::query(
        "SELECT visitor, name, age, company, title, email, phone, manager, visits FROM customers ORDER BY first_seen",
    )
    .fetch_all(&s.db)
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(
        rows.iter()
            .map(|r| Customer {
                visitor: r.get("visitor"),
                name: r.get("name"),
                age: r.get("age"),
                company: r.get("company"),
                title: r.get("title"),
                email: r.get("email"),
                phone: r.get("phone"),
                manager: r.get("manager"),
                visits: r.get("visits"),
            })
            .collect(),
    ))
}
