//! `ringbook services …`: the carrier's catalogue, your subscriptions and what you share, your
//! matched friends and what they share, one-click orders; and for the operator the batch
//! rematch and subscription grants (admin token from `RINGBOOK_ADMIN_TOKEN`, or none when run
//! on the server's own host).

use crate::ctx::Global;
use anyhow::Context;
use ringbook_proto::contacts::{ContactSyncRequest, ContactUpsert};
use ringbook_proto::services::{OrderRequest, OrderState, OrderView, ServiceInfo, ServiceKind};
use std::io::Write;
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Share carrier services with friends who have your number (and whom you have).
    #[command(subcommand)]
    Services(ServicesCmd),
}

#[derive(clap::Subcommand)]
pub enum ServicesCmd {
    /// The carrier's catalogue: its own services and those of contracted providers.
    Catalog,
    /// Your subscriptions, as the service platform reports them, and which you share.
    Mine,
    /// Let your matched friends see (and order) one of your services.
    Share { id: String },
    /// Stop sharing a service.
    Unshare { id: String },
    /// Your matched friends (each has the other's number) and what they share.
    Friends,
    /// Order the service a friend shares, in one click.
    Order { friend: String, service: String },
    /// Your recent orders and their outcome.
    Orders,
    /// Add numbers to (or remove them from) your address book on the server.
    #[command(subcommand)]
    Book(BookCmd),
    /// Operator: recompute mutual matching for the whole user base, with progress.
    Rematch {
        /// Only show the progress of the running or last rematch.
        #[arg(long)]
        status: bool,
    },
    /// Operator: record a subscription on the reference service platform.
    Grant { phone: String, service: String },
}

#[derive(clap::Subcommand)]
pub enum BookCmd {
    /// Add numbers (NUMBER or NUMBER=Name).
    Add { numbers: Vec<String> },
    /// Remove numbers.
    Remove { numbers: Vec<String> },
}

fn price(s: &ServiceInfo) -> String {
    format!(
        "{}.{:02} {}/{}",
        s.price_cents / 100,
        s.price_cents % 100,
        s.currency,
        s.period
    )
}

fn kind(s: &ServiceInfo) -> &'static str {
    match s.kind {
        ServiceKind::Carrier => "carrier",
        ServiceKind::Sp => "SP, SMS confirmation",
        ServiceKind::Other => "not orderable here",
    }
}

fn print_order(o: &OrderView) -> anyhow::Result<()> {
    match o.state {
        OrderState::Ordered => {
            println!(
                "order #{}: ordered {} (shared by {}). {}",
                o.id, o.service_id, o.friend, o.message
            );
            Ok(())
        }
        OrderState::AwaitingConfirmation => {
            println!(
                "order #{}: waiting for your SMS confirmation. {}",
                o.id, o.message
            );
            Ok(())
        }
        OrderState::Processing => {
            println!(
                "order #{}: at the service platform; check with `ringbook services orders`",
                o.id
            );
            Ok(())
        }
        OrderState::Refused => anyhow::bail!(
            "order #{} refused ({}): {}",
            o.id,
            o.reason.as_deref().unwrap_or("refused"),
            o.message
        ),
    }
}

pub async fn run(global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    let Cmd::Services(cmd) = cmd;
    let ctx = global.ctx().await?;
    match cmd {
        ServicesCmd::Catalog => {
            let catalogue = ctx.authed()?.services_catalog().await?;
            for s in catalogue.services {
                println!(
                    "{:<14} {:<28} {:>16}  {} — {} [{}]",
                    s.id,
                    s.name,
                    price(&s),
                    s.provider,
                    s.description,
                    kind(&s)
                );
            }
        }
        ServicesCmd::Mine => {
            let mine = ctx.authed()?.services_mine().await?;
            if mine.services.is_empty() {
                println!("no subscriptions");
            }
            for m in mine.services {
                let shared = if m.shared { "shared" } else { "not shared" };
                println!(
                    "{:<14} {:<28} {:>16}  {shared}",
                    m.service.id,
                    m.service.name,
                    price(&m.service)
                );
            }
        }
        ServicesCmd::Share { id } => {
            let s = ctx.authed()?.services_set_shared(&id, true).await?;
            let note = if s.changed { "" } else { " (already)" };
            println!("{} shared with your matched friends{note}", s.service_id);
        }
        ServicesCmd::Unshare { id } => {
            let s = ctx.authed()?.services_set_shared(&id, false).await?;
            let note = if s.changed { "" } else { " (was not shared)" };
            println!("{} no longer shared{note}", s.service_id);
        }
        ServicesCmd::Friends => {
            let friends = ctx.authed()?.services_friends().await?.friends;
            if friends.is_empty() {
                println!("no matched friends yet: a friend is someone whose number is in your book and who has yours in theirs");
            }
            for f in friends {
                let name = f.name.map(|n| format!(" ({n})")).unwrap_or_default();
                if f.shared.is_empty() {
                    println!("{}{name}: shares nothing", f.phone);
                } else {
                    println!("{}{name} shares:", f.phone);
                    for s in f.shared {
                        println!(
                            "  {:<14} {:<28} {:>16}  [{}]",
                            s.id,
                            s.name,
                            price(&s),
                            kind(&s)
                        );
                    }
                }
            }
        }
        ServicesCmd::Order { friend, service } => {
            let key = format!("cli-{:032x}", rand::random::<u128>());
            let req = OrderRequest {
                friend,
                service_id: service,
                idempotency_key: Some(key),
            };
            let o = ctx.authed()?.services_order(&req).await?;
            print_order(&o)?;
        }
        ServicesCmd::Orders => {
            let orders = ctx.authed()?.services_orders().await?.orders;
            if orders.is_empty() {
                println!("no orders");
            }
            for o in orders {
                let state = match o.state {
                    OrderState::Ordered => "ordered".to_string(),
                    OrderState::AwaitingConfirmation => "awaiting SMS confirmation".to_string(),
                    OrderState::Processing => "processing".to_string(),
                    OrderState::Refused => {
                        format!("refused ({})", o.reason.as_deref().unwrap_or("-"))
                    }
                };
                println!(
                    "#{:<5} {:<14} via {:<16} {state}: {}",
                    o.id, o.service_id, o.friend, o.message
                );
            }
        }
        ServicesCmd::Book(cmd) => {
            // The same phone-book sync as `ringbook contacts sync` (PB-11): every number is
            // checked before anything changes, and matching follows in the same transaction.
            let req = match cmd {
                BookCmd::Add { numbers } => ContactSyncRequest {
                    upserts: numbers
                        .into_iter()
                        .map(|n| {
                            let (phone, name) = match n.split_once('=') {
                                Some((p, name)) => (p.to_string(), name.to_string()),
                                None => (n, String::new()),
                            };
                            ContactUpsert {
                                phone,
                                name,
                                group: None,
                                fields: None,
                            }
                        })
                        .collect(),
                    ..Default::default()
                },
                BookCmd::Remove { numbers } => ContactSyncRequest {
                    deletes: numbers,
                    ..Default::default()
                },
            };
            let (added, removed) = (req.upserts.len(), req.deletes.len());
            ctx.authed()?.sync_contacts(&req).await?;
            println!("{added} added or changed, {removed} removed");
        }
        ServicesCmd::Rematch { status } => {
            let admin = ctx.admin_client()?;
            let mut s = if status {
                admin.admin_rematch_status().await?
            } else {
                admin.admin_rematch_start().await?
            };
            if !status {
                eprintln!("batch rematch started for {} users", s.total_users);
            }
            while s.running && !status {
                eprint!(
                    "\r{}/{} users, +{} -{} match rows",
                    s.done_users, s.total_users, s.added, s.removed
                );
                std::io::stderr().flush().context("stderr")?;
                tokio::time::sleep(Duration::from_millis(500)).await;
                s = admin.admin_rematch_status().await?;
            }
            if !status {
                eprintln!();
            }
            if let Some(e) = &s.error {
                anyhow::bail!("the rematch failed after {} users: {e}", s.done_users);
            }
            let state = if s.running { "running" } else { "done" };
            println!(
                "rematch {state}: {}/{} users, {} match rows added, {} removed",
                s.done_users, s.total_users, s.added, s.removed
            );
        }
        ServicesCmd::Grant { phone, service } => {
            let m = ctx
                .admin_client()?
                .admin_grant_subscription(&phone, &service)
                .await?;
            println!(
                "{phone} now subscribes to {} ({})",
                m.service.id, m.service.name
            );
        }
    }
    Ok(())
}
