//! Recordings of a 100,000-process node (issue 14): how big ten quiet minutes are, how big a
//! minute of 1,000 restarts a second is, how long reading a file takes, and how long a seek
//! to any moment takes (the keyframe before it, cloned, with the deltas after it applied:
//! what `otpscope replay` does on each seek), and how long working out the load over the
//! whole recording takes (once, when a replay opens: the System tab's charts after a seek).
//!
//! `cargo bench -p otpscope-contract --features recording --bench recording`
//!
//! Targets: a seek anywhere in ten minutes ≤ 50 ms; ten quiet minutes < 20 MB.
//!
//! The workloads are built directly in the contract's terms, as a source gives them:
//! - **quiet**: 100,000 idle buckets under one supervisor; each second a delta in which ten
//!   of them have a message in their mailbox (a node at rest still changes a little);
//! - **active**: the same node where 1,000 buckets a second are restarted (each a removed pid,
//!   an added one, and their exited and restarted events).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use otpscope_contract::recording::{self, Header, Recording, Sink};
use otpscope_contract::{
    Capabilities, Delta, Event, EventKind, ExitReason, Pid, ProcessInfo, ProcessKind, Removed,
    Restart, Snapshot, Update,
};

const PROCESSES: u64 = 100_000;

fn bucket(pid: u64) -> ProcessInfo {
    let mut info = ProcessInfo::new(Pid(pid), ProcessKind::Agent, "KV.Bucket");
    info.parent = Some(Pid(1));
    info.links = [Pid(1)].into_iter().collect();
    info.restart = Some(Restart::Temporary);
    info
}

fn node() -> Snapshot {
    let supervisor = ProcessInfo::new(
        Pid(1),
        ProcessKind::DynamicSupervisor {
            max_restarts: 3,
            max_seconds: 5,
            max_children: None,
        },
        "KV.BucketSupervisor",
    );
    let processes = std::iter::once(Arc::new(supervisor))
        .chain((2..=PROCESSES).map(|pid| Arc::new(bucket(pid))));
    Snapshot::new("bench", 0, 0, 1, processes)
}

fn header() -> Header {
    Header {
        title: "bench".to_owned(),
        started_at_unix_ms: 0,
        capabilities: Capabilities::read_only(),
        // As the recorders in this repository put keyframes down.
        keyframe_every_ms: recording::KEYFRAME_EVERY.as_millis() as u64,
    }
}

/// Ten minutes of a quiet node, recorded: the file's bytes.
fn quiet(seconds: u64) -> Vec<u8> {
    let mut model = node();
    let mut sink = Sink::new(Vec::new(), &header()).unwrap();
    sink.update(0, Update::Full(model.clone())).unwrap();
    for second in 1..=seconds {
        let changed: Vec<Arc<ProcessInfo>> = (0..10)
            .map(|i| {
                let pid = 2 + (second * 7_919 + i * 104_729) % (PROCESSES - 1);
                let mut info = model.process(Pid(pid)).unwrap().clone();
                info.mailbox_len = (info.mailbox_len + 1) % 3;
                Arc::new(info)
            })
            .collect();
        let delta = Delta {
            seq: model.seq + 1,
            from_seq: model.seq,
            taken_at_unix_ms: second * 1_000,
            changed,
            ..Delta::default()
        };
        model.apply(&delta).unwrap();
        sink.update(second * 1_000, Update::Delta(delta)).unwrap();
    }
    sink.finish().unwrap()
}

/// A minute of 1,000 restarts a second, recorded: the file's bytes.
fn active(seconds: u64) -> Vec<u8> {
    let mut model = node();
    let mut sink = Sink::new(Vec::new(), &header()).unwrap();
    sink.update(0, Update::Full(model.clone())).unwrap();
    let mut next_pid = PROCESSES + 1;
    let mut event_seq = 0;
    for second in 1..=seconds {
        // The oldest 1,000 buckets (the supervisor's children list is not kept here).
        let victims: Vec<Pid> = model
            .processes()
            .filter(|info| info.pid != Pid(1))
            .take(1_000)
            .map(|info| info.pid)
            .collect();
        assert_eq!(victims.len(), 1_000);
        let mut delta = Delta {
            seq: model.seq + 1,
            from_seq: model.seq,
            taken_at_unix_ms: second * 1_000,
            ..Delta::default()
        };
        let mut events = Vec::new();
        for old in victims {
            let new = Pid(next_pid);
            next_pid += 1;
            delta.removed.push(Removed {
                pid: old,
                reason: ExitReason::Killed,
            });
            delta.added.push(Arc::new(bucket(new.0)));
            for kind in [
                EventKind::Exited {
                    pid: old,
                    reason: ExitReason::Killed,
                },
                EventKind::Restarted {
                    supervisor: Pid(1),
                    child_id: "bucket".into(),
                    old,
                    new,
                },
            ] {
                event_seq += 1;
                events.push(Event {
                    seq: event_seq,
                    at_ms: second * 1_000,
                    kind,
                });
            }
        }
        model.apply(&delta).unwrap();
        sink.update(second * 1_000, Update::Delta(delta)).unwrap();
        sink.update(second * 1_000, Update::Events { events, missed: 0 })
            .unwrap();
    }
    sink.finish().unwrap()
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn benches(c: &mut Criterion) {
    let started = Instant::now();
    let quiet_file = quiet(600);
    println!(
        "quiet: 10 minutes of 100,000 processes: {:.2} MiB ({} bytes), recorded in {:?}",
        mib(quiet_file.len()),
        quiet_file.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let active_file = active(60);
    println!(
        "active: 1 minute of 1,000 restarts a second: {:.2} MiB a minute, recorded in {:?}",
        mib(active_file.len()),
        started.elapsed()
    );
    let keyframes = |file: &[u8]| {
        recording::read(file)
            .unwrap()
            .recording
            .frames
            .iter()
            .filter(|frame| matches!(frame, recording::Frame::Keyframe { .. }))
            .count()
    };
    println!(
        "keyframes: quiet {}, active {}",
        keyframes(&quiet_file),
        keyframes(&active_file)
    );
    let mut group = c.benchmark_group("recording");
    group.sample_size(10);
    group.bench_function("read_quiet_10min", |b| {
        b.iter(|| black_box(recording::read(&quiet_file).unwrap()));
    });
    let recording: Recording = recording::read(&quiet_file).unwrap().recording;
    assert!(!recording.frames.is_empty());
    // Seeks spread over the ten minutes, the worst place included (just before a
    // keyframe: the most deltas to apply).
    let mut at = 0u64;
    group.bench_function("seek_quiet_10min", |b| {
        b.iter(|| {
            at = (at + 61_237) % 600_000;
            black_box(recording.snapshot_at(at).unwrap())
        });
    });
    let active: Recording = recording::read(&active_file).unwrap().recording;
    let mut at = 0u64;
    group.bench_function("seek_active_1min", |b| {
        b.iter(|| {
            at = (at + 6_131) % 60_000;
            black_box(active.snapshot_at(at).unwrap())
        });
    });
    // Worked out once when a replay opens (`Recording::load_history`), so that a seek
    // rebuilds the System tab's charts with look-ups, not a recount.
    group.bench_function("load_history_quiet_10min", |b| {
        b.iter(|| black_box(recording.load_history()));
    });
    group.bench_function("load_history_active_1min", |b| {
        b.iter(|| black_box(active.load_history()));
    });
    group.finish();
}

criterion_group!(recording_benches, benches);
criterion_main!(recording_benches);
