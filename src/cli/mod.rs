//! The subcommands that live outside `main.rs`, one module each, so that each stays with its
//! feature: [`chaos`], [`lesson`], [`replay`].

pub(crate) mod chaos;
pub(crate) mod lesson;
pub(crate) mod replay;

use std::io::{self, Write};

use otpscope::contract::Snapshot;
use otpscope::scenario::tree_text;

/// Prints `snapshot` as `dump` does: the trees as text, or the snapshot's JSON.
pub(crate) fn print_tree(snapshot: &Snapshot, json: bool) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, snapshot).map_err(io::Error::from)?;
        writeln!(stdout)?;
    } else {
        write!(
            stdout,
            "{}",
            tree_text::render(snapshot, tree_text::DEFAULT_FOLD_AT)
        )?;
    }
    stdout.flush()
}
