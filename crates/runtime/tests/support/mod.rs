//! Helpers shared by the integration tests: waiting for conditions with a deadline.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::{Duration, Instant};

use otpscope_runtime::{EventKind, ExitReason, Node, Pid};

pub mod probe;

/// How long a test waits for a condition before failing.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Waits until `condition` holds, polling every millisecond; panics with `what` after the
/// deadline.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until the async `condition` holds.
pub async fn wait_until_async<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits for `pid` to exit and returns its reason; panics after the deadline. A process that
/// already exited gives the reason it exited with (from the node's recent exits), not the
/// `noproc` a late monitor would get.
pub async fn exit_of(node: &Node, pid: Pid) -> ExitReason {
    let reason = match tokio::time::timeout(DEADLINE, node.watch(pid)).await {
        Ok(reason) => reason,
        Err(_) => panic!("timed out waiting for {pid} to exit"),
    };
    if reason != ExitReason::NoProc {
        return reason;
    }
    // The process leaves the table a moment before its exit is recorded.
    let started = Instant::now();
    loop {
        let recorded = node
            .introspect()
            .recent_exits()
            .into_iter()
            .rev()
            .find(|dead| dead.info.pid == pid);
        if let Some(dead) = recorded {
            return dead.reason;
        }
        if started.elapsed() > Duration::from_millis(200) {
            return reason;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Awaits `future`, panicking with `what` after the deadline.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// Every event of `node` from sequence number `seq` on, in order.
pub fn events_since(node: &Node, seq: u64) -> Vec<EventKind> {
    let read = node.introspect().events_since(seq, usize::MAX);
    assert_eq!(read.missed, 0, "the event ring dropped events");
    read.events.into_iter().map(|event| event.kind).collect()
}

/// The exits recorded from `seq` on, in order.
pub fn exits_since(node: &Node, seq: u64) -> Vec<(Pid, ExitReason)> {
    events_since(node, seq)
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::Exited { pid, reason } => Some((pid, reason)),
            _ => None,
        })
        .collect()
}

/// The processes spawned from `seq` on, in order.
pub fn spawns_since(node: &Node, seq: u64) -> Vec<Pid> {
    events_since(node, seq)
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::Spawned { pid, .. } => Some(pid),
            _ => None,
        })
        .collect()
}
