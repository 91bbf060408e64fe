//! Tree files: a small TOML format that describes a supervision tree of supervisors, dynamic
//! supervisors and scripted workers, for experiments beyond the KV app (crash loops, slow
//! shutdowns, wide and deep trees). Built on the public runtime API only, as a user of the
//! crate would write it. Examples ship in `assets/trees/` (compiled in as [`BUILT_IN`]).
//!
//! Read one with [`TreeSpec::parse`] or [`TreeSpec::load`], start it with
//! [`TreeSpec::start`]. A malformed file gives a [`TreeError`] with the line, the column and
//! what was expected.
//!
//! # The format
//!
//! The document is the root: a `supervisor` or a `dynamic_supervisor`. Children are arrays of
//! tables, in start order; a child's own children go one level deeper in the header
//! (`[[children.children]]`), as TOML nests arrays of tables.
//!
//! ```toml
//! description = "a worker that crashes every second, beside a steady one"
//! type = "supervisor"          # required at the top: supervisor | dynamic_supervisor
//! name = "Demo.Supervisor"     # registered name (optional, unique in the file)
//! label = "Demo.Supervisor"    # behaviour label observers show (optional; a worker's
//!                              # defaults to its id, a supervisor's to Supervisor)
//! strategy = "one_for_one"     # required: one_for_one | one_for_all | rest_for_one
//! max_restarts = 3             # intensity: 3 restarts ...
//! max_seconds = 5              # ... in 5 seconds (the defaults)
//!
//! [[children]]                 # a worker (type defaults to "worker")
//! id = "steady"                # required, unique among siblings
//! restart = "permanent"        # permanent (default) | transient | temporary
//! shutdown = 2000              # brutal_kill | milliseconds (default 5000) | infinity
//! name = "Demo.Steady"
//! state = { milk = 3, owner = "ann" }    # held, and shown by describe
//!
//! [[children]]
//! id = "flaky"
//! crash_every_ms = 1000        # each incarnation exits after 1 s ...
//! crash_reason = "boom"        # ... with this reason (default boom)
//! send_per_second = 5          # pings a registered worker 5 times a second
//! send_to = "Demo.Steady"
//!
//! [[children]]
//! id = "buckets"
//! type = "dynamic_supervisor"  # shutdown defaults to infinity for supervisors
//! name = "Demo.Buckets"
//! max_children = 100           # optional limit
//!
//! [[children.children]]        # an initial child of "buckets"
//! id = "bucket"
//! label = "Demo.Bucket"
//! restart = "temporary"
//! count = 3                    # start 3 identical ones (dynamic supervisors only)
//! ```
//!
//! Worker scripts, combinable unless stated:
//! - `crash_every_ms` (+ `crash_reason`): every incarnation exits with the reason after N ms;
//! - `exit_after_ms` (+ `exit_reason`, default `normal`): the first incarnation started from
//!   its child spec exits after N ms, later ones run on (with `restart = "transient"` or
//!   `"temporary"` this shows which exits are restarted);
//! - `shutdown_ms = N`: traps exits and takes N ms to exit on `shutdown` (past the child's
//!   `shutdown` timeout its supervisor kills it);
//! - `ignore_shutdown = true`: traps exits and never exits on `shutdown`, so its supervisor
//!   kills it when the `shutdown` timeout passes (never, with `infinity`); not with
//!   `shutdown_ms`;
//! - `trap_exit = true`: traps exits (exits from other linked processes become messages);
//! - `fail_to_start = "reason"`: its init fails, so its supervisor's start fails naming it;
//! - `ignore = true`: its start returns `ignore`, the spec stays with no process;
//!   `ignore` and `fail_to_start` take no other script key;
//! - `send_per_second = M` + `send_to = "Name"`: casts M [`Ping`]s a second to the worker
//!   registered as `Name` (looked up at each send; pings to no live worker are counted as
//!   undelivered);
//! - `state = { key = value, ... }`: what it holds and describes.
//!
//! Reasons are written as text and read with
//! [`ExitReason::parse`](crate::runtime::ExitReason::parse): `normal`, `shutdown`, `kill`,
//! `shutdown:TERM`, or any other word as a custom reason.
//!
//! Checks beyond TOML: unknown keys (with the valid ones listed), a missing `type` at the top,
//! a missing `id` or `strategy`, unknown words for `type`, `strategy`, `restart` and
//! `shutdown`, wrong value types, duplicate ids among siblings, a registered name used twice,
//! `count` below 1, outside a dynamic supervisor, or with a `name`, and initial children past
//! `max_children`.
//!
//! Every worker is a [`Worker`] server; reach one with
//! `ServerRef::<Worker>::whereis(&node, name)` to read its state or counters with a
//! [`WorkerCall`], or to make it crash now or stay busy (what the Observer's right-click
//! menu does, through [`control::PlaygroundControl`]). A restarted dynamic supervisor starts its initial children again.

pub mod control;
mod error;
mod parse;
mod spec;
mod start;
mod worker;

use std::path::Path;

use crate::runtime::{Node, StartError};

pub use error::TreeError;
pub use spec::{
    ChildEntry, DynamicSupervisorSpec, ProcessSpec, RootSpec, ScriptedExit, SendSpec,
    SupervisorSpec, TreeSpec, WorkerSpec,
};
pub use start::{RootHandle, RunningTree};
pub use worker::{Ping, ScriptTimer, Worker, WorkerCall, WorkerReply, WorkerStats};

/// The trees shipped in `assets/trees/`, compiled in so that a binary can offer them with no
/// files beside it: (file stem, TOML text), the KV stages first.
pub const BUILT_IN: [(&str, &str); 10] = [
    (
        "kv_linked",
        include_str!("../../../assets/trees/kv_linked.toml"),
    ),
    (
        "kv_permanent",
        include_str!("../../../assets/trees/kv_permanent.toml"),
    ),
    (
        "kv_one_for_one",
        include_str!("../../../assets/trees/kv_one_for_one.toml"),
    ),
    (
        "kv_final",
        include_str!("../../../assets/trees/kv_final.toml"),
    ),
    ("deep", include_str!("../../../assets/trees/deep.toml")),
    (
        "name_race",
        include_str!("../../../assets/trees/name_race.toml"),
    ),
    ("wide", include_str!("../../../assets/trees/wide.toml")),
    (
        "crash_loop",
        include_str!("../../../assets/trees/crash_loop.toml"),
    ),
    (
        "shutdown",
        include_str!("../../../assets/trees/shutdown.toml"),
    ),
    (
        "restart_types",
        include_str!("../../../assets/trees/restart_types.toml"),
    ),
];

impl TreeSpec {
    /// Reads a tree from TOML text.
    pub fn parse(text: &str) -> Result<Self, TreeError> {
        parse::parse(text)
    }

    /// Reads a tree file; errors name the path.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TreeError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TreeError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|error| TreeError::File {
            path: path.to_owned(),
            source: Box::new(error),
        })
    }

    /// Starts the tree from `node`: the root unlinked (the node is its parent), every child
    /// started before this returns. If a child fails to start, what started is stopped and
    /// the error names the child (nested errors name each level).
    pub async fn start(&self, node: &Node) -> Result<RunningTree, StartError> {
        start::start(&self.root, node).await
    }

    /// How many processes the tree runs once started: supervisors and workers, each counted
    /// `count` times, without the ignored and failing workers.
    pub fn process_count(&self) -> usize {
        match &self.root {
            RootSpec::Supervisor(spec) => 1 + count_children(&spec.children),
            RootSpec::DynamicSupervisor(spec) => 1 + count_children(&spec.children),
        }
    }
}

fn count_children(children: &[ChildEntry]) -> usize {
    children
        .iter()
        .map(|child| {
            let each = match &child.process {
                ProcessSpec::Supervisor(spec) => 1 + count_children(&spec.children),
                ProcessSpec::DynamicSupervisor(spec) => 1 + count_children(&spec.children),
                ProcessSpec::Worker(spec) => {
                    usize::from(!spec.ignore && spec.fail_to_start.is_none())
                }
            };
            each * child.count
        })
        .sum()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The example in this module's docs, without the `//! ` prefixes.
    fn documented_example() -> String {
        let source = include_str!("mod.rs");
        let mut lines = source
            .lines()
            .skip_while(|line| *line != "//! ```toml")
            .skip(1)
            .take_while(|line| *line != "//! ```");
        let mut example = String::new();
        for line in &mut lines {
            example.push_str(
                line.strip_prefix("//!")
                    .unwrap_or(line)
                    .trim_start_matches(' '),
            );
            example.push('\n');
        }
        example
    }

    #[test]
    fn documented_example_parses_as_described() {
        let example = documented_example();
        assert!(example.contains("[[children.children]]"));
        let tree = TreeSpec::parse(&example).unwrap();
        let RootSpec::Supervisor(root) = &tree.root else {
            panic!("the example's root is a supervisor");
        };
        let ids: Vec<&str> = root.children.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["steady", "flaky", "buckets"]);
        assert_eq!(tree.process_count(), 1 + 2 + 1 + 3);
        let ProcessSpec::Worker(flaky) = &root.children[1].process else {
            panic!("flaky is a worker");
        };
        let crash = flaky.crash_every.as_ref().unwrap();
        assert_eq!(
            (crash.after_ms, crash.reason.to_string()),
            (1000, "boom".to_owned())
        );
    }
}
