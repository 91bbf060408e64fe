//! Runtime values to model values (and exit reasons back), the one place that knows both.
//!
//! Times: the runtime keeps [`Instant`]s; the model keeps milliseconds since the node started,
//! which are exact and the same for every reader, and the node's start as wall-clock time.

use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use smallvec::SmallVec;

use crate as runtime;

use otpscope_contract as model;

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

pub(crate) fn restart(restart: runtime::Restart) -> model::Restart {
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

/// How many labels a [`Labels`] remembers.
const LABELS_REMEMBERED: usize = 8;

/// The behaviour labels one thread of a split read has handed out, so that it clones its own
/// copy of a label many processes share.
///
/// Processes started without a label of their own share one string ("process", or the one a
/// supervisor gives all its buckets), and cloning an `Arc` writes its count. When two threads
/// of a split read clone the same label, that count's cache line goes back and forth between
/// their cores at every process: a third of the conversion's time in a read of 100,000
/// processes (BENCHMARKS.md, "Cold full read, third pass"). A label seen a second time is
/// copied once, and that copy, whose count stays in this thread's cache, is cloned after.
/// A read on one thread (a delta) has no such contention and clones the runtime's label.
#[derive(Debug, Default)]
pub(crate) struct Labels {
    /// The runtime's label and what to clone for it (the reader's copy once it was seen
    /// twice; until then the runtime's own), most recent last.
    remembered: SmallVec<[(Arc<str>, Arc<str>); LABELS_REMEMBERED]>,
}

impl Labels {
    fn label(&mut self, label: &Arc<str>) -> Arc<str> {
        if let Some(index) = self
            .remembered
            .iter()
            .rposition(|(runtime, _)| Arc::ptr_eq(runtime, label))
        {
            let clone = &mut self.remembered[index].1;
            if Arc::ptr_eq(clone, label) {
                *clone = Arc::from(&**label);
            }
            return clone.clone();
        }
        if self.remembered.len() == LABELS_REMEMBERED {
            self.remembered.remove(0);
        }
        self.remembered.push((label.clone(), label.clone()));
        label.clone()
    }
}

/// The model's view of one process, read in place from the runtime. Shares the runtime's
/// strings instead of copying them (with `labels`, a label many processes share as the
/// reading thread's own copy); a list of up to two pids is held inline, so a typical process
/// costs the one allocation its caller makes for the `Arc`.
pub(crate) fn process_view(
    view: &runtime::ProcessView<'_>,
    clock: &Clock,
    labels: Option<&mut Labels>,
) -> model::ProcessInfo {
    // By monitor reference, as the runtime's own info lists them; none allocates for two.
    let mut monitors: SmallVec<[(runtime::MonitorRef, runtime::Pid); 2]> =
        view.monitors().collect();
    monitors.sort_unstable();
    model::ProcessInfo {
        pid: pid(view.pid()),
        name: view.name().cloned(),
        kind: kind(view.kind()),
        label: match labels {
            Some(labels) => labels.label(view.label()),
            None => view.label().clone(),
        },
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
        recent_restarts_ms: view.recent_restarts().map(|at| clock.ms(at)).collect(),
        vm: None,
    }
}

fn sorted(pids: impl Iterator<Item = model::Pid>) -> model::PidList {
    let mut pids = pid_list(pids);
    pids.sort_unstable();
    pids
}

/// The pids as a list. The usual zero, one or two are written inline in one step: a list
/// built by pushes and then moved into its entry read back stores that had not settled
/// (`perf annotate` of a cold read). In three interleaved runs of the cold read of 100,000
/// processes this read 7.5, 10.0 and 10.6 ms against 10.6, 9.3 and 11.7 ms for pushes.
/// `SmallVec`'s `collect` reserves and branches first, which cost more still.
fn pid_list(mut pids: impl Iterator<Item = model::Pid>) -> model::PidList {
    let Some(first) = pids.next() else {
        return model::PidList::new();
    };
    let Some(second) = pids.next() else {
        return model::PidList::from_buf_and_len([first, first], 1);
    };
    let mut list = model::PidList::from_buf([first, second]);
    let (more, _) = pids.size_hint();
    if more > 0 {
        list.reserve_exact(more);
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
        E::Command {
            from,
            command,
            target,
        } => model::EventKind::Command {
            from,
            command,
            target: target.map(pid),
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
