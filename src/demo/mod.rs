//! Demos built on the public runtime API, as a user of the crate would write them.

pub mod app;
pub mod kv;
pub mod playground;

pub use app::{App, AppHandle, RestartError};
