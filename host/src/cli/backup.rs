//! `credit-host backup`: a consistent copy of a database that is in use.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use crate::store::SqliteBackend;

/// Arguments of `backup`.
#[derive(clap::Args)]
pub struct Args {
    /// The SQLite file to copy (a server may be using it).
    #[arg(long)]
    db: PathBuf,
    /// Where to write the copy; must not exist.
    #[arg(long)]
    to: PathBuf,
}

/// Copies `--db` to `--to` with SQLite's online backup API in one step:
/// the copy is the database as of one instant (one read transaction), while
/// writers carry on in WAL mode. The copy is then checked like `verify`
/// checks (exit status 1 if it is not clean).
pub fn run(args: &Args) -> Result<ExitCode> {
    anyhow::ensure!(args.db.exists(), "no database at {}", args.db.display());
    anyhow::ensure!(!args.to.exists(), "{} exists already: back up to a new file", args.to.display());
    let source = Connection::open_with_flags(&args.db, OpenFlags::SQLITE_OPEN_READ_ONLY).with_context(|| format!("opening {}", args.db.display()))?;
    source.busy_timeout(Duration::from_secs(30))?;
    // Written beside the target and renamed when whole, so a failed
    // backup never leaves a file that looks like one.
    let partial = args.to.with_extension(format!("partial-{}", std::process::id()));
    let copied = copy(&source, &partial);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &args.to).with_context(|| format!("renaming the copy to {}", args.to.display()))?;
    let bytes = std::fs::metadata(&args.to)?.len();
    println!("copied {} to {} ({bytes} bytes)", args.db.display(), args.to.display());
    let mut copy = SqliteBackend::open_read_only(&args.to)?;
    let report = super::verify::check(&mut copy)?;
    super::verify::print(&report);
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Copies every page of `source` into a new file at `path` in one step
/// (one read transaction: one instant of the source), then folds the
/// copy's log into it.
fn copy(source: &Connection, path: &std::path::Path) -> Result<()> {
    use rusqlite::backup::StepResult;
    let mut target = Connection::open(path).with_context(|| format!("creating {}", path.display()))?;
    {
        let backup = Backup::new(source, &mut target)?;
        loop {
            match backup.step(-1).context("copying the database")? {
                StepResult::Done => break,
                // Another connection holds a lock for a moment: try again.
                StepResult::Busy | StepResult::Locked => std::thread::sleep(Duration::from_millis(20)),
                StepResult::More => {}
                _ => {}
            }
        }
    }
    target.pragma_update(None, "journal_mode", "DELETE")?;
    Ok(())
}
