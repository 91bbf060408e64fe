//! Restart intensity: a supervisor gives up when more than `max_restarts` restarts happen
//! within `max_seconds`, as OTP's `add_restart`. Shared by both kinds of supervisor.
//!
//! The window is read on tokio's clock, so a test on paused time (`tokio::time::pause`)
//! ages it without waiting.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::exit::ExitReason;
use super::introspect::EventKind;
use super::server::{Server, ServerContext};

/// A supervisor's limits and when its recent restarts happened.
pub(crate) struct Intensity {
    max_restarts: u32,
    max_seconds: u32,
    /// Oldest first: at most `max_restarts + 1`, since one more makes it give up.
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max_restarts: u32, max_seconds: u32) -> Self {
        Self {
            max_restarts,
            max_seconds,
            restarts: VecDeque::new(),
        }
    }

    /// Records a restart of `child_id` (which exited with `reason`) now. If it makes more
    /// than `max_restarts` within `max_seconds`, the supervisor gives up: the event is
    /// recorded, the supervisor stops with `shutdown` once the callback returns, and this is
    /// false.
    pub(crate) fn restart_or_give_up<S: Server>(
        &mut self,
        ctx: &mut ServerContext<S>,
        child_id: &Arc<str>,
        reason: &ExitReason,
    ) -> bool {
        let (allowed, at, aged_out) = self.allows();
        ctx.record_restart(at.into_std(), aged_out);
        if allowed {
            return true;
        }
        ctx.event(EventKind::SupervisorGaveUp {
            supervisor: ctx.pid(),
            child_id: child_id.clone(),
            reason: reason.clone(),
        });
        ctx.stop(ExitReason::Shutdown);
        false
    }

    /// Records a restart now; gives whether it stays within `max_restarts` in `max_seconds`,
    /// when it was, and how many of the oldest restarts it pushed out of the window.
    fn allows(&mut self) -> (bool, Instant, usize) {
        let now = Instant::now();
        let window = Duration::from_secs(u64::from(self.max_seconds));
        self.restarts.push_back(now);
        let mut aged_out = 0;
        while self
            .restarts
            .front()
            .is_some_and(|at| now.duration_since(*at) > window)
        {
            self.restarts.pop_front();
            aged_out += 1;
        }
        let allowed = self.restarts.len() as u64 <= u64::from(self.max_restarts);
        (allowed, now, aged_out)
    }

    /// The recent restarts as state rows for observers: how long ago each was.
    pub(crate) fn describe(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let now = Instant::now();
        self.restarts.iter().map(move |at| {
            (
                "restart".to_owned(),
                format!("{} ms ago", now.duration_since(*at).as_millis()),
            )
        })
    }
}
