//! What the README promises about the machine: the system packages it names for `cargo run`
//! are the ones `.ci/run` installs. (Its Rust programs are compiled and run as doctests; see
//! `ReadmeDoctests` in `src/lib.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
}

/// The packages of the README's `sudo apt-get install` lines.
fn readme_packages() -> BTreeSet<String> {
    read("README.md")
        .lines()
        .filter_map(|line| line.strip_prefix("sudo apt-get install "))
        .flat_map(|line| {
            line.split('#')
                .next()
                .unwrap()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The packages of `.ci/run`'s `observer_packages=( ... )` array.
fn ci_packages() -> BTreeSet<String> {
    let script = read(".ci/run");
    let start = script.find("observer_packages=(").unwrap() + "observer_packages=(".len();
    let end = start + script[start..].find(')').unwrap();
    script[start..end]
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_ci_installs_exactly_the_packages_the_readme_names() {
    let readme = readme_packages();
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
    assert_eq!(readme, ci_packages());
}
