//! Files the server keeps secrets in: the data folder is the owner's only (0700) and every file
//! in it 0600, so another account on the host reads neither the database nor the key.

use anyhow::Context;
use std::path::Path;

/// Creates `dir` (and parents) and makes it private to the owner; an existing folder that is
/// open to others is tightened, with a warning, since it may hold secrets already.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    tighten(dir, 0o700)
}

/// Makes an existing file private to the owner (0600) if it is not already.
pub fn restrict(path: &Path) -> anyhow::Result<()> {
    tighten(path, 0o600)
}

/// Creates a new file readable and writable by the owner only and writes `content`; when it
/// already exists (another process was first), the existing file wins.
pub fn create_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => f.write_all(content),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the permissions of {}", path.display()))?;
    let current = meta.permissions().mode() & 0o777;
    if current & !mode != 0 {
        tracing::warn!(
            path = %path.display(),
            was = format!("{current:o}"),
            now = format!("{mode:o}"),
            "tightened the permissions of a file that holds secrets"
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot restrict the permissions of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

/// Prepares the SQLite database file under `data_dir` before SQLite opens it: SQLite gives its
/// `-wal` and `-shm` files the database file's permissions, so a 0600 database keeps all
/// three private.
pub fn prepare_sqlite_files(database_url: &str) -> anyhow::Result<()> {
    let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let path = Path::new(path);
    if !path.exists() {
        create_private(path, b"")
            .with_context(|| format!("cannot create the database {}", path.display()))?;
    }
    restrict(path)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        if side.exists() {
            restrict(side)?;
        }
    }
    Ok(())
}
