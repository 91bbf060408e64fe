//! Runtime values to model values (and exit reasons back), the one place that knows both.
//!
//! Times: the runtime keeps [`Instant`]s; the model keeps milliseconds since the node started,
//! which are exact and the same for every reader, and the node's start as wall-clock time.

use std::time::{Instant, UNIX_EPOCH};

use smallvec::SmallVec;

use crate::runtime;

use super::model;

/// Turns a node's instants into model times.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    /// When the node started (monotonic): times are counted from it.
    node_started: Instant,
    /// The same moment on the wall clock.
    pub(crate) node_started_at_unix_ms: u64,
}

impl Clock {
    pub(crate) fn new(node: &runtime::Node) -> Self {
        let node_started = node.started_at();
        Self {
            node_started,
            node_started_at_unix_ms: unix_ms(runtime::wall_clock(node_started)),
        }
    }

    /// Milliseconds from the node's start to `at`.
    pub(crate) fn ms(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.node_started).as_millis() as u64
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn unix_ms(at: std::time::SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// The wall clock now, in milliseconds since the Unix epoch.
pub(crate) fn now_unix_ms() -> u64 {
    unix_ms(std::time::SystemTime::now())
}

pub(crate) fn pid(pid: runtime::Pid) -> model::Pid {
    model::Pid(pid.serial())
}

impl From<runtime::Pid> for model::Pid {
    /// The model's pid of a runtime pid: its serial (the node is implied by the stream).
    fn from(pid: runtime::Pid) -> Self {
        Self(pid.serial())
    }
}

pub(crate) fn exit_reason(reason: &runtime::ExitReason) -> model::ExitReason {
    use runtime::ExitReason as R;
    match reason {
        R::Normal => model::ExitReason::Normal,
        R::Shutdown => model::ExitReason::Shutdown,
        R::ShutdownWith(term) => model::ExitReason::ShutdownWith(term.clone()),
        R::Kill => model::ExitReason::Kill,
        R::Killed => model::ExitReason::Killed,
        R::NoProc => model::ExitReason::NoProc,
        R::Panic(message) => model::ExitReason::Panic(message.clone()),
        R::Custom(reason) => model::ExitReason::Custom(reason.clone()),
    }
}

pub(crate) fn runtime_exit_reason(reason: &model::ExitReason) -> runtime::ExitReason {
    use model::ExitReason as M;
    match reason {
        M::Normal => runtime::ExitReason::Normal,
        M::Shutdown => runtime::ExitReason::Shutdown,
        M::ShutdownWith(term) => runtime::ExitReason::ShutdownWith(term.clone()),
        M::Kill => runtime::ExitReason::Kill,
        M::Killed => runtime::ExitReason::Killed,
        M::NoProc => runtime::ExitReason::NoProc,
        M::Panic(message) => runtime::ExitReason::Panic(message.clone()),
        M::Custom(reason) => runtime::ExitReason::Custom(reason.clone()),
    }
}

fn strategy(strategy: runtime::Strategy) -> model::Strategy {
    match strategy {
        runtime::Strategy::OneForOne => model::Strategy::OneForOne,
        runtime::Strategy::OneForAll => model::Strategy::OneForAll,
        runtime::Strategy::RestForOne => model::Strategy::RestForOne,
    }
}

fn kind(kind: &runtime::ProcessKind) -> model::ProcessKind {
    use runtime::ProcessKind as K;
    match kind {
        K::Supervisor {
            strategy: s,
            max_restarts,
            max_seconds,
        } => model::ProcessKind::Supervisor {
            strategy: strategy(*s),
            max_restarts: *max_restarts,
            max_seconds: *max_seconds,
        },
        K::DynamicSupervisor {
            max_restarts,
            max_seconds,
            max_children,
        } => model::ProcessKind::DynamicSupervisor {
            max_restarts: *max_restarts,
            max_seconds: *max_seconds,
            max_children: max_children.map(|max| max as u64),
        },
        K::Server => model::ProcessKind::Server,
        K::Agent => model::ProcessKind::Agent,
        K::Plain => model::ProcessKind::Plain,
    }
}

pub(crate) fn status(status: runtime::Status) -> model::Status {
    match status {
        runtime::Status::Running => model::Status::Running,
        runtime::Status::Waiting => model::Status::Waiting,
        runtime::Status::Exiting => model::Status::Exiting,
        runtime::Status::Dead => model::Status::Dead,
    }
}

fn restart(restart: runtime::Restart) -> model::Restart {
    match restart {
        runtime::Restart::Permanent => model::Restart::Permanent,
        runtime::Restart::Transient => model::Restart::Transient,
        runtime::Restart::Temporary => model::Restart::Temporary,
    }
}

fn shutdown(shutdown: runtime::Shutdown) -> model::Shutdown {
    match shutdown {
        runtime::Shutdown::BrutalKill => model::Shutdown::BrutalKill,
        runtime::Shutdown::Timeout(timeout) => {
            model::Shutdown::TimeoutMs(timeout.as_millis() as u64)
        }
        runtime::Shutdown::Infinity => model::Shutdown::Infinity,
    }
}

/// The model's view of one process, read in place from the runtime. Shares the runtime's
/// strings instead of copying them; a list of up to two pids is held inline, so a typical
/// process costs the one allocation its caller makes for the `Arc`.
pub(crate) fn process_view(view: &runtime::ProcessView<'_>, clock: &Clock) -> model::ProcessInfo {
    // By monitor reference, as the runtime's own info lists them; none allocates for two.
    let mut monitors: SmallVec<[(runtime::MonitorRef, runtime::Pid); 2]> =
        view.monitors().collect();
    monitors.sort_unstable();
    model::ProcessInfo {
        pid: pid(view.pid()),
        name: view.name().cloned(),
        kind: kind(view.kind()),
        label: view.label().clone(),
        parent: view.parent().map(pid),
        children: pid_list(view.children().map(pid)),
        child_id: view.child_id().cloned(),
        restart: view.restart().map(restart),
        shutdown: view.shutdown().map(shutdown),
        status: status(view.status()),
        trap_exit: view.trap_exit(),
        links: sorted(view.links().map(pid)),
        monitors: pid_list(monitors.into_iter().map(|(_, target)| pid(target))),
        monitored_by: sorted(view.monitored_by().map(pid)),
        mailbox_len: view.mailbox_len() as u64,
        messages_handled: view.messages_handled(),
        restarts: view.restarts(),
        started_at_ms: clock.ms(view.started_at()),
    }
}

fn sorted(pids: impl Iterator<Item = model::Pid>) -> model::PidList {
    let mut pids = pid_list(pids);
    pids.sort_unstable();
    pids
}

/// The pids as a list, pushed one by one. `SmallVec`'s `collect` reserves and branches first,
/// which for the usual zero, one or two pids cost a cold read of 100,000 processes about
/// 3 ms more here (16 against 19 ms, the fastest of 60 reads each).
fn pid_list(pids: impl Iterator<Item = model::Pid>) -> model::PidList {
    let mut list = model::PidList::new();
    let (lower, _) = pids.size_hint();
    if lower > list.inline_size() {
        list.reserve_exact(lower);
    }
    for pid in pids {
        list.push(pid);
    }
    list
}

pub(crate) fn event(event: runtime::Event, clock: &Clock) -> model::Event {
    use runtime::EventKind as E;
    let kind = match event.kind {
        E::Spawned {
            pid: spawned,
            parent,
            label,
        } => model::EventKind::Spawned {
            pid: pid(spawned),
            parent: parent.map(pid),
            label,
        },
        E::Exited {
            pid: exited,
            reason,
        } => model::EventKind::Exited {
            pid: pid(exited),
            reason: exit_reason(&reason),
        },
        E::Restarted {
            supervisor,
            child_id,
            old,
            new,
        } => model::EventKind::Restarted {
            supervisor: pid(supervisor),
            child_id,
            old: pid(old),
            new: pid(new),
        },
        E::Linked { a, b } => model::EventKind::Linked {
            a: pid(a),
            b: pid(b),
        },
        E::Unlinked { a, b } => model::EventKind::Unlinked {
            a: pid(a),
            b: pid(b),
        },
        E::SupervisorGaveUp {
            supervisor,
            child_id,
            reason,
        } => model::EventKind::SupervisorGaveUp {
            supervisor: pid(supervisor),
            child_id,
            reason: exit_reason(&reason),
        },
    };
    model::Event {
        seq: event.seq,
        at_ms: clock.ms(event.at),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_reasons_convert_both_ways_and_print_alike() {
        let reasons = [
            runtime::ExitReason::Normal,
            runtime::ExitReason::Shutdown,
            runtime::ExitReason::shutdown_with("bye"),
            runtime::ExitReason::Kill,
            runtime::ExitReason::Killed,
            runtime::ExitReason::NoProc,
            runtime::ExitReason::Panic("oops".into()),
            runtime::ExitReason::custom("boom"),
        ];
        for reason in reasons {
            let model = exit_reason(&reason);
            assert_eq!(model.to_string(), reason.to_string());
            assert_eq!(runtime_exit_reason(&model), reason);
        }
    }
}
