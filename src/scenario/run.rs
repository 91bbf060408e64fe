//! Runs a parsed fault script against a node: each command, then the events it caused.
//!
//! The runner is an observer like any other: it subscribes to the node's snapshot stream,
//! keeps a view of the node from it, and prints the events that arrive after each command
//! (who exited with which reason, who was restarted with which new pid). After a command it
//! waits until no event has arrived for [`QUIET`], so the events a command caused are printed
//! with it. Everything goes through a [`Session`]: the commands are the contract's (an exit
//! signal, OTP's supervisor calls, `restart_app`, the KV app's `create_bucket`, `lookup`,
//! `put`, `get`, `delete`), carried out by the same control as the Observer's menus, and
//! every question (is it alive, how many restarts, which pid has this name) is answered from
//! the view. So a script does the same on a node in this process and on one served by
//! another (`otpscope run --attach`). The KV app's create waits until the registry knows
//! the bucket, since the chapter's create is a cast.
//!
//! The runner remembers every exit it saw (`expect exited`, `expect exit_order`): a target
//! names the latest process that had that registered name (or label), or that pid.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::Duration;

use serde_json::json;
// Every wait reads tokio's clock, so a run on paused time (a test's) waits on that clock only.
use tokio::time::Instant;

use crate::contract::{Capabilities, format};
use crate::demo::AppHandle;
use crate::demo::kv::control::{self as kv, KvControl};
use crate::record::CommandLog;
use crate::runtime::Node;
use crate::runtime::remote::{Connection, RemoteError};
use crate::snapshot::model::{
    self, ChildRef, Command as ControlCommand, Event, EventKind, Pid, ProcessKind, Reply, Snapshot,
    Update,
};
use crate::snapshot::{AlreadyObserved, Control};

use super::parse::{Command, Expectation, Line, Target};
use super::session::Session;
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

/// Runs a script on a node, in this OS process or served by another.
pub struct Runner<'a, W: Write> {
    /// The node's stream and commands.
    session: Session,
    /// What the node offers (whether it runs the KV app, whether it can restart the app).
    capabilities: Capabilities,
    /// Every exit seen: (event seq, pid, reason), in order.
    exits: Vec<(u64, Pid, model::ExitReason)>,
    format: Format,
    out: &'a mut W,
    /// The stream's view of the node.
    view: Option<Snapshot>,
    /// Names of every process seen, dead ones included.
    names: HashMap<Pid, String>,
    /// Events received but not yet printed.
    pending: Vec<Event>,
    /// How the node's feed names this run's own commands, if it does.
    own_commands: Option<String>,
    /// Where the commands and their replies are recorded (`run --record`), if they are.
    record: Option<CommandLog>,
}

impl<'a, W: Write> Runner<'a, W> {
    /// A runner on `node`, writing to `out`, with the KV commands when `kv` is given.
    /// Subscribes to the node at once. Fails only if a collector built directly already
    /// holds the node's change marks.
    pub fn new(
        node: &Node,
        kv: Option<KvControl>,
        format: Format,
        out: &'a mut W,
    ) -> Result<Self, AlreadyObserved> {
        let control = match kv {
            Some(kv) => Control::new(node).with_app(std::sync::Arc::new(kv)),
            None => Control::new(node),
        };
        Self::with_control(control, format, out)
    }

    /// A runner on the node `app` runs on: the KV commands when it is the KV app, and
    /// `restart_app`.
    pub fn for_app(
        app: &AppHandle,
        format: Format,
        out: &'a mut W,
    ) -> Result<Self, AlreadyObserved> {
        Self::with_control(app.control(), format, out)
    }

    /// A runner that carries out commands with `control`, on the node it acts on.
    pub fn with_control(
        control: Control,
        format: Format,
        out: &'a mut W,
    ) -> Result<Self, AlreadyObserved> {
        Ok(Self::on(Session::local(control)?, format, out))
    }

    /// A runner on the node `connection` reached (`otpscope run --attach`).
    pub async fn attached(
        connection: Connection,
        format: Format,
        out: &'a mut W,
    ) -> Result<Self, RemoteError> {
        Ok(Self::on(Session::remote(connection).await?, format, out))
    }

    /// A runner on a BEAM node `client` watches (`run --beam NODE`), writing to `out`.
    pub fn beam(client: crate::beam::BeamClient, format: Format, out: &'a mut W) -> Self {
        Self::on(Session::Beam(Box::new(client)), format, out)
    }

    fn on(session: Session, format: Format, out: &'a mut W) -> Self {
        Self {
            capabilities: session.capabilities(),
            own_commands: session.own_commands(),
            session,
            exits: Vec::new(),
            format,
            out,
            view: None,
            names: HashMap::new(),
            pending: Vec::new(),
            record: None,
        }
    }

    /// Records every command this runner sends, and its reply, in `log`.
    pub fn record_commands(mut self, log: CommandLog) -> Self {
        self.record = Some(log);
        self
    }

    /// Runs every line, then prints the final tree. A node lost on the way fails every line
    /// left, with the reason.
    pub async fn run(&mut self, lines: &[Line]) -> io::Result<Summary> {
        let mut summary = Summary::default();
        self.catch_up().await;
        for line in lines {
            summary.commands += 1;
            let ok = self.run_line(line).await?.is_ok();
            if matches!(line.command, Command::Expect(_)) && ok {
                summary.passed += 1;
            }
            if !ok {
                summary.failed += 1;
            }
        }
        self.final_tree()?;
        Ok(summary)
    }

    /// Takes what the node's stream has sent so far (the first full snapshot at least), so
    /// that what happened before the lines run is not reported as their doing.
    pub async fn catch_up(&mut self) {
        self.events_caused(false).await;
    }

    /// Runs one line: its command, then the events it caused, reported as [`Runner::run`]
    /// reports each line. Gives what the line found (`Ok`, with what to say about it, if
    /// anything) or why it failed (an expectation: `expected ..., found ...`).
    pub async fn run_line(&mut self, line: &Line) -> io::Result<Result<Option<String>, String>> {
        let outcome = self.execute(&line.command).await;
        let events = self
            .events_caused(matches!(line.command, Command::Settle))
            .await;
        self.report(line, &outcome, &events)?;
        Ok(outcome)
    }

    /// Waits until the node's feed has news (at least one event), then takes updates until
    /// it is quiet again, and gives the events. `None` once the stream has ended (the node
    /// or the connection is gone). What a live check waits on between two checks.
    pub async fn next_events(&mut self) -> Option<Vec<Event>> {
        loop {
            let update = self.session.recv().await?;
            let news = matches!(&update, Update::Events { events, .. } if !events.is_empty());
            self.take(update);
            if news {
                break;
            }
        }
        Some(self.events_caused(false).await)
    }

    async fn execute(&mut self, command: &Command) -> Result<Option<String>, String> {
        if let Some(error) = self.session.failure() {
            return Err(format!("the node is gone: {error}"));
        }
        match command {
            Command::Create(name) => {
                self.kv()?;
                self.command(kv::create_bucket(name)).await?;
                Ok(None)
            }
            Command::Put(name, key, value) => {
                self.kv()?;
                self.command(kv::put(name, key, value)).await?;
                Ok(None)
            }
            Command::Get(name, key) => {
                self.kv()?;
                let value = value_of(self.command(kv::get(name, key)).await?)?;
                Ok(Some(value_text(value.as_deref())))
            }
            Command::Delete(name, key) => {
                self.kv()?;
                let value = value_of(self.command(kv::delete(name, key)).await?)?;
                Ok(Some(value_text(value.as_deref())))
            }
            Command::Kill(target, reason) => {
                let pid = self
                    .resolve(target)
                    .await
                    .ok_or_else(|| format!("no process {target}"))?;
                let reason = model::ExitReason::parse(reason);
                self.command(ControlCommand::Exit {
                    pid,
                    reason: reason.clone(),
                })
                .await?;
                Ok(Some(format!("sent {reason} to {pid}")))
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
                if !self.capabilities.restart_app {
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
                self.view()?,
                tree_text::DEFAULT_FOLD_AT,
            ))),
            Command::Expect(expectation) => self.check(expectation).await.map(Some),
        }
    }

    /// Carries out a command on the node, its error as text.
    async fn command(&mut self, command: ControlCommand) -> Result<Reply, String> {
        let recorded = self.record.as_ref().map(|log| log.command(&command));
        let result = self.session.execute(command).await;
        if let (Some(log), Some(id)) = (&self.record, recorded) {
            log.reply(id, &result);
        }
        result.map_err(|error| error.to_string())
    }

    /// The node as the stream last showed it.
    fn view(&self) -> Result<&Snapshot, String> {
        self.view
            .as_ref()
            .ok_or_else(|| "no snapshot of the node arrived".to_owned())
    }

    /// The process `pid` as the view shows it, if it is alive there.
    fn live(&self, pid: Pid) -> Option<&model::ProcessInfo> {
        self.view.as_ref()?.process(pid)
    }

    /// The pid of the supervisor `target` names, and whether it is a dynamic supervisor.
    async fn supervisor(&mut self, target: &Target) -> Result<(Pid, bool), String> {
        let pid = self
            .resolve(target)
            .await
            .ok_or_else(|| format!("no process {target}"))?;
        let is_dynamic = self
            .live(pid)
            .is_some_and(|info| matches!(info.kind, ProcessKind::DynamicSupervisor { .. }));
        Ok((pid, is_dynamic))
    }

    /// The children `target` supervises, running or not.
    async fn children(&mut self, target: &Target) -> Result<Vec<model::ChildRow>, String> {
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
    async fn last_exit(&mut self, target: &Target) -> Option<(u64, Pid, model::ExitReason)> {
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

    /// Fails unless the node runs the KV app.
    fn kv(&self) -> Result<(), String> {
        match self.capabilities.app(kv::APP) {
            Some(_) => Ok(()),
            None => Err("this tree runs no KV app".to_owned()),
        }
    }

    /// The bucket the registry maps `name` to, if any.
    async fn lookup(&mut self, name: &str) -> Result<Option<Pid>, String> {
        self.kv()?;
        match self.command(kv::lookup(name)).await? {
            Reply::Found { pid } => Ok(pid),
            other => Err(format!("unexpected reply {other:?}")),
        }
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
                let restarts = self.live(pid).map(|info| info.restarts);
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
                let count = self.live(pid).map(|info| info.children.len());
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
                let bucket = self.lookup(name).await?;
                let text = bucket.map_or_else(|| "none".to_owned(), |pid| format!("some {pid}"));
                found(
                    bucket.is_some() == *some,
                    format!("lookup {name} {}", if *some { "some" } else { "none" }),
                    text,
                )
            }
            Expectation::Get(name, key, value) => {
                let expected = value_text(value.as_deref());
                self.kv()?;
                let got = self
                    .command(kv::get(name, key))
                    .await
                    .and_then(value_of)
                    .map_err(|e| format!("expected {name}[{key}] = {expected}, found {e}"))?;
                found(
                    got == *value,
                    format!("{name}[{key}] = {expected}"),
                    value_text(got.as_deref()),
                )
            }
        }
    }

    fn is_alive(&self, pid: Pid) -> bool {
        self.live(pid).is_some()
    }

    fn state_of(&self, target: &Target, pid: Option<Pid>) -> String {
        match pid {
            Some(pid) if self.is_alive(pid) => format!("{target} alive as {pid}"),
            Some(pid) => format!("{target} dead ({pid})"),
            None => format!("no process for {target}"),
        }
    }

    /// The live process registered as `name`, in the view.
    fn registered(&self, name: &str) -> Option<&model::ProcessInfo> {
        self.view
            .as_ref()?
            .processes()
            .find(|info| info.name.as_deref() == Some(name))
    }

    /// The pid a target points at now (alive or not), if any.
    async fn resolve(&mut self, target: &Target) -> Option<Pid> {
        match target {
            Target::Pid(serial) => Some(Pid(*serial)),
            Target::Name(name) => self.registered(name).map(|info| info.pid),
            Target::Bucket(name) => self.lookup(name).await.ok().flatten(),
            Target::Path(path) => super::path::resolve(self.view.as_ref()?, path),
        }
    }

    /// Takes updates until no event has arrived for a while (and the first snapshot is in),
    /// then gives the events received since the last call.
    async fn events_caused(&mut self, settle: bool) -> Vec<Event> {
        let quiet = if settle { SETTLE_QUIET } else { QUIET };
        let deadline = Instant::now() + MAX_WAIT;
        let mut quiet_until = Instant::now() + quiet;
        loop {
            let until = if self.view.is_none() {
                deadline
            } else {
                quiet_until.min(deadline)
            };
            match tokio::time::timeout_at(until, self.session.recv()).await {
                Ok(Some(update)) => {
                    let news =
                        matches!(&update, Update::Events { events, .. } if !events.is_empty());
                    self.take(update);
                    if news {
                        quiet_until = Instant::now() + quiet;
                    }
                }
                // The stream ended (the node is gone) or the feed is quiet.
                Ok(None) | Err(_) => break,
            }
        }
        std::mem::take(&mut self.pending)
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
                    self.pending.push(event);
                }
            }
        }
    }

    /// The events worth a line in text output (not links; not the spawn of a restarted
    /// child, which its restart line names; not this run's own commands, which their `>`
    /// line shows, but those someone else sent meanwhile), as the contract's sentences.
    fn describe_event(&self, kind: &EventKind, restarted: &[Pid]) -> Option<String> {
        let shown = match kind {
            EventKind::Spawned { pid, .. } => !restarted.contains(pid),
            EventKind::Linked { .. } | EventKind::Unlinked { .. } => false,
            EventKind::Exited { .. }
            | EventKind::Restarted { .. }
            | EventKind::SupervisorGaveUp { .. } => true,
            EventKind::Command { from, .. } => self
                .own_commands
                .as_deref()
                .is_none_or(|own| !from.starts_with(own)),
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
        let Some(snapshot) = self.view.as_ref() else {
            let why = self.session.failure().unwrap_or("no snapshot arrived");
            return writeln!(self.out, "== no final tree: {why}");
        };
        match self.format {
            Format::Json => writeln!(self.out, "{}", json!({ "final": snapshot })),
            Format::Text => {
                writeln!(self.out, "== final tree")?;
                write!(
                    self.out,
                    "{}",
                    tree_text::render(snapshot, tree_text::DEFAULT_FOLD_AT)
                )
            }
        }
    }
}

/// The value a KV `get` or `delete` answered.
fn value_of(reply: Reply) -> Result<Option<String>, String> {
    match reply {
        Reply::Value { value } => Ok(value),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// A value as Elixir prints it: `"3"`, or `nil` for a missing key.
fn value_text(value: Option<&str>) -> String {
    value.map_or_else(|| "nil".to_owned(), |value| format!("{value:?}"))
}
