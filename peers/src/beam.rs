//! The BEAM's column: runs `peers/beam/peers.exs` with `elixir` when it is on the PATH and
//! reads its samples.
//!
//! The script prints one line per fact, words separated by spaces:
//! - `sample <row key> <figure>`: one sample, in the row's unit (see `Row::key`, `Row::unit`);
//! - `version <what> <version>`: the OTP release, the ERTS version and Elixir's version;
//! - anything else is progress, passed through to stderr.
//!
//! It checks its own results as the Rust workloads do and exits non-zero when one fails,
//! which fails the harness.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use crate::common::Sizes;
use crate::rows::{Lib, Row, Samples};

/// The script, kept beside this package's manifest.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("beam")
        .join("peers.exs")
}

/// Whether `elixir` can be run.
pub(crate) fn is_available() -> bool {
    Command::new("elixir")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs the script with `sizes`, adds its samples to `samples` and gives the versions it
/// reported (`("otp", "25")`, ...).
pub(crate) fn run(sizes: &Sizes, samples: &mut Samples) -> Result<Vec<(String, String)>> {
    let args = [
        sizes.workers,
        sizes.casts,
        sizes.senders,
        sizes.casts_per_sender,
        sizes.calls,
        sizes.restarts,
        sizes.ring_processes,
        sizes.ring_hops,
        sizes.storm_workers,
        sizes.samples,
        usize::from(sizes.warm_up),
    ];
    let output = Command::new("elixir")
        .arg(script())
        .args(args.iter().map(ToString::to_string))
        .stderr(Stdio::inherit())
        .output()
        .context("running elixir")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("the BEAM script failed ({}):\n{stdout}", output.status);
    }
    parse(&stdout, samples)
}

/// Reads the script's output into `samples`; gives the versions.
fn parse(stdout: &str, samples: &mut Samples) -> Result<Vec<(String, String)>> {
    let mut versions = Vec::new();
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["sample", key, figure] => {
                let row = Row::from_key(key).with_context(|| format!("an unknown row: {line}"))?;
                let figure: f64 = figure
                    .parse()
                    .with_context(|| format!("not a figure: {line}"))?;
                samples.push(row, Lib::Beam, figure);
            }
            ["version", what, version] => {
                versions.push(((*what).to_owned(), (*version).to_owned()))
            }
            _ => eprintln!("beam: {line}"),
        }
    }
    for row in Row::ALL {
        if !samples.cells.contains_key(&(row, Lib::Beam)) {
            bail!("the BEAM script gave no sample of {}", row.key());
        }
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_and_versions_and_passes_the_rest() {
        let mut samples = Samples::default();
        let mut text = String::from("version otp 25\nwarming up\n");
        for row in Row::ALL {
            text.push_str(&format!("sample {} 1.5\n", row.key()));
        }
        let versions = parse(&text, &mut samples).unwrap();
        assert_eq!(versions, vec![("otp".to_owned(), "25".to_owned())]);
        assert_eq!(samples.cells[&(Row::Call, Lib::Beam)], vec![1.5]);
    }

    #[test]
    fn a_missing_row_fails() {
        let mut samples = Samples::default();
        assert!(parse("sample call 1.0\n", &mut samples).is_err());
    }
}
