//! The remote wire's decoder on random and mutated frames: it never panics, and never
//! allocates much past the frame it was given (a length prefix that lies reserves at most
//! serde's cautious 1 MiB, then the bytes run out).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

use otpscope_runtime::observe::model::{
    AppCommand, Command, Delta, Event, EventKind, ExitReason, Pid, ProcessInfo, ProcessKind,
    Snapshot, Update, binary,
};
use otpscope_runtime::remote::{ClientMessage, ServerFrame, ServerMessage};

/// Counts live bytes and their peak, so a test can bound what one decode allocates.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How far above what was live before `decode` the peak went while it ran.
fn extra_peak(decode: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    decode();
    PEAK.load(Ordering::Relaxed).saturating_sub(before)
}

/// The most one decode may allocate beyond its frame: serde's cautious hint (1 MiB) per
/// nested list, for the few levels the messages nest, and the frame's own size twice.
fn budget(frame: &[u8]) -> usize {
    4 * (1 << 20) + 2 * frame.len()
}

fn samples() -> Vec<Vec<u8>> {
    let info = ProcessInfo {
        name: Some("KV.Registry".into()),
        links: [Pid(1), Pid(9)].into_iter().collect(),
        ..ProcessInfo::new(Pid(3), ProcessKind::Server, "KV.Registry")
    };
    let update = Update::Delta(Delta {
        seq: 4,
        from_seq: 3,
        taken_at_unix_ms: 1,
        added: vec![Arc::new(info.clone())],
        changed: vec![Arc::new(info)],
        removed: Vec::new(),
    });
    let events = Update::Events {
        events: vec![Event {
            seq: 1,
            at_ms: 2,
            kind: EventKind::Exited {
                pid: Pid(3),
                reason: ExitReason::custom("boom"),
            },
        }],
        missed: 0,
    };
    // A big snapshot's header and one of its parts, as the node frames them (the variant's
    // index, then the value).
    let snapshot = Snapshot::new(
        "node",
        1,
        2,
        3,
        (1..=3).map(|pid| Arc::new(ProcessInfo::new(Pid(pid), ProcessKind::Plain, "worker"))),
    );
    let mut head = vec![1];
    binary::encode_into(&snapshot.head(1), &mut head).unwrap();
    let mut part = vec![2];
    binary::encode_into(&snapshot.parts(3).next().unwrap(), &mut part).unwrap();
    let mut message = vec![0];
    binary::encode_into(&ServerMessage::Update(update.clone()), &mut message).unwrap();
    vec![
        binary::encode(&ServerMessage::Update(update)).unwrap(),
        binary::encode(&ServerMessage::Update(events)).unwrap(),
        binary::encode(&ClientMessage::Command {
            id: 5,
            command: Command::App(AppCommand::new("kv", "put").arg("bucket", "b")),
        })
        .unwrap(),
        binary::encode(&ClientMessage::Subscribe { interval_ms: 200 }).unwrap(),
        head,
        part,
        message,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_frames_never_panic_nor_allocate_past_the_budget(
        frame in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let peak = extra_peak(|| {
            let _ = binary::decode::<ClientMessage>(&frame);
            let _ = binary::decode::<ServerMessage>(&frame);
            let _ = binary::decode::<ServerFrame>(&frame);
        });
        prop_assert!(peak <= budget(&frame), "{peak} bytes for a frame of {}", frame.len());
    }

    #[test]
    fn mutated_frames_never_panic_nor_allocate_past_the_budget(
        which in 0usize..7,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut frame = samples()[which].clone();
        for (at, byte) in flips {
            let at = at.index(frame.len());
            frame[at] = byte;
        }
        let keep = cut.index(frame.len() + 1);
        for frame in [&frame[..], &frame[..keep]] {
            let peak = extra_peak(|| {
                let _ = binary::decode::<ClientMessage>(frame);
                let _ = binary::decode::<ServerMessage>(frame);
                let _ = binary::decode::<ServerFrame>(frame);
            });
            prop_assert!(peak <= budget(frame), "{peak} bytes for a frame of {}", frame.len());
        }
    }
}

#[test]
fn every_sample_round_trips() {
    let samples = samples();
    for frame in &samples[..4] {
        assert!(
            binary::decode::<ServerMessage>(frame).is_ok()
                || binary::decode::<ClientMessage>(frame).is_ok()
        );
    }
    assert!(matches!(
        binary::decode::<ServerFrame>(&samples[4]),
        Ok(ServerFrame::SnapshotHead(head)) if head.parts == 1 && head.seq == 3
    ));
    assert!(matches!(
        binary::decode::<ServerFrame>(&samples[5]),
        Ok(ServerFrame::SnapshotPart(part)) if part.len() == 3
    ));
    assert!(matches!(
        binary::decode::<ServerFrame>(&samples[6]),
        Ok(ServerFrame::Message(ServerMessage::Update(Update::Delta(
            _
        ))))
    ));
}
