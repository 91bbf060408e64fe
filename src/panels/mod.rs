//! The `otpscope` binary's own panels in the Observer, plugged in through the Observer's
//! neutral [`Extension`](crate::gui::Extension) point: they drive the node this program
//! started (a lesson's steps, seeded chaos), which the Observer itself never touches; it
//! sees their effects through its source like any other change.
//!
//! - [`lesson`]: the current step of a lesson, its action, and a check mark once its
//!   expectations hold, checked live from the node's event feed.
//! - [`chaos`]: seeded kills on the node, with each kill and what followed.

pub mod chaos;
pub mod lesson;
