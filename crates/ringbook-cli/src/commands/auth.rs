//! Login and account commands: `login`, `whoami`, `logout`, `sessions`, `rescue-password`,
//! `secure-mode`.

use crate::ctx::{Ctx, Global};
use crate::terminal::{interactive, prompt};
use anyhow::{bail, Context};
use ringbook_client::ClientError;
use ringbook_proto::api::{LoginRequest, LoginResponse, MoState, Proof};
use std::time::Duration;

#[derive(clap::Args)]
pub struct LoginArgs {
    /// Your mobile number (e.g. 13800138000 or +8613800138000).
    #[arg(long)]
    phone: Option<String>,
    /// The code received by SMS; without it a code is requested.
    #[arg(long)]
    code: Option<String>,
    /// Device number (IMEI/MEID) to add to the device identity.
    #[arg(long)]
    imei: Option<String>,
    /// SIM identity (ICCID) to add to the device identity.
    #[arg(long)]
    iccid: Option<String>,
    /// Prove the number by texting a token to the operator's service number.
    #[arg(long, conflicts_with_all = ["code", "declared", "via_operator"])]
    mo: bool,
    /// Use the number as declared (only on servers that trust their clients).
    #[arg(long, conflicts_with_all = ["code", "via_operator"])]
    declared: bool,
    /// Log in through the operator's gateway, which adds the number itself.
    #[arg(long, conflicts_with = "code")]
    via_operator: bool,
    /// Move the account from its old device to this one (needs the rescue password).
    #[arg(long = "move")]
    move_account: bool,
    /// The rescue password (else RINGBOOK_RESCUE_PASSWORD, else asked at the terminal when needed).
    #[arg(long, env = "RINGBOOK_RESCUE_PASSWORD", hide_env_values = true)]
    rescue_password: Option<String>,
    /// How long to wait for the text message with --mo, in seconds.
    #[arg(long, default_value_t = 600)]
    wait: u64,
}

pub async fn login(global: &Global, args: LoginArgs) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    ctx.store
        .set_hardware(args.imei.as_deref(), args.iccid.as_deref())
        .await?;
    let device = ctx.store.own_user().await?.device;

    if args.via_operator {
        let req = ringbook_proto::api::HeaderLoginRequest {
            device,
            rescue_password: args.rescue_password.clone(),
            move_account: args.move_account,
        };
        let resp = ctx
            .client
            .call(reqwest_post(), "/v1/auth/header", Some(&req))
            .await;
        return finish(&ctx, resp).await;
    }
    if args.mo {
        let started = ctx.client.mo_start(&device).await?;
        println!("{}", started.instructions);
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(args.wait.min(started.expires_in_secs));
        loop {
            if let MoState::Received { phone } = ctx
                .client
                .mo_state(&started.token, &device.device_id)
                .await?
            {
                eprintln!("text received from {phone}");
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "no text message with {} arrived in time; start again",
                    started.token
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let req = LoginRequest {
            phone: None,
            device,
            proof: Proof::MoToken {
                token: started.token,
            },
            rescue_password: args.rescue_password.clone(),
            move_account: args.move_account,
        };
        let first = ctx.client.login(&req).await;
        return complete(&ctx, req, first).await;
    }

    let phone = match args.phone.clone() {
        Some(p) => p,
        None if interactive() => prompt("Mobile number: ")?,
        None => bail!("give your number with --phone NUMBER"),
    };
    let proof = if args.declared {
        Proof::Declared
    } else {
        let code = match args.code.clone() {
            Some(code) => code,
            None => {
                let sent = ctx.client.request_code(&phone).await?;
                if !interactive() {
                    println!(
                        "A code was sent by SMS to {}. Finish with: ringbook login --phone {} --code CODE",
                        sent.phone, sent.phone
                    );
                    return Ok(());
                }
                eprintln!("A code was sent by SMS to {}.", sent.phone);
                prompt("Code: ")?
            }
        };
        Proof::SmsCode { code }
    };
    let mut req = LoginRequest {
        phone: Some(phone),
        device,
        proof,
        rescue_password: args.rescue_password.clone(),
        move_account: args.move_account,
    };
    // At a terminal a mistyped code is asked again (the server counts the tries and says how
    // many are left) instead of ending the login: the code stays valid meanwhile.
    loop {
        let first = ctx.client.login(&req).await;
        let retry = matches!(&first, Err(e) if e.code() == Some("wrong_code"))
            && matches!(req.proof, Proof::SmsCode { .. })
            && interactive();
        if !retry {
            return complete(&ctx, req, first).await;
        }
        if let Err(e) = &first {
            eprintln!("{e}");
            if e.to_string().contains("no tries left") {
                return finish(&ctx, first).await;
            }
        }
        req.proof = Proof::SmsCode {
            code: prompt("Code: ")?,
        };
    }
}

fn reqwest_post() -> ringbook_client::api::Method {
    ringbook_client::api::Method::POST
}

/// Finishes a login the server answered with `first`; at a terminal, asks for the rescue
/// password when the server needs it.
async fn complete(
    ctx: &Ctx,
    mut req: LoginRequest,
    first: Result<LoginResponse, ClientError>,
) -> anyhow::Result<()> {
    let needs_password = matches!(
        first.as_ref().err().and_then(|e| e.code()),
        Some("rescue_password_required")
    );
    if needs_password && interactive() && req.rescue_password.is_none() {
        req.rescue_password = Some(prompt("Rescue password: ")?);
        return finish(ctx, ctx.client.login(&req).await).await;
    }
    finish(ctx, first).await
}

async fn finish(ctx: &Ctx, resp: Result<LoginResponse, ClientError>) -> anyhow::Result<()> {
    let resp = resp?;
    ctx.store
        .record_login(resp.phone.as_str(), &resp.token, &ctx.server)
        .await?;
    // Messages written while logged out (or before) go out now.
    let report = ctx
        .client
        .clone()
        .with_token(resp.token.clone())
        .flush_outbox(&ctx.store, resp.phone.as_str())
        .await;
    if let Ok(report) = &report {
        crate::ctx::report_outbox(report, None);
    }
    let how = if resp.registered {
        "registered and logged in"
    } else if resp.moved {
        "account moved to this device; logged in"
    } else {
        "logged in"
    };
    println!("{how} as {}", resp.phone);
    Ok(())
}

pub async fn whoami(global: &Global) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let me = ctx.authed()?.me().await?;
    println!("{}", me.phone);
    println!("device: {}", me.device_id);
    if let Some(imei) = &me.imei {
        println!("imei: {imei}");
    }
    if let Some(iccid) = &me.iccid {
        println!("iccid: {iccid}");
    }
    println!("secure mode: {}", if me.secure_mode { "on" } else { "off" });
    println!(
        "rescue password: {}",
        if me.rescue_password_set {
            "set"
        } else {
            "not set"
        }
    );
    Ok(())
}

pub async fn logout(global: &Global) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    match ctx.authed()?.logout().await {
        Ok(()) | Err(ClientError::Api { status: 401, .. }) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.store.forget_login().await?;
    println!("logged out");
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum SessionsCmd {
    /// List this account's sessions.
    List,
    /// Revoke a session by its ID (its device is logged out at once).
    Revoke { id: String },
}

pub async fn sessions(global: &Global, cmd: SessionsCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let client = ctx.authed()?;
    match cmd {
        SessionsCmd::List => {
            for s in client.sessions().await? {
                println!(
                    "{}{}  device {}  {}",
                    s.id,
                    if s.current { " (this one)" } else { "" },
                    s.device_id,
                    s.label.unwrap_or_default()
                );
            }
        }
        SessionsCmd::Revoke { id } => {
            client.revoke_session(&id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum RescueCmd {
    /// Set or change the rescue password.
    Set {
        /// The new password (else RINGBOOK_NEW_RESCUE_PASSWORD, else asked).
        #[arg(long, env = "RINGBOOK_NEW_RESCUE_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The current one, when changing it.
        #[arg(long, env = "RINGBOOK_RESCUE_PASSWORD", hide_env_values = true)]
        current: Option<String>,
    },
}

pub async fn rescue(global: &Global, cmd: RescueCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let RescueCmd::Set { password, current } = cmd;
    let password = match password {
        Some(p) => p,
        None if interactive() => prompt("New rescue password: ")?,
        None => bail!("give the new password with --password"),
    };
    ctx.authed()?
        .set_rescue_password(&password, current.as_deref())
        .await
        .context("could not set the rescue password")?;
    println!("rescue password set");
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

pub async fn secure_mode(global: &Global, state: OnOff) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let on = matches!(state, OnOff::On);
    ctx.authed()?.set_secure_mode(on).await?;
    println!("secure mode {}", if on { "on" } else { "off" });
    Ok(())
}
