//! What the flight recorder holds in memory for a 10,000-process node over a minute, measured
//! with a counting allocator: the Observer's state fed as the app feeds it (a delta every
//! 200 ms, the default refresh), once with the flight recorder and once without; the
//! difference is what the recorder holds (its deltas and events, and the process tables of
//! its keyframes, which the state copies on the next delta once a keyframe shares them).
//!
//! Two loads: a quiet node (10 processes change a tick) and a busy one (1,000 processes, a
//! tenth of the node, and 20 events a tick). Run with `--nocapture` to see the figures.

#![allow(clippy::unwrap_used, missing_docs, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otpscope_contract::{
    Delta, Event, EventKind, ExitReason, Pid, ProcessInfo, ProcessKind, Snapshot, Update,
};
use otpscope_observer::ObserverState;
use otpscope_observer::recorder::flight::{FlightRecorder, Took};

/// Counts the bytes allocated and not yet freed.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// Held while measuring: the counter is the whole process's, so the tests (run on parallel
/// threads) measure one at a time or each counts the other's allocations.
static MEASURING: Mutex<()> = Mutex::new(());

// SAFETY: every call is forwarded to the system allocator unchanged; the counter only adds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: allocated above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as GlobalAlloc::realloc requires, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const PROCESSES: u64 = 10_000;
const TICK: Duration = Duration::from_millis(200);

fn bucket(pid: u64, handled: u64) -> Arc<ProcessInfo> {
    let mut info = ProcessInfo::new(Pid(pid), ProcessKind::Agent, "KV.Bucket");
    info.parent = Some(Pid(0));
    info.messages_handled = handled;
    Arc::new(info)
}

/// Feeds a minute and ten seconds of ticks changing `changed` processes and carrying
/// `events` events each; gives the bytes live at the end (state and recorder together).
fn run(changed: u64, events: u64, flight: Option<&mut FlightRecorder>) -> isize {
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut state = ObserverState::new();
    let mut flight = flight;
    let start = Instant::now();
    let supervisor = Arc::new(ProcessInfo::new(
        Pid(0),
        ProcessKind::DynamicSupervisor {
            max_children: None,
            max_restarts: 3,
            max_seconds: 5,
        },
        "KV.BucketSupervisor",
    ));
    let processes = std::iter::once(supervisor).chain((1..PROCESSES).map(|pid| bucket(pid, 0)));
    state.apply(Update::Full(Snapshot::new("n", 0, 0, 1, processes)));
    if let (Some(flight), Some(snapshot)) = (flight.as_deref_mut(), &state.snapshot) {
        flight.took(start, Took::Full(snapshot.clone()), None);
    }
    let ticks = 70_000 / TICK.as_millis() as u64;
    for tick in 1..=ticks {
        let now = start + TICK * tick as u32;
        let first = (tick * changed) % (PROCESSES - changed);
        let delta = Delta {
            seq: tick + 1,
            from_seq: tick,
            taken_at_unix_ms: tick * 200,
            changed: (first..first + changed)
                .map(|pid| bucket(pid + 1, tick))
                .collect(),
            ..Delta::default()
        };
        let batch = Update::Events {
            events: (0..events)
                .map(|n| Event {
                    seq: tick * events + n,
                    at_ms: tick * 200,
                    kind: EventKind::Exited {
                        pid: Pid(n + 1),
                        reason: ExitReason::Shutdown,
                    },
                })
                .collect(),
            missed: 0,
        };
        for update in [Update::Delta(delta), batch] {
            let copy = flight.is_some().then(|| update.clone());
            state.apply(update);
            if let (Some(flight), Some(copy)) = (flight.as_deref_mut(), copy) {
                flight.took(now, Took::Update(copy), state.snapshot.as_ref());
            }
        }
    }
    let live = LIVE_BYTES.load(Ordering::Relaxed) - before;
    drop(state);
    live
}

fn measure(changed: u64, events: u64) -> (f64, usize) {
    // A test that failed while measuring poisons the lock; the counter is still sound.
    let _measuring = MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let without = run(changed, events, None);
    let mut flight = FlightRecorder::default();
    let with = run(changed, events, Some(&mut flight));
    let held_mib = (with - without) as f64 / (1024.0 * 1024.0);
    println!(
        "10,000 processes, {changed} changed and {events} events a 200 ms tick, 70 s fed: \
         the flight recorder holds {held_mib:.1} MiB ({} items)",
        flight.items()
    );
    (held_mib, flight.items())
}

#[test]
fn a_quiet_node_costs_a_few_process_tables() {
    let (held_mib, _) = measure(10, 0);
    assert!(held_mib < 8.0, "{held_mib:.1} MiB");
}

#[test]
fn a_busy_node_is_held_for_a_minute_within_bounds() {
    let (held_mib, items) = measure(1_000, 20);
    // A minute and one keyframe interval of ticks at most.
    assert!(items <= 70 * 5 * 1_020, "{items} items");
    assert!(held_mib < 256.0, "{held_mib:.1} MiB");
}
