//! The subcommands that live outside `main.rs`, one module each, so that each stays with its
//! feature: [`chaos`].

pub(crate) mod chaos;
