//! Signals between processes: exit signals, links, monitors, and what a death sends.
//!
//! Signals act on the receiver's [`Core`](super::process::Core) as they arrive, under its lock,
//! so they take effect before any message still in its mailbox. Lock order: never two process
//! locks at once; each operation updates its own side, then the other, and copes with the other
//! having died in between. A process's state lock may be held while taking its own mailbox
//! lock (a trapped exit signal is queued under it), never the other way round.
//!
//! Rules (Erlang's):
//! - `exit(pid, kill)` cannot be trapped; the target dies with `killed`. `kill` arriving
//!   through a link is an ordinary reason.
//! - Otherwise a trapping receiver gets the signal as a [`Message::Exit`](super::Message); a
//!   non-trapping one ignores `normal` (unless it sent it to itself) and dies with any other
//!   reason.
//! - Linking to or monitoring a dead pid gives an exit signal or a DOWN with `noproc` at once.
//! - At death: the name is released first, then linked processes get exit signals and
//!   monitors fire.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::exit::ExitReason;
use super::introspect::{DeadProcess, EventKind};
use super::node::NodeShared;
use super::pid::{MonitorRef, Pid};
use super::process::{AnyProcess, Countdown, Down, ExitMessage, Life, SystemMessage, Watcher};

/// Deaths to process, in order: each process with its exit reason.
type Deaths = VecDeque<(Arc<dyn AnyProcess>, ExitReason)>;

thread_local! {
    /// Deaths of never-spawned processes waiting on this thread while an outer
    /// `finish_if_deferred` processes one (`None` when none is being processed).
    static DEATHS: RefCell<Option<Deaths>> = const { RefCell::new(None) };
}

/// Clears [`DEATHS`] when the outermost `finish_if_deferred` ends, even by unwinding.
struct DeathsReset;

impl Drop for DeathsReset {
    fn drop(&mut self) {
        DEATHS.with(|deaths| *deaths.borrow_mut() = None);
    }
}

impl NodeShared {
    /// Sends an exit signal from `from` to `to`. `via_link` is true when a linked process
    /// died (the link is removed on the receiver's side; a signal through a link that was
    /// already removed is dropped). Returns false if `to` is not alive.
    pub(crate) fn exit_signal(
        &self,
        from: Pid,
        to: Pid,
        reason: ExitReason,
        via_link: bool,
    ) -> bool {
        let Some(target) = self.lookup(to) else {
            return false;
        };
        self.exit_signal_to(from, &target, reason, via_link)
    }

    /// [`exit_signal`](Self::exit_signal) to a process already looked up.
    fn exit_signal_to(
        &self,
        from: Pid,
        target: &Arc<dyn AnyProcess>,
        reason: ExitReason,
        via_link: bool,
    ) -> bool {
        let to = target.core().pid;
        let core = target.core();
        let mut state = core.state.lock();
        if state.life == Life::Dead {
            return false;
        }
        if via_link {
            if state.links.remove(&from).is_none() {
                return true;
            }
            core.touch();
        }
        if state.life == Life::Exiting {
            return true;
        }
        let doom = if !via_link && reason == ExitReason::Kill {
            ExitReason::Killed
        } else if state.trap_exit {
            // Queued under the receiver's lock: a `link` racing with this death then either
            // finds the link still there, or sends its `noproc` after this signal, never
            // before it (a transient child exiting normally must not look like noproc).
            target.deliver(SystemMessage::Exit(ExitMessage { from, reason }));
            return true;
        } else if reason == ExitReason::Normal && from != to {
            return true;
        } else {
            reason
        };
        core.doom(&mut state, doom);
        drop(state);
        self.finish_if_deferred(target);
        true
    }

    /// What a supervisor does to stop its child `pid` (OTP's `shutdown/2`), with one lookup
    /// of the child: counts it in `countdown` until it dies (a monitor), unlinks it, and sends
    /// it the exit signal `reason`. True if the child is still alive after the signal (a
    /// child that never ran dies at it; see `finish_if_deferred`).
    pub(crate) fn shut_down(
        &self,
        supervisor: &Arc<dyn AnyProcess>,
        pid: Pid,
        reason: ExitReason,
        countdown: &Arc<Countdown>,
    ) -> bool {
        let child = self.lookup(pid);
        if let Some(child) = &child {
            let mut state = child.core().state.lock();
            if state.life != Life::Dead {
                countdown.add();
                let monitor = self.next_ref();
                state
                    .monitored_by
                    .insert(monitor, Watcher::Countdown(countdown.clone()));
            }
        }
        self.unlink_from(supervisor, pid, || child.clone());
        let Some(child) = child else {
            return false;
        };
        self.exit_signal_to(supervisor.core().pid, &child, reason, false);
        child.core().exit_reason.get().is_none()
    }

    /// A doomed process whose task was never spawned (a server that never got a message) has
    /// nothing left to run: its death is processed here, in the signalling task, instead of
    /// in a task spawned only to end (stopping 100,000 idle buckets spawns nothing). Deaths
    /// this one causes through links are queued and processed by the outermost call, so a
    /// chain of them does not grow the stack.
    fn finish_if_deferred(&self, process: &Arc<dyn AnyProcess>) {
        let Some(task) = process.take_deferred() else {
            return;
        };
        // The server's state and mailbox, never to run: dropped as a killed task's would be.
        drop(task);
        let reason = process.core().doom_reason();
        let outermost = DEATHS.with(|deaths| {
            let mut deaths = deaths.borrow_mut();
            match deaths.as_mut() {
                Some(queue) => {
                    queue.push_back((process.clone(), reason.clone()));
                    false
                }
                None => {
                    *deaths = Some(VecDeque::new());
                    true
                }
            }
        });
        if !outermost {
            return;
        }
        let _reset = DeathsReset;
        let mut next = Some((process.clone(), reason));
        while let Some((process, reason)) = next {
            self.finish(&process, reason);
            next = DEATHS.with(|deaths| deaths.borrow_mut().as_mut().and_then(VecDeque::pop_front));
        }
    }

    /// Links the live process `a` (the caller) with `b`. Idempotent.
    pub(crate) fn link(&self, a: &Arc<dyn AnyProcess>, b: Pid) {
        let a_pid = a.core().pid;
        if a_pid == b {
            return;
        }
        if a.core().state.lock().links.insert(b, ()).is_some() {
            return;
        }
        let linked = self.lookup(b).is_some_and(|other| {
            let mut state = other.core().state.lock();
            if state.life == Life::Dead {
                return false;
            }
            state.links.insert(a_pid, ());
            drop(state);
            other.core().touch();
            true
        });
        a.core().touch();
        if linked {
            self.event(EventKind::Linked { a: a_pid, b });
        } else {
            a.core().state.lock().links.remove(&b);
            self.exit_signal(b, a_pid, ExitReason::NoProc, false);
        }
    }

    /// Removes the link between `a` and `b`, if any.
    pub(crate) fn unlink(&self, a: &Arc<dyn AnyProcess>, b: Pid) {
        self.unlink_from(a, b, || self.lookup(b));
    }

    /// [`unlink`](Self::unlink), `b` looked up by `lookup` if `a` was linked to it.
    fn unlink_from(
        &self,
        a: &Arc<dyn AnyProcess>,
        b: Pid,
        lookup: impl FnOnce() -> Option<Arc<dyn AnyProcess>>,
    ) {
        let a_pid = a.core().pid;
        if a.core().state.lock().links.remove(&b).is_none() {
            return;
        }
        if let Some(other) = lookup() {
            other.core().state.lock().links.remove(&a_pid);
            other.core().touch();
        }
        a.core().touch();
        self.event(EventKind::Unlinked { a: a_pid, b });
    }

    /// `watcher` starts monitoring `target`.
    pub(crate) fn monitor(&self, watcher: &Arc<dyn AnyProcess>, target: Pid) -> MonitorRef {
        let monitor = self.next_ref();
        let watcher_pid = watcher.core().pid;
        watcher.core().state.lock().monitors.insert(monitor, target);
        let attached = self.lookup(target).is_some_and(|other| {
            let mut state = other.core().state.lock();
            if state.life == Life::Dead {
                return false;
            }
            state
                .monitored_by
                .insert(monitor, Watcher::Process(watcher_pid));
            drop(state);
            other.core().touch();
            true
        });
        watcher.core().touch();
        if !attached {
            watcher.core().state.lock().monitors.remove(&monitor);
            let down = Down {
                monitor,
                pid: target,
                reason: ExitReason::NoProc,
            };
            watcher.deliver(SystemMessage::Down(down));
        }
        monitor
    }

    /// Removes a monitor; true if it was active.
    pub(crate) fn demonitor(&self, watcher: &Arc<dyn AnyProcess>, monitor: MonitorRef) -> bool {
        let Some(target) = watcher.core().state.lock().monitors.remove(&monitor) else {
            return false;
        };
        if let Some(other) = self.lookup(target) {
            other.core().state.lock().monitored_by.remove(&monitor);
            other.core().touch();
        }
        watcher.core().touch();
        true
    }

    /// A process's future has ended with `reason`: mark it dead, release its name, leave the
    /// table and its parent, then signal its links and monitors.
    pub(crate) fn finish(&self, process: &Arc<dyn AnyProcess>, reason: ExitReason) {
        let core = process.core();
        core.exit_reason.set(reason.clone()).ok();
        let (info, links, monitors, monitored_by, name, parent, order_key) = {
            let mut state = core.state.lock();
            let info = core.view(&state, process.mailbox_len()).to_info();
            state.life = Life::Dead;
            core.set_status(super::introspect::Status::Dead);
            (
                info,
                state.links.take(),
                state.monitors.take(),
                state.monitored_by.take(),
                state.meta.name.take(),
                state.meta.parent,
                state.meta.order_key,
            )
        };
        process.close_mailbox();
        let pid = core.pid;
        if let Some(name) = name {
            self.release_name(&name, pid);
        }
        self.remove(pid);
        if let Some(parent) = parent.and_then(|p| self.lookup(p)) {
            let mut state = parent.core().state.lock();
            if state.meta.children.remove(order_key, pid) {
                drop(state);
                parent.core().touch();
            }
        }
        let died_at = Instant::now();
        self.event_at(
            EventKind::Exited {
                pid,
                reason: reason.clone(),
            },
            died_at,
        );
        self.record_dead(DeadProcess {
            info,
            reason: reason.clone(),
            died_at,
        });
        for (monitor, target) in monitors {
            if let Some(other) = self.lookup(target) {
                other.core().state.lock().monitored_by.remove(&monitor);
                other.core().touch();
            }
        }
        for (linked, ()) in links {
            self.exit_signal(pid, linked, reason.clone(), true);
        }
        // Processes first, then code outside any process: someone awaiting this death from
        // outside (a `stop`, a `watch`) then finds every monitoring process already told, as
        // a BEAM caller of `Agent.stop` finds the registry's DOWN ahead of its next call.
        for (monitor, watcher) in monitored_by.iter() {
            match watcher {
                Watcher::Process(watcher_pid) => {
                    let Some(watcher) = self.lookup(*watcher_pid) else {
                        continue;
                    };
                    let active = watcher
                        .core()
                        .state
                        .lock()
                        .monitors
                        .remove(monitor)
                        .is_some();
                    if active {
                        watcher.core().touch();
                        let down = Down {
                            monitor: *monitor,
                            pid,
                            reason: reason.clone(),
                        };
                        watcher.deliver(SystemMessage::Down(down));
                    }
                }
                Watcher::External(_) | Watcher::Countdown(_) => {}
            }
        }
        for (_, watcher) in monitored_by {
            match watcher {
                Watcher::Process(_) => {}
                Watcher::External(sender) => {
                    sender.send(reason.clone()).ok();
                }
                Watcher::Countdown(countdown) => countdown.arrive(),
            }
        }
    }
}
