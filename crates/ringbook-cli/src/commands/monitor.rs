//! `ringbook monitor` (PB-15): two loops feeding one phone-activity status.
//!
//! 1. The process scanner reads Linux's process table (`/proc`) every period, finds processes
//!    that appeared or went away since the last scan, keeps those whose name matches a type-1
//!    keyword, and records their start/stop time, name and resource use (CPU time, resident
//!    memory).
//! 2. The event loop reads system (type 2) and key (type 3) events, one per line, from a pluggable
//!    source: a file, a FIFO (reopened when its writer closes) or stdin (`-`). The first word of a
//!    line is the event (`lock`, `unlock`, `screensaver-on`, `idle`, `key` …); it matches a keyword
//!    of type 2 or 3 exactly (case-insensitive). A desktop idle source is not built in: feed one
//!    with e.g. `dbus-monitor … | ringbook monitor --events-from -`.
//!
//! Status: the latest matching event wins while it lasts; an event mapped to `Available` ends it,
//! and the status falls back to the newest running matched process (or none). The status is sent
//! (`PUT /v1/presence/me` activity_status) when it changes, with a time to live
//! (`--activity-ttl`), and sent again every third of that time while it holds: when the monitor
//! stops, the server lets the status lapse instead of showing it for ever.

use crate::ctx::Global;
use anyhow::Context;
use ringbook_client::contacts_store::StatusKeyword;
use ringbook_proto::presence::PresenceUpdate;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MonitorArgs {
    #[command(subcommand)]
    pub keywords: Option<MonitorCmd>,
    /// Seconds between process scans.
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// One round: scan the processes, read the events source to its end, send, exit.
    #[arg(long)]
    pub once: bool,
    /// Events source: a file or FIFO with one event per line, or `-` for stdin.
    #[arg(long)]
    pub events_from: Option<String>,
    /// Do not scan processes (events only).
    #[arg(long)]
    pub no_processes: bool,
    /// The process table to scan (for tests and containers).
    #[arg(long, default_value = "/proc", hide = true)]
    pub proc_root: PathBuf,
    /// Print the derived status without sending it.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds the server shows the activity status unless the monitor sends it again (it
    /// does every third of this while running), so the status lapses once the monitor stops.
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u64).range(3..=86_400))]
    pub activity_ttl: u64,
}

#[derive(clap::Subcommand)]
pub enum MonitorCmd {
    /// The keyword → status table.
    #[command(subcommand)]
    Keywords(KeywordsCmd),
}

#[derive(clap::Subcommand)]
pub enum KeywordsCmd {
    List,
    /// Add a keyword (or change its status).
    Add {
        keyword: String,
        status: String,
        /// process (1), system (2) or key (3).
        #[arg(long, default_value = "process")]
        kind: String,
    },
    Remove {
        keyword: String,
        #[arg(long)]
        kind: Option<String>,
    },
}

fn kind_of(s: &str) -> anyhow::Result<i64> {
    match s {
        "1" | "process" => Ok(1),
        "2" | "system" => Ok(2),
        "3" | "key" => Ok(3),
        other => anyhow::bail!("unknown keyword kind {other:?}; use process, system or key"),
    }
}

fn kind_name(k: i64) -> &'static str {
    match k {
        1 => "process",
        2 => "system",
        _ => "key",
    }
}

const CLEAR: &str = "available";

/// A matched process the scanner follows.
#[derive(Clone, Debug)]
struct Tracked {
    name: String,
    status: String,
    started_ms: i64,
    cpu_ticks: u64,
    rss_kb: u64,
}

fn read_proc(root: &Path, pid: &str) -> Option<(String, u64, u64)> {
    let comm = std::fs::read_to_string(root.join(pid).join("comm"))
        .ok()?
        .trim()
        .to_string();
    let stat = std::fs::read_to_string(root.join(pid).join("stat")).unwrap_or_default();
    // Fields after the ")" closing the command name: state is field 3; utime 14, stime 15.
    let ticks = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            get(11) + get(12)
        })
        .unwrap_or(0);
    let rss_pages = std::fs::read_to_string(root.join(pid).join("statm"))
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    Some((comm, ticks, rss_pages * 4))
}

fn match_process<'a>(name: &str, keywords: &'a [StatusKeyword]) -> Option<&'a StatusKeyword> {
    let name = name.to_lowercase();
    keywords.iter().filter(|k| k.kind == 1).find(|k| {
        name == k.keyword
            || name
                .strip_prefix(k.keyword.as_str())
                .is_some_and(|rest| rest.starts_with(['-', '.', '_', ' ']))
    })
}

fn match_event<'a>(line: &str, keywords: &'a [StatusKeyword]) -> Option<&'a StatusKeyword> {
    let word = line.split_whitespace().next()?.to_lowercase();
    keywords
        .iter()
        .filter(|k| k.kind == 2 || k.kind == 3)
        .find(|k| k.keyword == word)
}

struct Monitor {
    keywords: Vec<StatusKeyword>,
    tracked: HashMap<String, Tracked>,
    seen: Option<std::collections::HashSet<String>>,
    event_status: Option<String>,
    sent: Option<Option<String>>,
}

impl Monitor {
    fn scan(&mut self, root: &Path) {
        let Ok(dir) = std::fs::read_dir(root) else {
            return;
        };
        let now = ringbook_client::store::now_ms();
        let pids: std::collections::HashSet<String> = dir
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
            .collect();
        for pid in &pids {
            if let Some(t) = self.tracked.get_mut(pid) {
                if let Some((_, ticks, rss)) = read_proc(root, pid) {
                    t.cpu_ticks = ticks;
                    t.rss_kb = rss;
                }
                continue;
            }
            let is_new = self.seen.as_ref().is_none_or(|s| !s.contains(pid));
            if !is_new {
                continue;
            }
            let Some((name, ticks, rss)) = read_proc(root, pid) else {
                continue;
            };
            if let Some(k) = match_process(&name, &self.keywords) {
                println!("process started: {name} (pid {pid}) -> {:?}", k.status);
                self.tracked.insert(
                    pid.clone(),
                    Tracked {
                        name,
                        status: k.status.clone(),
                        started_ms: now,
                        cpu_ticks: ticks,
                        rss_kb: rss,
                    },
                );
            }
        }
        let gone: Vec<String> = self
            .tracked
            .keys()
            .filter(|p| !pids.contains(*p))
            .cloned()
            .collect();
        for pid in gone {
            if let Some(t) = self.tracked.remove(&pid) {
                println!(
                    "process stopped: {} (pid {pid}) after {} s, cpu {:.2} s, memory {} KB",
                    t.name,
                    (now - t.started_ms) / 1000,
                    t.cpu_ticks as f64 / 100.0,
                    t.rss_kb
                );
            }
        }
        self.seen = Some(pids);
    }

    fn event(&mut self, line: &str) {
        let Some(k) = match_event(line, &self.keywords) else {
            return;
        };
        println!(
            "{} event: {} -> {:?}",
            kind_name(k.kind),
            line.trim(),
            k.status
        );
        self.event_status = if k.status.eq_ignore_ascii_case(CLEAR) {
            None
        } else {
            Some(k.status.clone())
        };
    }

    fn derived(&self) -> Option<String> {
        if let Some(s) = &self.event_status {
            return Some(s.clone());
        }
        self.tracked
            .values()
            .max_by_key(|t| t.started_ms)
            .map(|t| t.status.clone())
    }
}

/// Sends the derived status when it changed, or (with `refresh`) again while it holds so the
/// server's time to live does not run out.
async fn send_if_changed(
    m: &mut Monitor,
    ctx: &crate::ctx::Ctx,
    dry_run: bool,
    ttl: u64,
    refresh: bool,
) -> anyhow::Result<()> {
    let status = m.derived();
    let changed = m.sent.as_ref() != Some(&status);
    if !(changed || (refresh && status.is_some())) {
        return Ok(());
    }
    let shown = status.clone().unwrap_or_else(|| "(none)".into());
    if !dry_run {
        let client = ctx.authed()?;
        client
            .update_presence(&PresenceUpdate {
                activity_status: Some(status.clone()),
                activity_ttl_secs: status.as_ref().map(|_| ttl),
                ..Default::default()
            })
            .await
            .context("could not send the activity status")?;
        ctx.store.set_activity_status(status.as_deref()).await?;
        if changed {
            println!("activity status sent: {shown}");
        }
    } else if changed {
        println!("activity status: {shown}");
    }
    m.sent = Some(status);
    Ok(())
}

/// Reads events line by line into a channel; a FIFO is reopened when its writer closes.
fn spawn_events(source: String) -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if source == "-" {
                Box::new(tokio::io::stdin())
            } else {
                match tokio::fs::File::open(&source).await {
                    Ok(f) => Box::new(f),
                    Err(e) => {
                        eprintln!("cannot open events source {source}: {e}");
                        return;
                    }
                }
            };
            let mut lines = tokio::io::BufReader::new(reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
            let is_fifo = {
                use std::os::unix::fs::FileTypeExt;
                source != "-" && std::fs::metadata(&source).is_ok_and(|m| m.file_type().is_fifo())
            };
            if !is_fifo {
                return;
            }
        }
    });
    rx
}

pub async fn run(global: &Global, args: MonitorArgs) -> anyhow::Result<()> {
    let ctx = global.ctx().await?;
    if let Some(MonitorCmd::Keywords(cmd)) = args.keywords {
        match cmd {
            KeywordsCmd::List => {
                for k in ctx.store.status_keywords().await? {
                    println!("{:<8} {:<20} {}", kind_name(k.kind), k.keyword, k.status);
                }
            }
            KeywordsCmd::Add {
                keyword,
                status,
                kind,
            } => {
                let kind = kind_of(&kind)?;
                let keyword = keyword.trim();
                if keyword.is_empty() || keyword.contains(char::is_whitespace) && kind != 1 {
                    anyhow::bail!("a keyword is one word (events match on their first word)");
                }
                if status.trim().is_empty() {
                    anyhow::bail!("the status must not be empty");
                }
                ctx.store
                    .add_status_keyword(keyword, status.trim(), kind)
                    .await?;
                println!(
                    "added {} keyword {keyword:?} -> {:?}",
                    kind_name(kind),
                    status.trim()
                );
            }
            KeywordsCmd::Remove { keyword, kind } => {
                let kind = kind.as_deref().map(kind_of).transpose()?;
                let n = ctx.store.remove_status_keyword(&keyword, kind).await?;
                if n == 0 {
                    anyhow::bail!("no keyword {keyword:?}; see `ringbook monitor keywords list`");
                }
                println!("removed {keyword:?}");
            }
        }
        return Ok(());
    }
    if !args.dry_run {
        ctx.authed()?;
    }
    let mut m = Monitor {
        keywords: ctx.store.status_keywords().await?,
        tracked: HashMap::new(),
        seen: None,
        event_status: None,
        sent: None,
    };
    let scan = !args.no_processes;
    let mut events = args.events_from.clone().map(spawn_events);
    if args.once {
        if scan {
            m.scan(&args.proc_root);
        }
        if let Some(rx) = events.as_mut() {
            while let Some(line) = rx.recv().await {
                m.event(&line);
            }
        }
        return send_if_changed(&mut m, &ctx, args.dry_run, args.activity_ttl, false).await;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(args.interval.max(1)));
    let mut refresh = tokio::time::interval(Duration::from_secs(args.activity_ttl / 3));
    refresh.tick().await;
    loop {
        let mut refreshing = false;
        tokio::select! {
            _ = tick.tick() => {
                if scan {
                    m.scan(&args.proc_root);
                }
            }
            _ = refresh.tick() => refreshing = true,
            line = async {
                match events.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match line {
                    Some(line) => m.event(&line),
                    None => events = None,
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        if let Err(e) =
            send_if_changed(&mut m, &ctx, args.dry_run, args.activity_ttl, refreshing).await
        {
            eprintln!("{e:#}");
        }
    }
}
