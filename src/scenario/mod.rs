//! Fault scripts: the headless way classes, demos and CI drive a node.
//!
//! [`parse`] reads a script (one command a line) and rejects a malformed line before anything
//! runs; [`run`] carries it out against a node and its KV app, printing each command with the
//! events it caused, and [`tree_text`] draws the supervision tree as indented text; [`path`]
//! names a process by its place in the tree (what chaos prints and scripts read back). The
//! `otpscope run` and `otpscope dump` commands are thin wrappers over these.

pub mod parse;
pub mod path;
pub mod run;
pub mod session;
pub mod tree_text;

pub use parse::{Command, Expectation, Line, ScriptError, Target, parse};
pub use run::{Format, Runner, Summary};
