//! Demos built on the public runtime API, as a user of the crate would write them.

pub mod kv;
pub mod playground;
