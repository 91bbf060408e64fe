//! What the README promises about the machine: the system packages it names for `cargo run`
//! and those it names for the BEAM tests are the ones `.ci/run` installs, and the ones the
//! BEAM harness asks for when they are missing. (Its Rust programs are compiled and run as
//! doctests; see `ReadmeDoctests` in `src/lib.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod beam_support;

use std::collections::BTreeSet;
use std::path::Path;

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
}

/// The packages of the README's `sudo apt-get install` lines: those whose comment names the
/// BEAM tests if `beam`, the others (the Observer's window) if not.
fn readme_packages(beam: bool) -> BTreeSet<String> {
    read("README.md")
        .lines()
        .filter_map(|line| line.strip_prefix("sudo apt-get install "))
        .filter_map(|line| {
            let (packages, comment) = line.split_once('#').unwrap_or((line, ""));
            (comment.contains("the BEAM tests") == beam).then_some(packages)
        })
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect()
}

/// The packages of `.ci/run`'s `NAME=( ... )` array.
fn ci_packages(name: &str) -> BTreeSet<String> {
    let script = read(".ci/run");
    let opening = format!("\n{name}=(");
    let start = script.find(&opening).unwrap() + opening.len();
    let end = start + script[start..].find(')').unwrap();
    script[start..end]
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_ci_installs_exactly_the_packages_the_readme_names_for_the_observer() {
    let readme = readme_packages(false);
    assert!(
        [
            "libxkbcommon0",
            "libx11-6",
            "libwayland-client0",
            "libegl1",
            "libgl1"
        ]
        .iter()
        .all(|package| readme.contains(*package)),
        "X11, Wayland, xkbcommon and GL/EGL: {readme:?}"
    );
    assert_eq!(readme, ci_packages("observer_packages"));
}

#[test]
fn the_ci_installs_and_the_harness_asks_for_exactly_the_packages_the_readme_names_for_the_beam() {
    let readme = readme_packages(true);
    assert!(
        readme.contains("elixir") && readme.iter().any(|package| package.starts_with("erlang")),
        "Erlang/OTP and Elixir: {readme:?}"
    );
    assert_eq!(readme, ci_packages("beam_packages"));
    let harness: BTreeSet<String> = beam_support::DEBIAN_PACKAGES
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(readme, harness);
}
