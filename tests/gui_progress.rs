//! A console command's progress in the Observer (issue 15), driven by label through the real
//! app (headless, with egui_kittest):
//! - against a scripted source that answers when the test says, so each step is seen for
//!   certain: "Create 1,000,000 buckets" (the KV app's own button) shows a progress bar with
//!   what the source reported, then its reply with what it did; a command that reports
//!   nothing shows as running once it has run a while; a failure after some progress says
//!   how far it got. The Observer knows none of this is KV: it shows what the source says.
//! - against a real node: "Create 1,000 buckets" reports its chunks, exactly, before the
//!   reply, and the reply comes once every bucket runs.

#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod gui_support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use gui_support::{Recorder, kv_node, kv_source, observer_harness, runtime, shows, wait_for};
use otpscope::contract::{
    AppCommand, ArgValue, Capabilities, Command, CommandError, Progress, Reply, Update,
};
use otpscope::demo::kv::control::{self, CREATED};
use otpscope::demo::kv::{BUCKET_SUPERVISOR, Stage};
use otpscope::gui::{ObserverApp, Preferences, RequestId, Source};
use otpscope::runtime::DynamicSupervisor;

/// How long a test waits for something to show.
const DEADLINE: Duration = Duration::from_secs(20);

// === A scripted source ===

/// What a [`Scripted`] source was sent, and what the test has it say next.
#[derive(Default)]
struct Script {
    /// Every command sent, with its id.
    sent: Vec<(RequestId, Command)>,
    /// Reports to hand the Observer, in order.
    reports: VecDeque<(RequestId, Progress)>,
    /// Replies to hand the Observer, in order.
    replies: VecDeque<(RequestId, Result<Reply, CommandError>)>,
}

/// A source that offers the KV app's commands, carries none out, and says what the test
/// puts in its [`Script`].
struct Scripted {
    capabilities: Capabilities,
    script: Arc<Mutex<Script>>,
    next_id: RequestId,
}

impl Source for Scripted {
    fn title(&self) -> String {
        "scripted".to_owned()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn try_recv(&mut self) -> Option<Update> {
        None
    }

    fn send(&mut self, command: Command) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        self.script.lock().unwrap().sent.push((id, command));
        id
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        self.script.lock().unwrap().replies.pop_front()
    }

    fn try_progress(&mut self) -> Option<(RequestId, Progress)> {
        self.script.lock().unwrap().reports.pop_front()
    }

    fn set_interval(&mut self, _interval: Duration) {}

    fn set_waker(&mut self, _waker: Box<dyn Fn() + Send + Sync>) {}
}

fn scripted() -> (Harness<'static, ObserverApp>, Arc<Mutex<Script>>) {
    let script = Arc::new(Mutex::new(Script::default()));
    let source = Scripted {
        capabilities: Capabilities {
            control: true,
            apps: vec![control::spec()],
            ..Capabilities::default()
        },
        script: script.clone(),
        next_id: 1,
    };
    let app = ObserverApp::new(Box::new(source), Preferences::default());
    let mut harness = observer_harness(app);
    harness.run_steps(2);
    (harness, script)
}

/// The id of the last command sent, once the click has sent one.
fn last_sent(harness: &mut Harness<'static, ObserverApp>, script: &Mutex<Script>) -> RequestId {
    wait_for(harness, "the command to be sent", DEADLINE, |_| {
        !script.lock().unwrap().sent.is_empty()
    });
    script.lock().unwrap().sent.last().unwrap().0
}

fn click(harness: &mut Harness<'static, ObserverApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(2);
}

fn progress_bars(harness: &Harness<'static, ObserverApp>) -> usize {
    harness
        .query_all_by_role(Role::ProgressIndicator)
        .filter(|node| node.accesskit_node().label().is_some())
        .count()
}

fn created(done: u64, total: u64) -> Progress {
    Progress::new(done, total, CREATED)
}

// === Progress from a scripted source ===

#[test]
fn the_million_button_shows_its_progress_then_what_it_did() {
    let (mut harness, script) = scripted();
    click(&mut harness, "Create 1,000,000 buckets");
    let id = last_sent(&mut harness, &script);
    let sent = script.lock().unwrap().sent.last().unwrap().1.clone();
    let Command::App(AppCommand { app, name, args }) = sent else {
        panic!("not an app command: {sent:?}")
    };
    assert_eq!((app.as_str(), name.as_str()), ("kv", "create_buckets"));
    assert_eq!(args.get("count"), Some(&ArgValue::Integer(1_000_000)));

    script
        .lock()
        .unwrap()
        .reports
        .push_back((id, created(412_000, 1_000_000)));
    wait_for(&mut harness, "the progress bar", DEADLINE, |h| {
        shows(h, "412,000 of 1,000,000 buckets created · 41%")
    });
    assert!(shows(&harness, "Create 1,000,000 buckets…"));
    assert_eq!(progress_bars(&harness), 1);
    // The bar says how far, as a screen reader reads it.
    let bar = harness.get_by_role(Role::ProgressIndicator);
    assert_eq!(bar.accesskit_node().numeric_value(), Some(41.0));

    {
        let mut script = script.lock().unwrap();
        script
            .reports
            .push_back((id, created(1_000_000, 1_000_000)));
        script.replies.push_back((id, Ok(Reply::Done)));
    }
    wait_for(&mut harness, "the reply", DEADLINE, |h| {
        shows(
            h,
            "Create 1,000,000 buckets: ok, 1,000,000 buckets created in",
        )
    });
    assert_eq!(progress_bars(&harness), 0, "the bar is gone with the reply");
    // What it did shows where the bar was, whole, as well as with the replies (truncated
    // there) and in a notice.
    let ended = harness.state().consoles["kv"].ended().cloned().unwrap();
    let whole = harness.query_all_by_label(&ended.text).count();
    assert_eq!(whole, 3, "{:?}", gui_support::labels(&harness));
    assert!(ended.is_ok);
    assert!(
        ended
            .text
            .starts_with("Create 1,000,000 buckets: ok, 1,000,000 buckets created in "),
        "{}",
        ended.text
    );
    assert!(!shows(&harness, "Create 1,000,000 buckets…"));
    // A report that comes after the reply changes nothing.
    script
        .lock()
        .unwrap()
        .reports
        .push_back((id, created(5, 1_000_000)));
    harness.run_steps(3);
    assert_eq!(progress_bars(&harness), 0);
}

#[test]
fn a_command_that_reports_nothing_shows_as_running_after_a_while_and_a_failure_says_how_far() {
    let (mut harness, script) = scripted();
    click(&mut harness, "Create 1,000 buckets");
    let quiet = last_sent(&mut harness, &script);
    assert!(
        !shows(&harness, "Create 1,000 buckets…"),
        "a quick command never flickers"
    );
    wait_for(&mut harness, "the running line", DEADLINE, |h| {
        shows(h, "Create 1,000 buckets…") && shows(h, "running")
    });
    assert_eq!(progress_bars(&harness), 0, "no bar without a report");
    script
        .lock()
        .unwrap()
        .replies
        .push_back((quiet, Ok(Reply::Done)));
    wait_for(&mut harness, "its reply", DEADLINE, |h| {
        shows(h, "Create 1,000 buckets: ok") && !shows(h, "Create 1,000 buckets…")
    });

    click(&mut harness, "Create 1,000 buckets");
    let failing = last_sent(&mut harness, &script);
    assert_ne!(failing, quiet);
    script
        .lock()
        .unwrap()
        .reports
        .push_back((failing, created(300, 1_000)));
    wait_for(&mut harness, "its progress", DEADLINE, |h| {
        shows(h, "300 of 1,000 buckets created · 30%")
    });
    script.lock().unwrap().replies.push_back((
        failing,
        Err(CommandError::App("KV.Registry exited".to_owned())),
    ));
    wait_for(&mut harness, "the failure", DEADLINE, |h| {
        shows(
            h,
            "Create 1,000 buckets failed after 300 of 1,000 buckets created: KV.Registry exited",
        )
    });
    assert_eq!(progress_bars(&harness), 0);
}

// === Progress from a real node ===

#[test]
fn creating_buckets_on_a_node_reports_its_chunks_before_the_reply() {
    let runtime = runtime();
    let node = kv_node(&runtime, Stage::Final);
    let (source, record) = Recorder::new(kv_source(&node));
    let app = ObserverApp::new(Box::new(source), Preferences::default());
    let mut harness = observer_harness(app);
    harness.run_steps(2);
    click(&mut harness, "Create 1,000 buckets");
    wait_for(&mut harness, "the reply", DEADLINE, |h| {
        shows(h, "Create 1,000 buckets: ok, 1,000 buckets created in")
    });
    let supervisor = DynamicSupervisor::whereis(&node, BUCKET_SUPERVISOR).unwrap();
    let counts = runtime.block_on(supervisor.count_children()).unwrap();
    assert_eq!(counts.active, 1_000);
    let record = record.lock().unwrap();
    let (id, _) = record.sent.last().unwrap();
    let reports: Vec<&Progress> = record
        .progress
        .iter()
        .filter(|(report, _)| report == id)
        .map(|(_, progress)| progress)
        .collect();
    assert_eq!(reports, [&created(0, 1_000), &created(1_000, 1_000)]);
    assert_eq!(record.reply(*id), Some(&Ok(Reply::Done)));
}
