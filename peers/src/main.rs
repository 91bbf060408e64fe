//! The peer harness: the workloads of issue 15, in one run, on this runtime (otpscope),
//! ractor (with ractor-supervisor), kameo, plain tokio (the floor) and the BEAM (through
//! `beam/peers.exs`, when `elixir` is on the PATH), printed as one markdown table.
//!
//! `cargo run --release --manifest-path peers/Cargo.toml` runs the sizes;
//! `-- --quick` runs small ones (a smoke test of every workload and every check, for CI);
//! `-- --out FILE` also writes the report to FILE; `-- --no-beam` leaves the BEAM out;
//! `-- --samples N` takes N samples of each cell; `-- --only call,ring` runs those workloads
//! on the Rust libraries only and `-- --libs otpscope` only those libraries (for profiling;
//! `--help` lists the names).
//!
//! Each Rust workload runs on a fresh 2-worker tokio runtime per sample; within a round every
//! library runs the same workload one after the other, so a change in the machine's load
//! touches them alike. Every workload checks its own result (all workers started, all freed,
//! every cast handled, every answer right, the token made all its hops, every worker came
//! back) and the harness stops with an error at the first that fails.

mod alloc;
mod beam;
mod common;
mod floor;
mod kameo_peer;
mod otp;
mod ractor_peer;
mod report;
mod rows;

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use common::Sizes;
use report::Setting;
use rows::{Lib, Samples, Workload};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// What the command line asked for.
struct Options {
    /// The sizes to run.
    sizes: Sizes,
    /// Whether to run the BEAM's column.
    beam: bool,
    /// Where to write the report, besides stdout.
    out: Option<String>,
    /// The workloads to run (all unless `--only`, which also leaves the BEAM out).
    workloads: Vec<Workload>,
    /// The Rust libraries to run (all unless `--libs`).
    libs: Vec<Lib>,
    /// The command line, for the report.
    command: String,
}

fn options() -> Result<Options> {
    let mut sizes = Sizes::full();
    let mut beam = true;
    let mut out = None;
    let mut samples = None;
    let mut workloads = Workload::ALL.to_vec();
    let mut libs = Lib::RUST.to_vec();
    let mut words = std::env::args().skip(1);
    let mut given = Vec::new();
    while let Some(word) = words.next() {
        given.push(word.clone());
        match word.as_str() {
            "--quick" => sizes = Sizes::quick(),
            "--no-beam" => beam = false,
            "--out" => out = Some(words.next().context("--out needs a file")?),
            "--samples" => {
                let n = words.next().context("--samples needs a number")?;
                given.push(n.clone());
                samples = Some(n.parse::<usize>().context("--samples needs a number")?);
            }
            "--only" => {
                let names = words.next().context("--only needs workload names")?;
                given.push(names.clone());
                workloads = names
                    .split(',')
                    .map(|name| {
                        Workload::ALL
                            .into_iter()
                            .find(|workload| workload.key() == name)
                            .with_context(|| format!("no workload {name:?}"))
                    })
                    .collect::<Result<_>>()?;
                beam = false;
            }
            "--libs" => {
                let names = words.next().context("--libs needs library names")?;
                given.push(names.clone());
                libs = names
                    .split(',')
                    .map(|name| {
                        Lib::RUST
                            .into_iter()
                            .find(|lib| lib.key() == name)
                            .with_context(|| format!("no library {name:?}"))
                    })
                    .collect::<Result<_>>()?;
            }
            "--help" | "-h" => {
                let names: Vec<&str> = Workload::ALL.iter().map(|w| w.key()).collect();
                println!(
                    "usage: otpscope-peers [--quick] [--no-beam] [--samples N] [--out FILE] \
                     [--only {}] [--libs otpscope,ractor,kameo,tokio]",
                    names.join(",")
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if let Some(n) = samples {
        anyhow::ensure!(n > 0, "--samples must be at least 1");
        sizes.samples = n;
    }
    let mut command = "cargo run --release --manifest-path peers/Cargo.toml".to_owned();
    let shown: Vec<&String> = given
        .iter()
        .filter(|word| !word.starts_with("--out"))
        .collect();
    if !shown.is_empty() {
        command.push_str(" --");
        for word in shown {
            command.push(' ');
            command.push_str(word);
        }
    }
    Ok(Options {
        sizes,
        beam,
        out,
        workloads,
        libs,
        command,
    })
}

/// The first line of `command`'s output, or "unknown".
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown processor".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / (1024.0 * 1024.0))
        })
        .unwrap_or(0.0);
    format!("{model}, {cores} cores, {memory_gib:.1} GiB of memory")
}

/// The version of `package` in this package's Cargo.lock.
fn locked_version(package: &str) -> String {
    let lock = include_str!("../Cargo.lock");
    let mut lines = lock.lines();
    let wanted = format!("name = \"{package}\"");
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(version) = lines
                .next()
                .and_then(|line| line.strip_prefix("version = "))
        {
            return version.trim_matches('"').to_owned();
        }
    }
    "unknown".to_owned()
}

fn main() -> Result<()> {
    let options = options()?;
    let sizes = options.sizes;
    let beam = options.beam && beam::is_available();
    if options.beam && !beam {
        eprintln!("elixir is not on the PATH: the BEAM's column is left out");
    }
    let load_before = load_average();
    let date = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let mut samples = Samples::default();
    let began = std::time::Instant::now();
    for &workload in &options.workloads {
        if sizes.warm_up {
            for &lib in &options.libs {
                eprintln!(
                    "{:6.1} s warm-up {} on {}",
                    began.elapsed().as_secs_f64(),
                    workload.key(),
                    lib.heading()
                );
                rows::run(lib, workload, &sizes, None)?;
            }
        }
        for round in 0..sizes.samples {
            for &lib in &options.libs {
                eprintln!(
                    "{:6.1} s {} on {}, sample {}",
                    began.elapsed().as_secs_f64(),
                    workload.key(),
                    lib.heading(),
                    round + 1
                );
                rows::run(lib, workload, &sizes, Some(&mut samples))?;
            }
        }
    }
    let mut versions = vec![
        ("otpscope".to_owned(), locked_version("otpscope")),
        ("ractor".to_owned(), locked_version("ractor")),
        (
            "ractor-supervisor".to_owned(),
            locked_version("ractor-supervisor"),
        ),
        ("kameo".to_owned(), locked_version("kameo")),
        ("tokio".to_owned(), locked_version("tokio")),
        (
            "rustc".to_owned(),
            first_line("rustc", &["--version"]).replace("rustc ", ""),
        ),
    ];
    let mut libs = options.libs.clone();
    if beam {
        eprintln!("the BEAM: elixir peers/beam/peers.exs");
        versions.extend(beam::run(&sizes, &mut samples)?);
        libs.push(Lib::Beam);
    }
    let setting = Setting {
        command: options.command,
        date,
        machine: machine(),
        load: (load_before, load_average()),
        versions,
        libs,
    };
    let text = report::markdown(&setting, &sizes, &samples);
    println!("{text}");
    if let Some(path) = options.out {
        std::fs::write(&path, &text).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every workload on every Rust library at a smaller size than `--quick`, with every
    /// check: what `cargo test` can afford.
    #[test]
    fn every_workload_passes_its_checks_on_every_rust_library() {
        let sizes = Sizes {
            workers: 300,
            casts: 2_000,
            senders: 10,
            casts_per_sender: 100,
            calls: 200,
            restarts: 20,
            ring_processes: 50,
            ring_hops: 1_000,
            storm_workers: 100,
            samples: 1,
            warm_up: false,
        };
        let mut samples = Samples::default();
        for workload in Workload::ALL {
            for lib in Lib::RUST {
                rows::run(lib, workload, &sizes, Some(&mut samples)).unwrap();
            }
        }
        assert_eq!(samples.cells.len(), rows::Row::ALL.len() * Lib::RUST.len());
    }

    #[test]
    fn the_lock_file_names_the_peers() {
        assert_ne!(locked_version("ractor"), "unknown");
        assert_ne!(locked_version("kameo"), "unknown");
    }
}
