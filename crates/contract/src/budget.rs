//! A supervisor's restart budget: how many restarts its window holds against its intensity,
//! read from [`ProcessInfo::recent_restarts_ms`] at a given time (a live view's now, or a
//! replayed moment).

use crate::{ProcessInfo, ProcessKind};

/// Restarts within a supervisor's window against its intensity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartBudget {
    /// Restarts within the last `max_seconds`.
    pub used: u32,
    /// The most restarts the window allows; one more and the supervisor gives up.
    pub max_restarts: u32,
    /// The window.
    pub max_seconds: u32,
}

impl RestartBudget {
    /// Restarts left before the supervisor gives up (0 when the next one is fatal).
    pub fn left(&self) -> u32 {
        self.max_restarts.saturating_sub(self.used)
    }

    /// How much of the budget is used, 0 to 1 (1 when `max_restarts` is 0).
    pub fn fraction_used(&self) -> f32 {
        if self.max_restarts == 0 {
            1.0
        } else {
            (self.used as f32 / self.max_restarts as f32).min(1.0)
        }
    }
}

impl ProcessInfo {
    /// Its restart budget at `now_ms` (milliseconds since the node started), if it is a
    /// supervisor: its restarts at most `max_seconds` before `now_ms`, as the runtime counts
    /// them.
    pub fn restart_budget(&self, now_ms: u64) -> Option<RestartBudget> {
        let (max_restarts, max_seconds) = match self.kind {
            ProcessKind::Supervisor {
                max_restarts,
                max_seconds,
                ..
            }
            | ProcessKind::DynamicSupervisor {
                max_restarts,
                max_seconds,
                ..
            } => (max_restarts, max_seconds),
            _ => return None,
        };
        let window_ms = u64::from(max_seconds) * 1000;
        let used = self
            .recent_restarts_ms
            .iter()
            .filter(|at| now_ms.saturating_sub(**at) <= window_ms)
            .count() as u32;
        Some(RestartBudget {
            used,
            max_restarts,
            max_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Pid, Strategy};

    #[test]
    fn restarts_age_out_of_the_window() {
        let mut info = ProcessInfo::new(
            Pid(1),
            ProcessKind::Supervisor {
                strategy: Strategy::OneForAll,
                max_restarts: 3,
                max_seconds: 5,
            },
            "KV.Supervisor",
        );
        info.recent_restarts_ms = vec![1_000, 2_000, 4_000];
        let at = |now_ms| info.restart_budget(now_ms).unwrap();
        assert_eq!(
            at(4_000),
            RestartBudget {
                used: 3,
                max_restarts: 3,
                max_seconds: 5
            }
        );
        assert_eq!(at(4_000).left(), 0);
        assert_eq!(at(6_000).used, 3);
        assert_eq!(at(6_001).used, 2);
        assert_eq!(at(9_001).used, 0);
        assert_eq!(at(9_001).fraction_used(), 0.0);
        let worker = ProcessInfo::new(Pid(2), ProcessKind::Agent, "KV.Bucket");
        assert_eq!(worker.restart_budget(0), None);
    }
}
