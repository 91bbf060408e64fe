//! What one Observer frame costs at scale: the whole UI (top bar, KV console, details panel,
//! the tab shown) built with `egui::Context::run_ui` and tessellated, on synthetic KV trees of
//! 1,000, 10,000 and 100,000 processes (`KV.Supervisor` over `KV.BucketSupervisor` with N
//! buckets and `KV.Registry` monitoring them all), fed through a tiny in-bench `Source`.
//!
//! `gui_frame`: steady state. The snapshot and the event feed arrive before the measured
//! frames, so every panel's derived data (tree rows and layout, table rows) is built once and
//! reused. `gui_frame_changing`: a delta changing one bucket arrives before every frame (the
//! worst case of a busy node; a real source sends at most one delta per refresh interval), so
//! the tab shown brings its derived data up to date each time (the Processes table, once a
//! rebuild takes over 2 ms, rebuilds at most every 250 ms); `processes_resort_by_name`
//! reverses the sort every frame, and `processes_filter` changes the filter every frame, a
//! full rebuild of the table's rows each time; `processes_resample_rates` is the message
//! rates taken (once a second) and the Processes panel's refresh alone, and
//! `load_sample` the state's once-a-second load sample (the System tab's charts). No GPU: tessellation is the last CPU step
//! before painting. Each Observer built prints what it holds once it took the tree in, and
//! how much of that is the snapshot (bytes allocated and not freed, counted by the
//! allocator).
//!
//! `tree_build`: what the Applications tab's tree costs to build alone
//! ([`otpscope::gui::panels::applications::data::build`], a pure function of the snapshot
//! and the view), on the 100,000-process tree with one bucket revealed out of its fold:
//! `first` with nothing remembered (a new snapshot whose bucket list changed), `rebuild` with
//! the fold summaries remembered from the last build (the view or the search changed, the
//! list did not), and `search` for the last bucket by pid.
//!
//! `cargo bench --bench gui_frame -- --warm-up-time 1 --measurement-time 3`
//!
//! Targets: at most 8 ms a frame at 100,000 processes on the Applications and Processes tabs;
//! at 1,000,000 (issue 15), at most 8 ms a frame on every tab, and no frame over 50 ms when
//! the Processes table is sorted or filtered.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

mod counting;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use otpscope::gui::panels::applications::data::{self as tree_data, FoldMemo, TreeInput, TreeView};
use otpscope::gui::panels::processes::SortColumn;
use otpscope::gui::state::{LOAD_CAPACITY, LoadSample};
use otpscope::gui::{ObserverApp, Preferences, RequestId, Source, Tab};
use otpscope::snapshot::model::{
    Command, CommandError, Delta, Event, EventKind, Pid, PidList, ProcessInfo, ProcessKind, Reply,
    Restart, Shutdown, Snapshot, Strategy, Update,
};

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// The tree sizes measured.
const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// The sizes of the cases that change something before every frame.
const CHANGING_SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
/// The window's size in points.
const SCREEN: egui::Vec2 = egui::vec2(1280.0, 800.0);

/// A source that hands over the updates queued (by the setup or the benchmark loop) and
/// answers nothing.
struct BenchSource {
    updates: Rc<RefCell<VecDeque<Update>>>,
    next_id: RequestId,
    /// What the in-process KV app offers, so the console is drawn as in the real app.
    capabilities: otpscope::contract::Capabilities,
}

impl Source for BenchSource {
    fn title(&self) -> String {
        "KV app (synthetic) on node bench".to_owned()
    }

    fn try_recv(&mut self) -> Option<Update> {
        self.updates.borrow_mut().pop_front()
    }

    fn send(&mut self, _command: Command) -> RequestId {
        self.next_id += 1;
        self.next_id
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        None
    }

    fn set_interval(&mut self, _interval: Duration) {}

    fn set_waker(&mut self, _waker: Box<dyn Fn() + Send + Sync>) {}

    fn capabilities(&self) -> &otpscope::contract::Capabilities {
        &self.capabilities
    }

    fn memory_bytes(&self) -> Option<u64> {
        Some(256 * 1024 * 1024)
    }
}

fn process(pid: u64, name: Option<&str>, label: &str, kind: ProcessKind) -> ProcessInfo {
    ProcessInfo {
        name: name.map(Into::into),
        ..ProcessInfo::new(Pid(pid), kind, label)
    }
}

/// The KV app with `total` processes: the three of the app and `total - 3` buckets.
fn kv_snapshot(total: usize) -> Snapshot {
    let buckets: PidList = (4..=total as u64).map(Pid).collect();
    let mut supervisor = process(
        1,
        Some("KV.Supervisor"),
        "KV.Supervisor",
        ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 5,
        },
    );
    supervisor.children = [Pid(2), Pid(3)].into_iter().collect();
    supervisor.links = [Pid(2), Pid(3)].into_iter().collect();
    supervisor.trap_exit = true;

    let mut bucket_supervisor = process(
        2,
        Some("KV.BucketSupervisor"),
        "KV.BucketSupervisor",
        ProcessKind::DynamicSupervisor {
            max_restarts: 3,
            max_seconds: 5,
            max_children: None,
        },
    );
    bucket_supervisor.parent = Some(Pid(1));
    bucket_supervisor.child_id = Some("KV.BucketSupervisor".into());
    bucket_supervisor.restart = Some(Restart::Permanent);
    bucket_supervisor.shutdown = Some(Shutdown::Infinity);
    bucket_supervisor.children = buckets.clone();
    bucket_supervisor.links = std::iter::once(Pid(1))
        .chain(buckets.iter().copied())
        .collect();
    bucket_supervisor.trap_exit = true;
    bucket_supervisor.messages_handled = buckets.len() as u64;

    let mut registry = process(3, Some("KV.Registry"), "KV.Registry", ProcessKind::Server);
    registry.parent = Some(Pid(1));
    registry.child_id = Some("KV.Registry".into());
    registry.restart = Some(Restart::Permanent);
    registry.shutdown = Some(Shutdown::TimeoutMs(5000));
    registry.links = [Pid(1)].into_iter().collect();
    registry.monitors = buckets.clone();
    registry.messages_handled = 2 * buckets.len() as u64;

    let mut infos = vec![
        Arc::new(supervisor),
        Arc::new(bucket_supervisor),
        Arc::new(registry),
    ];
    // The runtime shares one label and one child id among a spec's children.
    let bucket_label: Arc<str> = "KV.Bucket".into();
    for pid in &buckets {
        let mut bucket = process(pid.0, None, "", ProcessKind::Agent);
        bucket.label = bucket_label.clone();
        bucket.parent = Some(Pid(2));
        bucket.child_id = Some(bucket_label.clone());
        bucket.restart = Some(Restart::Temporary);
        bucket.shutdown = Some(Shutdown::TimeoutMs(5000));
        bucket.links = [Pid(2)].into_iter().collect();
        bucket.monitored_by = [Pid(3)].into_iter().collect();
        bucket.messages_handled = pid.0 % 7;
        bucket.started_at_ms = pid.0 / 10;
        infos.push(Arc::new(bucket));
    }
    Snapshot::new("bench", 1_795_000_000_000, 1_795_000_060_000, 1, infos)
}

/// What the node's feed said while the buckets started: each bucket spawned and linked.
fn kv_events(total: usize) -> Update {
    let mut events = Vec::new();
    for pid in 4..=total as u64 {
        let seq = events.len() as u64;
        events.push(Event {
            seq,
            at_ms: pid / 10,
            kind: EventKind::Spawned {
                pid: Pid(pid),
                parent: Some(Pid(2)),
                label: "KV.Bucket".into(),
            },
        });
        events.push(Event {
            seq: seq + 1,
            at_ms: pid / 10,
            kind: EventKind::Linked {
                a: Pid(2),
                b: Pid(pid),
            },
        });
    }
    Update::Events { events, missed: 0 }
}

fn raw_input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, SCREEN)),
        ..egui::RawInput::default()
    }
}

/// One whole frame, as eframe runs it, then tessellated; returns the primitive count.
fn frame(ctx: &egui::Context, app: &mut ObserverApp) -> usize {
    let output = ctx.run_ui(raw_input(), |ui| app.frame_ui(ui));
    let egui::FullOutput {
        shapes,
        pixels_per_point,
        mut textures_delta,
        ..
    } = output;
    textures_delta.clear();
    ctx.tessellate(shapes, pixels_per_point).len()
}

/// An Observer that has taken in a KV tree of `total` processes, showing `tab`; and the
/// queue its source reads from.
fn observer(total: usize, tab: Tab) -> (egui::Context, ObserverApp, Rc<RefCell<VecDeque<Update>>>) {
    let live_before = counting::live_bytes();
    let snapshot = kv_snapshot(total);
    let snapshot_bytes = counting::live_bytes() - live_before;
    let updates = Rc::new(RefCell::new(VecDeque::from([
        Update::Full(snapshot),
        kv_events(total),
    ])));
    let node = otpscope::runtime::Node::new("bench");
    let source = BenchSource {
        updates: updates.clone(),
        next_id: 0,
        capabilities: otpscope::demo::kv::control::for_node(&node).capabilities(),
    };
    let prefs = Preferences {
        tab,
        ..Preferences::default()
    };
    let mut app = ObserverApp::new(Box::new(source), prefs);
    // Ten minutes of load history, as after a long session (the System tab plots the last
    // two).
    for second in 0..LOAD_CAPACITY {
        let wave = (second as f64 / 30.0).sin();
        app.state.load.push_back(LoadSample {
            t_s: second as f64 - LOAD_CAPACITY as f64,
            supervisors: 2,
            workers: total - 2,
            plain: 0,
            messages_per_s: 5_000.0 + 4_000.0 * wave,
            restarts_per_s: if second % 97 == 0 { 2.0 } else { 0.0 },
            mailbox_total: (200.0 + 150.0 * wave) as u64,
            memory_bytes: Some((300.0 + 20.0 * wave) as u64 * 1024 * 1024),
        });
    }
    let ctx = egui::Context::default();
    // Take the updates in and let every cache and the font atlas settle.
    for _ in 0..10 {
        black_box(frame(&ctx, &mut app));
    }
    let mib = |bytes: isize| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "observer of {total} processes on the {} tab holds {:.1} MiB (its snapshot {:.1} MiB)",
        tab.title(),
        mib(counting::live_bytes() - live_before),
        mib(snapshot_bytes),
    );
    (ctx, app, updates)
}

/// What an Observer holds once the marks of the tree's arrival (every bucket spawned) have
/// faded: printed for 100,000 and 1,000,000 processes, on the Processes tab (its rates).
fn observer_at_rest_memory() {
    for total in [100_000, 1_000_000] {
        let live_before = counting::live_bytes();
        let (ctx, mut app, _updates) = observer(total, Tab::Processes);
        std::thread::sleep(Duration::from_millis(2_600));
        black_box(frame(&ctx, &mut app));
        println!(
            "observer of {total} processes at rest (marks faded) holds {:.1} MiB",
            (counting::live_bytes() - live_before) as f64 / (1024.0 * 1024.0)
        );
    }
}

/// Times `work` on an Observer of `total` processes, each time after a delta changing one
/// bucket and a second later than the last: what a once-a-second step costs a frame while
/// the node changes. Gives the Observer, for the caller's checks.
fn each_second_after_a_delta(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    total: usize,
    mut work: impl FnMut(&mut ObserverApp, std::time::Instant),
) -> ObserverApp {
    let (_ctx, mut app, _updates) = observer(total, Tab::Processes);
    let mut seq = app.state.snapshot.as_ref().map_or(0, |s| s.seq);
    let mut now = std::time::Instant::now();
    let mut bucket = 4;
    group.bench_function(BenchmarkId::new(name, total), |b| {
        b.iter(|| {
            let delta = one_bucket_changed(&app, seq, Pid(bucket));
            app.state.apply(delta);
            seq += 1;
            bucket = 4 + (bucket + 1) % (total as u64 - 4);
            now += Duration::from_secs(1);
            work(&mut app, now);
        });
    });
    app
}

/// A delta after `seq` in which bucket `pid` handled one more message.
fn one_bucket_changed(app: &ObserverApp, seq: u64, pid: Pid) -> Update {
    let snapshot = app.state.snapshot.as_ref().expect("a snapshot");
    let mut info = snapshot.process(pid).expect("the bucket").clone();
    info.messages_handled += 1;
    Update::Delta(Delta {
        seq: seq + 1,
        from_seq: seq,
        taken_at_unix_ms: snapshot.taken_at_unix_ms + 1,
        changed: vec![Arc::new(info)],
        ..Delta::default()
    })
}

fn gui_frame(c: &mut Criterion) {
    observer_at_rest_memory();
    let mut group = c.benchmark_group("gui_frame");
    for tab in [Tab::Applications, Tab::Processes, Tab::System, Tab::Events] {
        for total in SIZES {
            let (ctx, mut app, _updates) = observer(total, tab);
            assert_eq!(
                app.state.snapshot.as_ref().map(|s| s.len()),
                Some(total),
                "the snapshot arrived"
            );
            let name = tab.title().to_lowercase();
            group.bench_function(BenchmarkId::new(name, total), |b| {
                b.iter(|| black_box(frame(&ctx, &mut app)));
            });
        }
    }
    group.finish();
}

fn gui_frame_changing(c: &mut Criterion) {
    let mut group = c.benchmark_group("gui_frame_changing");
    let cases = [
        ("applications", Tab::Applications, None),
        ("processes_by_pid", Tab::Processes, None),
        ("processes_by_name", Tab::Processes, Some(SortColumn::Name)),
    ];
    for total in CHANGING_SIZES {
        let (ctx, mut app, _updates) = observer(total, Tab::Processes);
        app.processes.sort_by(SortColumn::Name);
        group.bench_function(BenchmarkId::new("processes_resort_by_name", total), |b| {
            b.iter(|| {
                app.processes.sort_by(SortColumn::Name);
                black_box(frame(&ctx, &mut app))
            });
        });
        // Typing a filter: each frame a new filter, so a full rebuild of the rows (every
        // bucket matches the first, KV.Supervisor alone the second).
        let filters = ["bucket", "kv.s"];
        let mut typed = 0;
        group.bench_function(BenchmarkId::new("processes_filter", total), |b| {
            b.iter(|| {
                typed += 1;
                app.processes.filter = filters[typed % 2].to_owned();
                black_box(frame(&ctx, &mut app))
            });
        });
        app.processes.filter = "kv.s".to_owned();
        black_box(frame(&ctx, &mut app));
        let shown = app
            .state
            .snapshot
            .as_deref()
            .map(|snapshot| app.processes.shown_pids(snapshot).count());
        assert_eq!(shown, Some(1), "the filter was applied");
    }
    // What the message rates' resample (once a second, while the node changes) adds to a
    // frame of the Processes tab: the rates taken and the panel's refresh.
    for total in CHANGING_SIZES {
        each_second_after_a_delta(&mut group, "processes_resample_rates", total, |app, now| {
            app.state.sample_rates(now);
            app.processes.refresh(&app.state, now);
        });
    }
    // What the System tab's load sample (once a second, whatever the tab) adds to a frame
    // while the node changes.
    for total in CHANGING_SIZES {
        let app = each_second_after_a_delta(&mut group, "load_sample", total, |app, now| {
            app.state.sample_load(now, None);
        });
        let last = app.state.load.back().expect("a sample");
        assert_eq!(last.supervisors + last.workers + last.plain, total);
    }
    for (name, tab, sort) in cases {
        for total in CHANGING_SIZES {
            let (ctx, mut app, updates) = observer(total, tab);
            if let Some(column) = sort {
                app.processes.sort_by(column);
                black_box(frame(&ctx, &mut app));
            }
            let mut seq = app.state.snapshot.as_ref().map_or(0, |s| s.seq);
            let mut bucket = 4;
            group.bench_function(BenchmarkId::new(name, total), |b| {
                b.iter(|| {
                    let delta = one_bucket_changed(&app, seq, Pid(bucket));
                    updates.borrow_mut().push_back(delta);
                    seq += 1;
                    bucket = 4 + (bucket + 1) % (total as u64 - 4);
                    black_box(frame(&ctx, &mut app))
                });
            });
            assert_eq!(
                app.state.snapshot.as_ref().map(|s| s.seq),
                Some(seq),
                "every delta applied"
            );
        }
    }
    group.finish();
}

fn tree_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("tree_build");
    for total in [100_000, 1_000_000] {
        tree_build_of(&mut group, total);
    }
    group.finish();
}

fn tree_build_of(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    total: usize,
) {
    let snapshot = kv_snapshot(total);
    let mut view = TreeView::default();
    assert!(view.reveal(&snapshot, Pid(70_000)));
    let input = |search| TreeInput {
        snapshot: &snapshot,
        view: &view,
        fold_at: 50,
        search,
        ghosts: &[],
    };
    let rows = tree_data::build(input(""), &mut FoldMemo::default())
        .rows
        .len();
    // The app's three, 50 buckets, a fold, the revealed bucket, a fold.
    assert_eq!(rows, 2 + 50 + 1 + 1 + 1 + 1);
    group.bench_function(BenchmarkId::new("first", total), |b| {
        b.iter_batched_ref(
            FoldMemo::default,
            |memo| black_box(tree_data::build(input(""), memo)),
            BatchSize::SmallInput,
        );
    });
    let mut memo = FoldMemo::default();
    tree_data::build(input(""), &mut memo);
    group.bench_function(BenchmarkId::new("rebuild", total), |b| {
        b.iter(|| black_box(tree_data::build(input(""), &mut memo)));
    });
    let last = total as u64 - 1;
    let search = format!("<0.{last}.0>");
    group.bench_function(BenchmarkId::new("search", total), |b| {
        b.iter(|| {
            let data = tree_data::build(input(&search), &mut memo);
            assert_eq!(data.matches, [Pid(last)]);
            black_box(data)
        });
    });
}

criterion_group!(benches, gui_frame, gui_frame_changing, tree_build);
criterion_main!(benches);
