//! The subcommands that live outside `main.rs`, one module each, so that each stays with its
//! feature: [`chaos`], [`lesson`], [`replay`].

pub(crate) mod chaos;
pub(crate) mod lesson;
pub(crate) mod replay;
