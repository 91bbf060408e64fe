//! One Observer on eight served nodes: eight `otpscope serve --tree assets/trees/wide.toml`
//! OS processes (10,001 processes each), attached over loopback as `otpscope attach` does,
//! and the frame the nodes window costs, as `gui_frame` measures it (the whole UI built with
//! `egui::Context::run_ui` and tessellated; no GPU): one node's Applications tab, and the
//! "All nodes" overview. Before the frames, what being watched costs each node: its CPU time
//! over 5 s with the eight clients attached at the Observer's default interval (200 ms)
//! against 5 s with none, printed.
//!
//! `cargo bench --bench nodes_frame -- --warm-up-time 1 --measurement-time 3`
//!
//! Target (issue 12): at most 8 ms a frame.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use otpscope::gui::nodes::Shown;
use otpscope::gui::{NodesApp, Preferences, Source, Tab};
use otpscope::runtime::remote::{self, ConnectOptions, Cookie};
use otpscope::sources::remote::RemoteSource;

/// How many nodes are served.
const NODES: usize = 8;
/// The processes each serves (the tree file's supervisor and its 10,000 workers).
const PROCESSES: usize = 10_001;
/// The window's size in points.
const SCREEN: egui::Vec2 = egui::vec2(1280.0, 800.0);

/// A served node in its own OS process, killed when dropped.
struct Service {
    child: Child,
    address: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn serve(cookie_file: &std::path::Path) -> Service {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args(["serve", "--tree", "assets/trees/wide.toml", "--listen", "0"])
        .arg("--cookie-file")
        .arg(cookie_file)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split(" on ")
        .last()
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .trim()
        .to_owned();
    Service { child, address }
}

/// The CPU time (user and system) an OS process has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Each node's CPU time over `period`, summed and divided by the nodes.
fn cpu_per_node(services: &[Service], period: Duration) -> Duration {
    let before: Vec<Duration> = services.iter().map(|s| cpu_time(s.child.id())).collect();
    std::thread::sleep(period);
    let used: Duration = services
        .iter()
        .zip(before)
        .map(|(s, before)| cpu_time(s.child.id()) - before)
        .sum();
    used / services.len() as u32
}

fn raw_input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, SCREEN)),
        ..egui::RawInput::default()
    }
}

/// One whole frame, as eframe runs it, then tessellated; returns the primitive count.
fn frame(ctx: &egui::Context, app: &mut NodesApp) -> usize {
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

fn nodes_frame(c: &mut Criterion) {
    let folder = std::env::temp_dir().join(format!("otpscope-nodes-bench-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let cookie_file = folder.join("cookie");
    let services: Vec<Service> = (0..NODES).map(|_| serve(&cookie_file)).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Let the nodes finish starting their trees.
    std::thread::sleep(Duration::from_secs(2));
    let idle = cpu_per_node(&services, Duration::from_secs(5));

    let cookie = Cookie::read(&cookie_file).unwrap();
    let sources: Vec<Box<dyn Source>> = services
        .iter()
        .map(|service| {
            let options = ConnectOptions::new(cookie.clone());
            let connection = runtime
                .block_on(remote::connect(service.address.as_str(), &options))
                .unwrap();
            Box::new(RemoteSource::new(
                connection,
                service.address.clone(),
                options,
                Duration::from_millis(200),
                runtime.handle(),
            )) as Box<dyn Source>
        })
        .collect();
    let mut app = NodesApp::new(
        sources,
        Preferences {
            tab: Tab::Applications,
            ..Preferences::default()
        },
    );
    let ctx = egui::Context::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !app.nodes.iter().all(|node| {
        node.state
            .snapshot
            .as_ref()
            .is_some_and(|snapshot| snapshot.len() == PROCESSES)
    }) {
        assert!(
            Instant::now() < deadline,
            "the nodes' snapshots did not arrive"
        );
        frame(&ctx, &mut app);
        std::thread::sleep(Duration::from_millis(20));
    }
    let watched = cpu_per_node(&services, Duration::from_secs(5));
    println!(
        "nodes_frame: each node's CPU over 5 s: {idle:?} with no client, {watched:?} watched by \
         the Observer at 200 ms ({:.2}% of a core more)",
        (watched.as_secs_f64() - idle.as_secs_f64()) / 5.0 * 100.0
    );

    let mut group = c.benchmark_group("nodes_frame");
    group.sample_size(30);
    app.shown = Shown::Node(0);
    group.bench_function("8x10k_one_node_applications", |b| {
        b.iter(|| frame(&ctx, &mut app))
    });
    app.shown = Shown::All;
    group.bench_function("8x10k_all_nodes", |b| b.iter(|| frame(&ctx, &mut app)));
    group.finish();
    drop(services);
    std::fs::remove_dir_all(&folder).ok();
}

criterion_group!(benches, nodes_frame);
criterion_main!(benches);
