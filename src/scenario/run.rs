//! Runs a parsed fault script against a node: each command, then the events it caused.
//!
//! The runner is an observer like any other: it subscribes to the node's snapshot stream and
//! prints the events that arrive after each command (who exited with which reason, who was
//! restarted with which new pid). After a command it waits until the node's event feed has
//! been quiet for [`QUIET`], so the events a command caused are printed with it. KV commands
//! go through the app's control ([`KvControl`]); `create` waits until the registry knows the
//! bucket, since the chapter's create is a cast. The supervisor calls (`terminate_child`,
//! `restart_child`, `delete_child`, `stop`) and `restart_app` go through the same
//! [`Control`] as the Observer's menus, so a script and a click do the same thing.
//!
//! The runner remembers every exit it saw (`expect exited`, `expect exit_order`): a target
//! names the latest process that had that registered name (or label), or that pid.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::Duration;

use serde_json::json;
// Every wait reads tokio's clock, so a run on paused time (a test's) waits on that clock only.
use tokio::time::Instant;

use crate::contract::format;
use crate::demo::AppHandle;
use crate::demo::kv::control::KvControl;
use crate::runtime::{ExitReason, Node};
use crate::snapshot::model::{
    self, ChildRef, Command as ControlCommand, Event, EventKind, Pid, Reply, Snapshot, Update,
};
use crate::snapshot::{AlreadyObserved, Control, Subscription, full_snapshot, observe};

use super::parse::{Command, Expectation, Line, Target};
use super::tree_text;

/// How long the event feed must be quiet before a command's events are taken as complete.
pub const QUIET: Duration = Duration::from_millis(20);
/// How long `settle` waits for quiet.
pub const SETTLE_QUIET: Duration = Duration::from_millis(100);
/// The longest any wait lasts.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// How the output is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// What a run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Commands run.
    pub commands: usize,
    /// Expectations that held.
    pub passed: usize,
    /// Expectations that failed and commands that failed.
    pub failed: usize,
}

/// Runs a script on `node`; `kv` is the KV app's control when the node runs it.
pub struct Runner<'a, W: Write> {
    node: Node,
    kv: Option<KvControl>,
    /// The app, when the runner may start it again (`restart_app`).
    app: Option<AppHandle>,
    /// Carries out the supervisor calls and `restart_app`, as for the Observer.
    control: Control,
    /// Every exit seen: (event seq, pid, reason), in order.
    exits: Vec<(u64, Pid, model::ExitReason)>,
    format: Format,
    out: &'a mut W,
    subscription: Subscription,
    /// The stream's view, to name processes in the output.
    view: Option<Snapshot>,
    /// Names of every process seen, dead ones included.
    names: HashMap<Pid, String>,
    /// Events received but not yet printed.
    pending: Vec<Event>,
    /// The sequence number of the next event to receive.
    next_seq: u64,
}

impl<'a, W: Write> Runner<'a, W> {
    /// A runner on `node`, writing to `out`. Subscribes to the node at once.
    /// Fails only if a collector built directly already holds the node's change marks.
    pub fn new(
        node: &Node,
        kv: Option<KvControl>,
        format: Format,
        out: &'a mut W,
    ) -> Result<Self, AlreadyObserved> {
        // What happened before the subscription is in its first full snapshot, not in the
        // events it sends: count those as received.
        let next_seq = node.introspect().next_event_seq();
        Ok(Self {
            node: node.clone(),
            kv,
            app: None,
            control: Control::new(node),
            exits: Vec::new(),
            format,
            out,
            subscription: observe(node, Duration::from_millis(5))?,
            view: None,
            names: HashMap::new(),
            pending: Vec::new(),
            next_seq,
        })
    }

    /// A runner on the node `app` runs on: the KV commands when it is the KV app, and
    /// `restart_app`.
    pub fn for_app(
        app: &AppHandle,
        format: Format,
        out: &'a mut W,
    ) -> Result<Self, AlreadyObserved> {
        let mut runner = Self::new(app.node(), app.kv().cloned(), format, out)?;
        runner.control = app.control();
        runner.app = Some(app.clone());
        Ok(runner)
    }

    /// Runs every line, then prints the final tree.
    pub async fn run(&mut self, lines: &[Line]) -> io::Result<Summary> {
        let mut summary = Summary::default();
        self.catch_up(self.node.introspect().next_event_seq()).await;
        self.pending.clear();
        for line in lines {
            summary.commands += 1;
            let outcome = self.execute(&line.command).await;
            let events = self
                .events_caused(matches!(line.command, Command::Settle))
                .await;
            let ok = outcome.is_ok();
            if matches!(line.command, Command::Expect(_)) && ok {
                summary.passed += 1;
            }
            if !ok {
                summary.failed += 1;
            }
            self.report(line, &outcome, &events)?;
        }
        self.final_tree()?;
        Ok(summary)
    }

    async fn execute(&mut self, command: &Command) -> Result<Option<String>, String> {
        match command {
            Command::Create(name) => {
                self.kv()?.create(name).await.map_err(|e| e.to_string())?;
                Ok(None)
            }
            Command::Put(name, key, value) => {
                let bucket = self.kv()?.bucket(name).await.map_err(|e| e.to_string())?;
                bucket
                    .put(key.clone(), value.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(None)
            }
            Command::Get(name, key) => {
                let bucket = self.kv()?.bucket(name).await.map_err(|e| e.to_string())?;
                let value = bucket.get(key).await.map_err(|e| e.to_string())?;
                Ok(Some(value_text(value.as_deref())))
            }
            Command::Delete(name, key) => {
                let bucket = self.kv()?.bucket(name).await.map_err(|e| e.to_string())?;
                let value = bucket.delete(key).await.map_err(|e| e.to_string())?;
                Ok(Some(value_text(value.as_deref())))
            }
            Command::Kill(target, reason) => {
                let pid = self
                    .resolve(target)
                    .await
                    .ok_or_else(|| format!("no process {target}"))?;
                let serial = pid.serial();
                self.node
                    .exit(self.node.pid(serial), ExitReason::parse(reason))
                    .map_err(|e| e.to_string())?;
                Ok(Some(format!("sent {} to {pid}", ExitReason::parse(reason))))
            }
            Command::TerminateChild(supervisor, child) => {
                let (supervisor, is_dynamic) = self.supervisor(supervisor).await?;
                let child = if let Ok(pid) = child.parse::<Pid>() {
                    ChildRef::Pid(pid)
                } else if is_dynamic {
                    let target = Target::parse(child);
                    let pid = self
                        .resolve(&target)
                        .await
                        .ok_or_else(|| format!("no process {target}"))?;
                    ChildRef::Pid(pid)
                } else {
                    ChildRef::Id(child.clone())
                };
                self.command(ControlCommand::TerminateChild { supervisor, child })
                    .await?;
                Ok(None)
            }
            Command::RestartChild(supervisor, id) => {
                let (supervisor, _) = self.supervisor(supervisor).await?;
                let id = id.clone();
                match self
                    .command(ControlCommand::RestartChild { supervisor, id })
                    .await?
                {
                    Reply::Started { pid: Some(pid) } => Ok(Some(format!("started as {pid}"))),
                    _ => Ok(Some("ignored: no process started".to_owned())),
                }
            }
            Command::DeleteChild(supervisor, id) => {
                let (supervisor, _) = self.supervisor(supervisor).await?;
                let id = id.clone();
                self.command(ControlCommand::DeleteChild { supervisor, id })
                    .await?;
                Ok(None)
            }
            Command::Stop(supervisor, reason) => {
                let (supervisor, _) = self.supervisor(supervisor).await?;
                let reason = model::ExitReason::parse(reason);
                self.command(ControlCommand::StopSupervisor {
                    supervisor,
                    reason: reason.clone(),
                })
                .await?;
                Ok(Some(format!("stopped {supervisor} with {reason}")))
            }
            Command::RestartApp => {
                if self.app.is_none() {
                    return Err("this run cannot start the app again".to_owned());
                }
                match self.command(ControlCommand::RestartApp).await? {
                    Reply::Started { pid: Some(pid) } => {
                        Ok(Some(format!("started the app again: root {pid}")))
                    }
                    _ => Ok(None),
                }
            }
            Command::Sleep(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(None)
            }
            Command::Settle => Ok(None),
            Command::Dump => Ok(Some(tree_text::render(
                &full_snapshot(&self.node),
                tree_text::DEFAULT_FOLD_AT,
            ))),
            Command::Expect(expectation) => self.check(expectation).await.map(Some),
        }
    }

    /// Carries out a command through the control, its error as text.
    async fn command(&self, command: ControlCommand) -> Result<Reply, String> {
        self.control
            .execute(command)
            .await
            .map_err(|error| error.to_string())
    }

    /// The pid of the supervisor `target` names, and whether it is a dynamic supervisor.
    async fn supervisor(&self, target: &Target) -> Result<(Pid, bool), String> {
        let pid = self
            .resolve(target)
            .await
            .ok_or_else(|| format!("no process {target}"))?;
        let is_dynamic = self
            .node
            .process_info(self.node.pid(pid.serial()))
            .is_some_and(|info| {
                matches!(
                    info.kind,
                    crate::runtime::ProcessKind::DynamicSupervisor { .. }
                )
            });
        Ok((pid, is_dynamic))
    }

    /// The children `target` supervises, running or not.
    async fn children(&self, target: &Target) -> Result<Vec<model::ChildRow>, String> {
        let (supervisor, _) = self.supervisor(target).await?;
        match self
            .command(ControlCommand::WhichChildren { supervisor })
            .await?
        {
            Reply::Children { children, .. } => Ok(children),
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    /// The latest exit of the process `target` names: (seq, pid, reason).
    async fn last_exit(&self, target: &Target) -> Option<(u64, Pid, model::ExitReason)> {
        let pid = match target {
            Target::Pid(serial) => Some(Pid(*serial)),
            Target::Name(_) => None,
            Target::Path(_) | Target::Bucket(_) => self.resolve(target).await,
        };
        let had_name = |exited: &Pid| match target {
            Target::Name(name) => self.names.get(exited).is_some_and(|known| known == name),
            _ => false,
        };
        self.exits
            .iter()
            .rev()
            .find(|(_, exited, _)| Some(*exited) == pid || had_name(exited))
            .cloned()
    }

    fn kv(&self) -> Result<&KvControl, String> {
        self.kv
            .as_ref()
            .ok_or_else(|| "this tree runs no KV app".to_owned())
    }

    /// Checks an expectation: `Ok(what was found)` or `Err(expected ..., found ...)`.
    async fn check(&mut self, expectation: &Expectation) -> Result<String, String> {
        let found = |ok: bool, expected: String, found: String| {
            if ok {
                Ok(found)
            } else {
                Err(format!("expected {expected}, found {found}"))
            }
        };
        match expectation {
            Expectation::Alive(target) => {
                let pid = self.resolve(target).await;
                let alive = pid.is_some_and(|pid| self.is_alive(pid));
                found(alive, format!("{target} alive"), self.state_of(target, pid))
            }
            Expectation::Dead(target) => {
                let pid = self.resolve(target).await;
                let alive = pid.is_some_and(|pid| self.is_alive(pid));
                found(!alive, format!("{target} dead"), self.state_of(target, pid))
            }
            Expectation::Restarted(target, n) => {
                let pid = self.resolve(target).await.ok_or_else(|| {
                    format!("expected {target} restarted {n} times, found no process")
                })?;
                let restarts = self
                    .node
                    .process_info(self.node.pid(pid.serial()))
                    .map(|info| info.restarts);
                let restarts = restarts.ok_or_else(|| {
                    format!("expected {target} restarted {n} times, found {pid} dead")
                })?;
                found(
                    restarts == *n,
                    format!("{target} restarted {n} times"),
                    format!("{restarts} restarts ({pid})"),
                )
            }
            Expectation::Count(target, n) => {
                let pid = self.resolve(target).await.ok_or_else(|| {
                    format!("expected {n} children of {target}, found no process")
                })?;
                let count = self
                    .node
                    .process_info(self.node.pid(pid.serial()))
                    .map(|info| info.children.len());
                let count = count.ok_or_else(|| {
                    format!("expected {n} children of {target}, found {pid} dead")
                })?;
                found(
                    count == *n,
                    format!("{n} children under {target}"),
                    format!("{count}"),
                )
            }
            Expectation::Specs(target, n) => {
                let children = self.children(target).await?;
                let ids: Vec<&str> = children.iter().map(|child| child.id.as_str()).collect();
                found(
                    children.len() == *n,
                    format!("{n} child specs under {target}"),
                    format!("{} ({})", children.len(), ids.join(", ")),
                )
            }
            Expectation::Exited(target, reason) => {
                let expected = model::ExitReason::parse(reason);
                let exit = self.last_exit(target).await;
                let text = exit.as_ref().map_or_else(
                    || "no exit".to_owned(),
                    |(_, pid, reason)| format!("{pid} exited: {reason}"),
                );
                found(
                    exit.as_ref()
                        .is_some_and(|(_, _, reason)| *reason == expected),
                    format!("{target} exited: {expected}"),
                    text,
                )
            }
            Expectation::ExitOrder(targets) => {
                let mut exits = Vec::new();
                for target in targets {
                    let exit = self.last_exit(target).await;
                    let Some((seq, pid, reason)) = exit else {
                        return Err(format!("expected {target} to have exited, found no exit"));
                    };
                    exits.push((seq, format!("{target} ({pid}: {reason})")));
                }
                let in_order = exits.windows(2).all(|pair| pair[0].0 < pair[1].0);
                let expected: Vec<String> = targets.iter().map(ToString::to_string).collect();
                exits.sort_by_key(|(seq, _)| *seq);
                let actual: Vec<&str> = exits.iter().map(|(_, text)| text.as_str()).collect();
                found(
                    in_order,
                    format!("exits in the order {}", expected.join(", ")),
                    actual.join(", "),
                )
            }
            Expectation::Lookup(name, some) => {
                let kv = self.kv()?;
                let bucket = kv.bucket(name).await.ok();
                let text = bucket
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |b| format!("some {}", b.pid()));
                found(
                    bucket.is_some() == *some,
                    format!("lookup {name} {}", if *some { "some" } else { "none" }),
                    text,
                )
            }
            Expectation::Get(name, key, value) => {
                let expected = value_text(value.as_deref());
                let bucket = self
                    .kv()?
                    .bucket(name)
                    .await
                    .map_err(|e| format!("expected {name}[{key}] = {expected}, found {e}"))?;
                let got = bucket.get(key).await.map_err(|e| e.to_string())?;
                found(
                    got == *value,
                    format!("{name}[{key}] = {expected}"),
                    value_text(got.as_deref()),
                )
            }
        }
    }

    fn is_alive(&self, pid: Pid) -> bool {
        self.node.is_alive(self.node.pid(pid.serial()))
    }

    fn state_of(&self, target: &Target, pid: Option<Pid>) -> String {
        match pid {
            Some(pid) if self.is_alive(pid) => format!("{target} alive as {pid}"),
            Some(pid) => format!("{target} dead ({pid})"),
            None => format!("no process for {target}"),
        }
    }

    /// The pid a target points at now (alive or not), if any.
    async fn resolve(&self, target: &Target) -> Option<Pid> {
        match target {
            Target::Pid(serial) => Some(Pid(*serial)),
            Target::Name(name) => self.node.whereis(name).map(|pid| Pid(pid.serial())),
            Target::Bucket(name) => {
                let bucket = self.kv.as_ref()?.bucket(name).await.ok()?;
                Some(Pid(bucket.pid().serial()))
            }
            Target::Path(path) => {
                let snapshot = full_snapshot(&self.node);
                let (first, rest) = path.split_first()?;
                let root = snapshot.roots().find(|info| {
                    info.name.as_deref() == Some(first.as_str()) || *info.label == **first
                });
                let named = || {
                    self.node
                        .whereis(first)
                        .and_then(|pid| snapshot.process(Pid(pid.serial())))
                };
                let mut current = root.or_else(named)?;
                for id in rest {
                    current = snapshot
                        .children_of(current.pid)
                        .find(|child| child.child_id.as_deref() == Some(id.as_str()))?;
                }
                Some(current.pid)
            }
        }
    }

    /// Waits until the feed is quiet, then collects the events received since the last call.
    async fn events_caused(&mut self, settle: bool) -> Vec<Event> {
        let quiet = if settle { SETTLE_QUIET } else { QUIET };
        let started = Instant::now();
        let mut seq = self.node.introspect().next_event_seq();
        let mut quiet_since = Instant::now();
        while started.elapsed() < MAX_WAIT {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let now = self.node.introspect().next_event_seq();
            if now != seq {
                seq = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= quiet {
                break;
            }
        }
        self.catch_up(seq).await;
        std::mem::take(&mut self.pending)
    }

    /// Drains the subscription until every event before `seq` has arrived.
    async fn catch_up(&mut self, seq: u64) {
        let deadline = Instant::now() + MAX_WAIT;
        while self.next_seq < seq || self.view.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.subscription.recv()).await {
                Ok(Some(update)) => self.take(update),
                Ok(None) | Err(_) => break,
            }
        }
        while let Some(update) = self.subscription.try_recv() {
            self.take(update);
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
                for event in events {
                    if let EventKind::Exited { pid, reason } = &event.kind {
                        self.exits.push((event.seq, *pid, reason.clone()));
                    }
                    if let EventKind::Spawned { pid, label, .. } = &event.kind {
                        self.names.entry(*pid).or_insert_with(|| label.to_string());
                    }
                    self.next_seq = self.next_seq.max(event.seq + 1);
                    self.pending.push(event);
                }
            }
        }
    }

    /// The events worth a line in text output (not links; not the spawn of a restarted
    /// child, which its restart line names), as the contract's sentences.
    fn describe_event(&self, kind: &EventKind, restarted: &[Pid]) -> Option<String> {
        let shown = match kind {
            EventKind::Spawned { pid, .. } => !restarted.contains(pid),
            EventKind::Linked { .. } | EventKind::Unlinked { .. } => false,
            EventKind::Exited { .. }
            | EventKind::Restarted { .. }
            | EventKind::SupervisorGaveUp { .. }
            | EventKind::Command { .. } => true,
        };
        shown.then(|| format::event(kind, |pid| self.names.get(&pid).cloned()))
    }

    fn report(
        &mut self,
        line: &Line,
        outcome: &Result<Option<String>, String>,
        events: &[Event],
    ) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let (ok, detail) = match outcome {
                    Ok(detail) => (true, detail.clone()),
                    Err(error) => (false, Some(error.clone())),
                };
                let object = json!({
                    "line": line.number,
                    "command": line.text,
                    "ok": ok,
                    "detail": detail,
                    "events": events,
                });
                writeln!(self.out, "{object}")
            }
            Format::Text => {
                writeln!(self.out, "> {}", line.text)?;
                match outcome {
                    Ok(Some(detail)) => {
                        for text in detail.lines() {
                            writeln!(self.out, "  {text}")?;
                        }
                    }
                    Ok(None) => {}
                    Err(error) => writeln!(self.out, "  FAILED (line {}): {error}", line.number)?,
                }
                let restarted: Vec<Pid> = events
                    .iter()
                    .filter_map(|event| match event.kind {
                        EventKind::Restarted { new, .. } => Some(new),
                        _ => None,
                    })
                    .collect();
                for event in events {
                    if let Some(text) = self.describe_event(&event.kind, &restarted) {
                        writeln!(self.out, "  * {text}")?;
                    }
                }
                Ok(())
            }
        }
    }

    fn final_tree(&mut self) -> io::Result<()> {
        let snapshot = full_snapshot(&self.node);
        match self.format {
            Format::Json => writeln!(self.out, "{}", json!({ "final": snapshot })),
            Format::Text => {
                writeln!(self.out, "== final tree")?;
                write!(
                    self.out,
                    "{}",
                    tree_text::render(&snapshot, tree_text::DEFAULT_FOLD_AT)
                )
            }
        }
    }
}

/// A value as Elixir prints it: `"3"`, or `nil` for a missing key.
fn value_text(value: Option<&str>) -> String {
    value.map_or_else(|| "nil".to_owned(), |value| format!("{value:?}"))
}
