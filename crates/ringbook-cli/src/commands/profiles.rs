//! Profile commands (spec part MM): `profile show/set/visibility/avatar`, `bind …` (MM-4), and
//! the phone-side tool `mms send`, which builds a real MM7 DeliverReq as an MMSC would and
//! posts it to the server's `/mm7`.

use crate::ctx::Global;
use anyhow::{bail, Context};
use ringbook_mm7::{
    build_deliver_request, parse_response, DeliverReqBuilder, ImageFormat, Mm7Schema, Mm7Version,
    OutgoingAttachment,
};
use ringbook_proto::profiles::{Profile, ProfileField, ProfileUpdate, Visibility};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Cmd {
    /// Your profile and others' (MM-3).
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Phone-side MMS tool: send a profile update the way an MMS centre forwards it (MM-1).
    #[command(subcommand)]
    Mms(MmsCmd),
    /// Numbers whose MMS update your profile (MM-4).
    #[command(subcommand)]
    Bind(BindCmd),
}

#[derive(clap::Subcommand)]
pub enum ProfileCmd {
    /// Print a profile: yours by default, else what you may see of NUMBER's.
    Show { number: Option<String> },
    /// Change a field (name, nickname, gender, birthday, region, company, title, email,
    /// website, signature); an empty VALUE clears it.
    Set {
        field: ProfileField,
        value: String,
        /// Also set who sees it: everyone, contacts or nobody.
        #[arg(long)]
        visibility: Option<Visibility>,
    },
    /// Who sees a field (avatar included): everyone, contacts (people in your phone book) or nobody.
    Visibility {
        field: ProfileField,
        visibility: Visibility,
    },
    /// Your avatar.
    #[command(subcommand)]
    Avatar(AvatarCmd),
}

#[derive(clap::Subcommand)]
pub enum AvatarCmd {
    /// Upload a picture (JPEG, PNG, GIF, BMP, WebP); it is turned into the standard avatar.
    Set { file: PathBuf },
    /// Save a stored avatar (yours by default) to a file.
    Get {
        number: Option<String>,
        #[arg(long)]
        out: PathBuf,
        /// The small square thumbnail instead of the avatar.
        #[arg(long)]
        thumb: bool,
    },
    /// Remove your avatar.
    Remove,
}

#[derive(clap::Subcommand)]
pub enum MmsCmd {
    /// Build an MM7 DeliverReq and post it to the server's /mm7; prints the DeliverRsp status.
    Send {
        /// The phone number the MMS comes from.
        #[arg(long)]
        from: String,
        /// A picture for the avatar.
        #[arg(long)]
        image: Option<PathBuf>,
        /// Text: the signature, or `Key: value` lines (e.g. "Nickname: Lei").
        #[arg(long)]
        text: Option<String>,
        /// A vCard file: your own card sets personal data, the others update your contacts.
        #[arg(long)]
        vcard: Option<PathBuf>,
        /// The service short code the MMS was sent to.
        #[arg(long, default_value = "10658888")]
        to: String,
        /// MM7 schema, e.g. REL-5-MM7-1-0 … REL-6-MM7-1-4.
        #[arg(long, default_value = "REL-6-MM7-1-4")]
        schema: String,
        /// HTTP basic credentials of the MMSC, as USER:PASSWORD.
        #[arg(long, env = "RINGBOOK_MM7_AUTH", hide_env_values = true)]
        auth: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum BindCmd {
    /// List the bound numbers.
    List,
    /// Bind a number: your own at once, another after the code sent to it by SMS.
    Add {
        number: String,
        /// The code received on that phone (completes the binding).
        #[arg(long)]
        code: Option<String>,
    },
    /// Unbind a number (your own: its MMS stop updating your profile).
    Remove { number: String },
}

pub async fn run(global: &Global, cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Profile(c) => profile(global, c).await,
        Cmd::Mms(MmsCmd::Send {
            from,
            image,
            text,
            vcard,
            to,
            schema,
            auth,
        }) => mms_send(global, from, image, text, vcard, to, schema, auth).await,
        Cmd::Bind(c) => bind(global, c).await,
    }
}

fn print_profile(p: &Profile) {
    if p.version == 0 {
        println!("{} (empty profile)", p.phone);
    } else {
        println!(
            "{} (version {}, updated {})",
            p.phone,
            p.version,
            crate::time::utc_named(p.updated_at)
        );
    }
    let vis = |f: ProfileField| {
        p.visibility
            .as_ref()
            .and_then(|v| v.get(&f))
            .map(|v| format!("  [{}]", format!("{v:?}").to_lowercase()))
            .unwrap_or_default()
    };
    for f in ProfileField::ALL {
        if f == ProfileField::Avatar {
            match &p.avatar {
                Some(a) => println!(
                    "{:<10} {}x{} JPEG, {} bytes, id {}{}",
                    "avatar:",
                    a.width,
                    a.height,
                    a.bytes,
                    &a.id[..12.min(a.id.len())],
                    vis(f)
                ),
                None if p.visibility.is_some() => println!("{:<10} -{}", "avatar:", vis(f)),
                None => {}
            }
            continue;
        }
        match p.fields.get(&f) {
            Some(v) => println!(
                "{:<10} {}{}",
                format!("{f}:"),
                v.replace('\n', " / "),
                vis(f)
            ),
            None if p.visibility.is_some() => println!("{:<10} -{}", format!("{f}:"), vis(f)),
            None => {}
        }
    }
}

async fn profile(global: &Global, cmd: ProfileCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let client = ctx.authed()?;
    match cmd {
        ProfileCmd::Show { number } => {
            let p = match number {
                Some(n) => client.profile(&n).await?,
                None => client.my_profile().await?,
            };
            print_profile(&p);
        }
        ProfileCmd::Set {
            field,
            value,
            visibility,
        } => {
            let mut u = ProfileUpdate::default();
            u.fields.insert(field, value);
            if let Some(v) = visibility {
                u.visibility.insert(field, v);
            }
            let p = client.update_profile(&u).await?;
            println!("{field} updated (profile version {})", p.version);
        }
        ProfileCmd::Visibility { field, visibility } => {
            let mut u = ProfileUpdate::default();
            u.visibility.insert(field, visibility);
            let p = client.update_profile(&u).await?;
            println!(
                "{field} is now visible to {} (profile version {})",
                format!("{visibility:?}").to_lowercase(),
                p.version
            );
        }
        ProfileCmd::Avatar(AvatarCmd::Set { file }) => {
            let data =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let p = client.set_avatar(data).await?;
            let a = p.avatar.context("the server stored no avatar")?;
            println!(
                "avatar set: {}x{} JPEG, {} bytes (profile version {})",
                a.width, a.height, a.bytes, p.version
            );
        }
        ProfileCmd::Avatar(AvatarCmd::Get { number, out, thumb }) => {
            let number = match number {
                Some(n) => n,
                None => match ctx.store.own_user().await?.number {
                    Some(n) => n,
                    None => client.my_profile().await?.phone,
                },
            };
            let jpeg = client.avatar(&number, thumb).await?;
            std::fs::write(&out, &jpeg)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("saved {} bytes to {}", jpeg.len(), out.display());
        }
        ProfileCmd::Avatar(AvatarCmd::Remove) => {
            let p = client.delete_avatar().await?;
            println!("avatar removed (profile version {})", p.version);
        }
    }
    Ok(())
}

fn content_type_of(data: &[u8], path: &std::path::Path) -> String {
    if let Some(f) = ImageFormat::sniff(data) {
        return f.mime().to_string();
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    ImageFormat::from_mime(&format!("image/{ext}"))
        .map(|f| f.mime().to_string())
        .unwrap_or_else(|| "application/octet-stream".into())
}

#[allow(clippy::too_many_arguments)]
async fn mms_send(
    global: &Global,
    from: String,
    image: Option<PathBuf>,
    text: Option<String>,
    vcard: Option<PathBuf>,
    to: String,
    schema: String,
    auth: Option<String>,
) -> anyhow::Result<()> {
    let schema = Mm7Schema::all()
        .find(|s| s.name().eq_ignore_ascii_case(schema.trim()))
        .with_context(|| {
            let names: Vec<_> = Mm7Schema::all().map(|s| s.name()).collect();
            format!(
                "unknown MM7 schema '{schema}'; use one of {}",
                names.join(", ")
            )
        })?;
    let mut parts = Vec::new();
    let name = |p: &PathBuf| p.file_name().and_then(|n| n.to_str()).map(str::to_string);
    if let Some(path) = &image {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        parts.push(OutgoingAttachment::new(
            &content_type_of(&data, path),
            name(path).as_deref(),
            data,
        ));
    }
    if let Some(t) = &text {
        parts.push(OutgoingAttachment::new(
            "text/plain; charset=utf-8",
            Some("text.txt"),
            t.as_bytes().to_vec(),
        ));
    }
    if let Some(path) = &vcard {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        parts.push(OutgoingAttachment::new(
            "text/x-vcard",
            name(path).as_deref(),
            data,
        ));
    }
    if parts.is_empty() {
        bail!("nothing to send: give --image, --text and/or --vcard");
    }
    let tid = format!("cli-{}", hex::encode(rand::random::<[u8; 6]>()));
    let (content_type, body) = build_deliver_request(&DeliverReqBuilder {
        from,
        to: vec![to],
        subject: Some("Profile".into()),
        transaction_id: tid.clone(),
        attachments: parts,
        version: Mm7Version::new(schema),
        ..DeliverReqBuilder::default()
    });
    let credentials = auth
        .as_deref()
        .map(|a| a.split_once(':').context("--auth must be USER:PASSWORD"))
        .transpose()?;
    let ctx = global.ctx().await?;
    let answer = ctx
        .client
        .post_mm7(&content_type, body, credentials)
        .await?;
    let rsp = parse_response(&answer.content_type, &answer.body).with_context(|| {
        format!(
            "the server did not answer with MM7 (HTTP {}): {}",
            answer.http_status,
            String::from_utf8_lossy(&answer.body)
                .chars()
                .take(200)
                .collect::<String>()
        )
    })?;
    let text = rsp.status_text.clone().unwrap_or_default();
    let kind = if rsp.fault.is_some() {
        "SOAP Fault"
    } else {
        "DeliverRsp"
    };
    println!("{kind} {} {text} (TransactionID {tid})", rsp.status_code);
    if rsp.transaction_id.as_deref().is_some_and(|t| t != tid) {
        bail!(
            "the answer echoes another TransactionID: {:?}",
            rsp.transaction_id
        );
    }
    if !rsp.is_success() {
        bail!("the MMS was not applied: {} {text}", rsp.status_code);
    }
    Ok(())
}

async fn bind(global: &Global, cmd: BindCmd) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    let client = ctx.authed()?;
    let print = |b: &ringbook_proto::profiles::Bindings| {
        if b.bindings.is_empty() {
            println!("no number is bound: MMS do not update your profile");
        }
        for x in &b.bindings {
            println!("{}{}", x.phone, if x.own { " (own number)" } else { "" });
        }
    };
    match cmd {
        BindCmd::List => print(&client.bindings().await?),
        BindCmd::Add {
            number,
            code: Some(code),
        } => {
            let b = client.confirm_binding(&number, &code).await?;
            println!("{number} is bound");
            print(&b);
        }
        BindCmd::Add { number, code: None } => {
            let s = client.bind(&number).await?;
            if s.bound {
                println!("{} is bound", s.phone);
            } else {
                println!(
                    "a code was sent by SMS to {}; run `ringbook bind add {} --code CODE`",
                    s.phone, s.phone
                );
            }
        }
        BindCmd::Remove { number } => {
            let b = client.unbind(&number).await?;
            println!("{number} is unbound");
            print(&b);
        }
    }
    Ok(())
}
