//! Seeded chaos: kill processes of a tree at random, reproducibly, and report what followed.
//!
//! A [`Chaos`] run drives a node through a [`Session`] (as a script does): at times drawn from
//! the seed, it waits for the node to settle, lists the live processes that match the target
//! pattern by their tree path ([`path`](crate::scenario::path)), picks one and a reason with
//! the seed's generator, and sends the exit signal. It prints each kill (time, path, pid,
//! reason) with the events that followed it (exits, restarts, supervisors giving up), and a
//! summary at the end.
//!
//! Two things a reader must know:
//! - **What is reproducible.** The generator is ChaCha8 seeded with the seed; its draws depend
//!   on nothing but the seed and the number of candidates at each kill. The node settles (no
//!   event for [`SETTLE_QUIET`]) before each pick, so on the same tree after the same setup
//!   script the candidates are the same at each kill and the same seed gives the same kills,
//!   named by path. Pids and times may differ between runs; paths and reasons do not. A tree
//!   whose workers crash on their own timers is not settled by waiting, so there the kills
//!   after the first timed crash may differ.
//! - **What is a target.** A pattern (`*` any run of characters, `?` one) matched against a
//!   process's path and against its name or label. Without one, every process below a root is
//!   a candidate (never the root itself: killing it ends the run at once).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tokio::time::Instant;

use crate::contract::format;
use crate::record::CommandLog;
use crate::scenario::path;
use crate::scenario::session::Session;
use crate::snapshot::model::{Command, Event, EventKind, ExitReason, Pid, Snapshot, Update};

/// How long the event feed must be quiet before the node counts as settled.
pub const SETTLE_QUIET: Duration = Duration::from_millis(50);
/// The longest a settle waits.
pub const MAX_SETTLE: Duration = Duration::from_secs(5);

/// What a chaos run does.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosOptions {
    /// Seeds the generator: the same seed gives the same kills.
    pub seed: u64,
    /// How long kills go on.
    pub duration: Duration,
    /// Kills a second, on average (each gap is drawn between half and one and a half times
    /// the mean).
    pub rate_per_second: f64,
    /// Which processes may be killed (a glob on the path, the name or the label); `None`:
    /// every process below a root.
    pub target: Option<String>,
    /// The reasons drawn from, each as likely.
    pub reasons: Vec<ExitReason>,
}

impl ChaosOptions {
    /// `seed` with the defaults: 10 s, one kill a second, any process below a root, `kill`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            duration: Duration::from_secs(10),
            rate_per_second: 1.0,
            target: None,
            reasons: vec![ExitReason::Kill],
        }
    }

    /// Fails on a rate that is not a positive number or an empty reason list.
    pub fn check(&self) -> Result<(), ChaosError> {
        if !(self.rate_per_second.is_finite() && self.rate_per_second > 0.0) {
            return Err(ChaosError::Rate(self.rate_per_second));
        }
        if self.reasons.is_empty() {
            return Err(ChaosError::NoReasons);
        }
        Ok(())
    }
}

/// Reads `--reasons`: a comma-separated list of exit reasons (`kill,shutdown,boom`).
pub fn parse_reasons(text: &str) -> Result<Vec<ExitReason>, ChaosError> {
    let reasons: Vec<ExitReason> = text
        .split(',')
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(ExitReason::parse)
        .collect();
    if reasons.is_empty() {
        return Err(ChaosError::NoReasons);
    }
    Ok(reasons)
}

/// A chaos run that cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// The rate is not a positive number.
    #[error("the rate must be a positive number of kills a second, found {0}")]
    Rate(f64),
    /// No reason to draw from.
    #[error("no exit reason given: expected a list such as `kill,shutdown,boom`")]
    NoReasons,
    /// No snapshot of the node arrived.
    #[error("no snapshot of the node arrived within {} s", MAX_SETTLE.as_secs())]
    NoSnapshot,
    /// Writing the report failed.
    #[error("cannot write the report")]
    Io(#[from] io::Error),
}

/// One kill and what followed it, until the next kill.
#[derive(Clone, Debug, PartialEq)]
pub struct Kill {
    /// When the seed scheduled it, in milliseconds since the run started (it is sent once
    /// the node has settled after that).
    pub scheduled_ms: u64,
    /// When it was sent, in milliseconds since the run started.
    pub at_ms: u64,
    /// Where the process sat in the tree.
    pub path: String,
    /// The process killed.
    pub pid: Pid,
    /// The exit reason sent.
    pub reason: ExitReason,
    /// Why the signal could not be sent, if it could not.
    pub error: Option<String>,
    /// The events that followed, until the next kill.
    pub events: Vec<Event>,
}

/// What a run did and how the tree came out of it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosReport {
    /// The seed.
    pub seed: u64,
    /// Every kill, in order.
    pub kills: Vec<Kill>,
    /// Why the run stopped before its end, if it did (nothing left to kill).
    pub ended_early: Option<String>,
    /// The roots alive when the run started that have exited since, with why.
    pub roots_lost: Vec<(String, Pid, ExitReason)>,
    /// Live processes at the end.
    pub processes_at_end: usize,
}

impl ChaosReport {
    /// Each kill as (path, reason): what the seed decides.
    pub fn plan(&self) -> Vec<(String, ExitReason)> {
        self.kills
            .iter()
            .map(|kill| (kill.path.clone(), kill.reason.clone()))
            .collect()
    }

    /// Whether every root alive at the start is alive at the end: the tree healed.
    pub fn is_survived(&self) -> bool {
        self.roots_lost.is_empty()
    }

    /// Events of one kind name that followed the kills.
    fn count(&self, name: &str) -> usize {
        self.kills
            .iter()
            .flat_map(|kill| &kill.events)
            .filter(|event| event.kind.name() == name)
            .count()
    }

    /// The kills as a fault script for `otpscope run`, waiting as the chaos run did: until
    /// the kill's scheduled time (`sleep`, counted from the previous kill), then until the
    /// node settles; so restart windows see the same pace.
    pub fn script(&self) -> String {
        let mut text = String::new();
        let mut previous_ms = 0;
        for kill in &self.kills {
            let wait_ms = kill.scheduled_ms.saturating_sub(previous_ms);
            if wait_ms > 0 {
                text.push_str(&format!("sleep {wait_ms}\n"));
            }
            text.push_str(&format!(
                "settle\nkill {} {}\n",
                script_word(&kill.path),
                script_word(&kill.reason.to_string())
            ));
            previous_ms = kill.at_ms;
        }
        text.push_str("settle\n");
        text
    }
}

/// A word as a script reads it back: quoted when it holds a space, a quote or a `#`.
fn script_word(word: &str) -> String {
    if word
        .chars()
        .any(|c| c.is_whitespace() || c == '#' || c == '"')
    {
        format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        word.to_owned()
    }
}

/// What a run tells a listener as it goes ([`Chaos::on_news`]): the Observer's chaos panel
/// lists kills from these.
#[derive(Clone, Debug, PartialEq)]
pub enum ChaosNews {
    /// A kill was sent (nothing has followed yet); `index` counts kills from 0.
    Killed {
        /// Which kill.
        index: usize,
        /// The kill.
        kill: Kill,
    },
    /// What followed kill `index`, once the node settled: the exits, restarts and
    /// supervisors giving up, each as a sentence.
    Followed {
        /// Which kill.
        index: usize,
        /// The kill, with its events.
        kill: Kill,
        /// What followed, as the text report says it.
        followed: Vec<String>,
    },
    /// The run is over.
    Ended {
        /// The summary, as the text report's last lines.
        summary: Vec<String>,
        /// Whether every root alive at the start is alive at the end.
        survived: bool,
    },
}

/// Where a run's news goes.
type Listener = Box<dyn FnMut(ChaosNews) + Send>;

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaosFormat {
    /// Lines for people.
    Text,
    /// One JSON object a kill, then the summary.
    Json,
}

/// A chaos run on one node.
pub struct Chaos<'a, W: Write> {
    /// The node's stream and commands.
    session: Session,
    /// What to do.
    options: ChaosOptions,
    /// Draws gaps, targets and reasons; seeded.
    rng: ChaCha8Rng,
    /// The node as the stream shows it.
    view: Option<Snapshot>,
    /// Every process seen, dead ones included, by name or label.
    names: HashMap<Pid, String>,
    /// Events received and not yet given to a kill.
    pending: Vec<Event>,
    /// Where the report goes.
    out: &'a mut W,
    /// How it is written.
    format: ChaosFormat,
    /// Told of each kill and what followed, if someone listens.
    listener: Option<Listener>,
    /// Where the kills and their replies are recorded (`chaos --record`), if they are.
    record: Option<CommandLog>,
}

impl<'a, W: Write> Chaos<'a, W> {
    /// A run on the node `session` drives.
    pub fn new(
        session: Session,
        options: ChaosOptions,
        format: ChaosFormat,
        out: &'a mut W,
    ) -> Result<Self, ChaosError> {
        options.check()?;
        Ok(Self {
            session,
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            options,
            view: None,
            names: HashMap::new(),
            pending: Vec::new(),
            out,
            format,
            listener: None,
            record: None,
        })
    }

    /// Records each kill sent, and its reply, in a recording (`chaos --record`).
    pub fn record_commands(mut self, log: CommandLog) -> Self {
        self.record = Some(log);
        self
    }

    /// Tells `listener` of each kill as it is sent, of what followed it, and of the end.
    pub fn on_news(mut self, listener: impl FnMut(ChaosNews) + Send + 'static) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    fn tell(&mut self, news: ChaosNews) {
        if let Some(listener) = self.listener.as_mut() {
            listener(news);
        }
    }

    /// Runs the kills, writing each as it happens, then the summary.
    pub async fn run(mut self) -> Result<ChaosReport, ChaosError> {
        self.settle().await;
        self.pending.clear();
        let Some(view) = self.view.as_ref() else {
            return Err(ChaosError::NoSnapshot);
        };
        let roots: Vec<(Pid, String)> = view
            .roots()
            .map(|root| (root.pid, path::step(root).to_owned()))
            .collect();
        self.header()?;
        let started = Instant::now();
        let mean_gap_ms = 1000.0 / self.options.rate_per_second;
        let duration_ms = self.options.duration.as_secs_f64() * 1000.0;
        let mut next_ms = 0.0;
        let mut kills: Vec<Kill> = Vec::new();
        let mut ended_early = None;
        loop {
            next_ms += mean_gap_ms * self.rng.random_range(0.5..1.5);
            if next_ms > duration_ms {
                break;
            }
            let at = started + Duration::from_secs_f64(next_ms / 1000.0);
            self.follow_until(at).await;
            self.settle().await;
            let last_index = kills.len().saturating_sub(1);
            if let Some(previous) = kills.last_mut() {
                previous.events.append(&mut self.pending);
                self.write_kill(previous)?;
                self.tell_followed(last_index, previous);
            }
            let candidates = self.candidates();
            if candidates.is_empty() {
                ended_early = Some(match &self.options.target {
                    Some(target) => format!("no live process matches `{target}`"),
                    None => "no live process is left below a root".to_owned(),
                });
                break;
            }
            let (pid, path) = candidates[self.rng.random_range(0..candidates.len())].clone();
            let reasons = &self.options.reasons;
            let reason = reasons[self.rng.random_range(0..reasons.len())].clone();
            let command = Command::Exit {
                pid,
                reason: reason.clone(),
            };
            let recorded = self.record.as_ref().map(|log| log.command(&command));
            let result = self.session.execute(command).await;
            if let (Some(log), Some(id)) = (&self.record, recorded) {
                log.reply(id, &result);
            }
            let error = result.err().map(|error| error.to_string());
            let kill = Kill {
                scheduled_ms: next_ms as u64,
                at_ms: started.elapsed().as_millis() as u64,
                path,
                pid,
                reason,
                error,
                events: Vec::new(),
            };
            self.tell(ChaosNews::Killed {
                index: kills.len(),
                kill: kill.clone(),
            });
            kills.push(kill);
        }
        if ended_early.is_none() {
            let end = started + self.options.duration;
            self.follow_until(end).await;
            self.settle().await;
            let last_index = kills.len().saturating_sub(1);
            if let Some(last) = kills.last_mut() {
                last.events.append(&mut self.pending);
                self.write_kill(last)?;
                self.tell_followed(last_index, last);
            }
        }
        let view = self.view.as_ref();
        let roots_lost = roots
            .into_iter()
            .filter(|(pid, _)| view.is_none_or(|view| !view.contains(*pid)))
            .map(|(pid, name)| {
                let reason = kills
                    .iter()
                    .flat_map(|kill| &kill.events)
                    .find_map(|event| match &event.kind {
                        EventKind::Exited {
                            pid: exited,
                            reason,
                        } if *exited == pid => Some(reason.clone()),
                        _ => None,
                    })
                    .unwrap_or(ExitReason::NoProc);
                (name, pid, reason)
            })
            .collect();
        let report = ChaosReport {
            seed: self.options.seed,
            kills,
            ended_early,
            roots_lost,
            processes_at_end: view.map_or(0, Snapshot::len),
        };
        self.summary(&report)?;
        let summary = summary_lines(&report);
        self.tell(ChaosNews::Ended {
            summary,
            survived: report.is_survived(),
        });
        Ok(report)
    }

    fn tell_followed(&mut self, index: usize, kill: &Kill) {
        if self.listener.is_some() {
            let followed = self.followed(kill);
            self.tell(ChaosNews::Followed {
                index,
                kill: kill.clone(),
                followed,
            });
        }
    }

    /// What followed `kill` worth a line: exits, restarts, supervisors giving up.
    fn followed(&self, kill: &Kill) -> Vec<String> {
        kill.events
            .iter()
            .filter(|event| {
                matches!(
                    event.kind,
                    EventKind::Exited { .. }
                        | EventKind::Restarted { .. }
                        | EventKind::SupervisorGaveUp { .. }
                )
            })
            .map(|event| format::event(&event.kind, |pid| self.names.get(&pid).cloned()))
            .collect()
    }

    /// The live processes a kill may pick, by path, sorted by path (the generator's draw
    /// indexes this list, so its order is part of what a seed means).
    fn candidates(&self) -> Vec<(Pid, String)> {
        let Some(view) = self.view.as_ref() else {
            return Vec::new();
        };
        let mut candidates: Vec<(Pid, String)> = path::paths(view)
            .into_iter()
            .filter(|(pid, path)| {
                let Some(info) = view.process(*pid) else {
                    return false;
                };
                match &self.options.target {
                    None => !view.is_root(*pid),
                    Some(pattern) => {
                        path::glob_matches(pattern, path)
                            || path::glob_matches(pattern, info.display_name())
                    }
                }
            })
            .collect();
        candidates.sort_by(|a, b| a.1.cmp(&b.1));
        candidates
    }

    /// Takes updates until `at`.
    async fn follow_until(&mut self, at: Instant) {
        while let Ok(Some(update)) = tokio::time::timeout_at(at, self.session.recv()).await {
            self.take(update);
        }
    }

    /// Takes updates until no event has arrived for [`SETTLE_QUIET`] (and a snapshot is in),
    /// for at most [`MAX_SETTLE`].
    async fn settle(&mut self) {
        let deadline = Instant::now() + MAX_SETTLE;
        let mut quiet_until = Instant::now() + SETTLE_QUIET;
        loop {
            let until = if self.view.is_none() {
                deadline
            } else {
                quiet_until.min(deadline)
            };
            match tokio::time::timeout_at(until, self.session.recv()).await {
                Ok(Some(update)) => {
                    if matches!(&update, Update::Events { events, .. } if !events.is_empty()) {
                        quiet_until = Instant::now() + SETTLE_QUIET;
                    }
                    self.take(update);
                }
                Ok(None) | Err(_) => break,
            }
        }
    }

    fn take(&mut self, update: Update) {
        match update {
            Update::Full(snapshot) => {
                for info in snapshot.processes() {
                    self.names.insert(info.pid, info.display_name().to_owned());
                }
                self.view = Some(snapshot);
            }
            Update::Delta(delta) => {
                for info in delta.added.iter().chain(&delta.changed) {
                    self.names.insert(info.pid, info.display_name().to_owned());
                }
                if let Some(view) = self.view.as_mut() {
                    view.apply(&delta).ok();
                }
            }
            Update::Events { events, .. } => {
                for event in &events {
                    if let EventKind::Spawned { pid, label, .. } = &event.kind {
                        self.names.entry(*pid).or_insert_with(|| label.to_string());
                    }
                }
                self.pending.extend(events);
            }
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if self.format == ChaosFormat::Json {
            return Ok(());
        }
        let options = &self.options;
        let reasons: Vec<String> = options.reasons.iter().map(ToString::to_string).collect();
        writeln!(
            self.out,
            "== chaos: seed {}, {} kills a second for {}, targets {}, reasons {}",
            options.seed,
            format::rate(options.rate_per_second),
            format::duration_ms(options.duration.as_millis() as u64),
            options
                .target
                .as_deref()
                .map_or_else(|| "below the roots".to_owned(), |t| format!("`{t}`")),
            reasons.join(", ")
        )
    }

    /// Writes a kill and what followed it.
    fn write_kill(&mut self, kill: &Kill) -> io::Result<()> {
        match self.format {
            ChaosFormat::Json => {
                let object = json!({
                    "at_ms": kill.at_ms,
                    "path": kill.path,
                    "pid": kill.pid,
                    "reason": kill.reason,
                    "error": kill.error,
                    "events": kill.events,
                });
                writeln!(self.out, "{object}")
            }
            ChaosFormat::Text => {
                writeln!(
                    self.out,
                    "[{:>7.3} s] kill {} ({}) with {}",
                    kill.at_ms as f64 / 1000.0,
                    kill.path,
                    kill.pid,
                    kill.reason
                )?;
                if let Some(error) = &kill.error {
                    writeln!(self.out, "  FAILED: {error}")?;
                }
                if kill.error.is_none() && kill.events.is_empty() {
                    writeln!(self.out, "  (nothing followed)")?;
                }
                for text in self.followed(kill) {
                    writeln!(self.out, "  * {text}")?;
                }
                Ok(())
            }
        }
    }

    fn summary(&mut self, report: &ChaosReport) -> io::Result<()> {
        let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
        for kill in &report.kills {
            *by_reason.entry(kill.reason.to_string()).or_default() += 1;
        }
        let (exits, restarts, gave_up) = (
            report.count("exited"),
            report.count("restarted"),
            report.count("supervisor_gave_up"),
        );
        match self.format {
            ChaosFormat::Json => {
                let roots_lost: Vec<_> = report
                    .roots_lost
                    .iter()
                    .map(|(name, pid, reason)| json!({"root": name, "pid": pid, "reason": reason}))
                    .collect();
                let object = json!({ "summary": {
                    "seed": report.seed,
                    "kills": report.kills.len(),
                    "by_reason": by_reason,
                    "exits": exits,
                    "restarts": restarts,
                    "supervisors_gave_up": gave_up,
                    "ended_early": report.ended_early,
                    "roots_lost": roots_lost,
                    "survived": report.is_survived(),
                    "processes_at_end": report.processes_at_end,
                }});
                writeln!(self.out, "{object}")
            }
            ChaosFormat::Text => {
                for line in summary_lines(report) {
                    writeln!(self.out, "{line}")?;
                }
                Ok(())
            }
        }
    }
}

/// The summary as the text report ends: why it stopped early, the kills by reason and what
/// followed, whether the tree survived.
fn summary_lines(report: &ChaosReport) -> Vec<String> {
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for kill in &report.kills {
        *by_reason.entry(kill.reason.to_string()).or_default() += 1;
    }
    let (exits, restarts, gave_up) = (
        report.count("exited"),
        report.count("restarted"),
        report.count("supervisor_gave_up"),
    );
    let mut lines = Vec::new();
    if let Some(why) = &report.ended_early {
        lines.push(format!("== stopped early: {why}"));
    }
    let reasons: Vec<String> = by_reason
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect();
    lines.push(format!(
        "== seed {}: {} kills ({}); then {exits} exits, {restarts} restarts, {gave_up} {} gave up",
        report.seed,
        report.kills.len(),
        if reasons.is_empty() {
            "none".to_owned()
        } else {
            reasons.join(", ")
        },
        if gave_up == 1 {
            "supervisor"
        } else {
            "supervisors"
        },
    ));
    if report.is_survived() {
        lines.push(format!(
            "== the tree survived: {} processes alive",
            report.processes_at_end
        ));
    } else {
        for (name, pid, reason) in &report.roots_lost {
            lines.push(format!(
                "== the tree did not survive: {name} {pid} exited: {reason}"
            ));
        }
    }
    lines
}
