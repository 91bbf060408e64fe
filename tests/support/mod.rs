//! Helpers shared by the integration tests: waiting for conditions with a deadline.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::{Duration, Instant};

use otpscope::runtime::{ExitReason, Node, Pid};

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

/// Waits for `pid` to exit and returns its reason; panics after the deadline.
pub async fn exit_of(node: &Node, pid: Pid) -> ExitReason {
    match tokio::time::timeout(DEADLINE, node.watch(pid)).await {
        Ok(reason) => reason,
        Err(_) => panic!("timed out waiting for {pid} to exit"),
    }
}

/// Awaits `future`, panicking with `what` after the deadline.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out: {what}"),
    }
}
