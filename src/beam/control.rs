//! The Observer's commands carried out on a BEAM node, through stock modules: `exit/2` as a
//! distribution exit signal, `sys:get_state/2`, `supervisor`'s calls, `proc_lib:stop/3`, and
//! the KV app's own API (`KV.Registry`, `KV.Bucket`) when the node runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use erl_dist::term::{Atom, FixInteger, Pid as ErlPid, Term};
use futures_util::future::join_all;
use parking_lot::Mutex;

use crate::contract::{
    AppCommand, ChildRef, ChildRow, Command, CommandError, ExitReason, Pid, Progress, Reply,
    Restart, StateRow,
};
use crate::demo::kv;
use crate::snapshot::ProgressReporter;

use super::BeamError;
use super::connection::Connection;
use super::read::{self, Addresses, Child};
use super::terms::{self, Syntax};

/// How long `sys:get_state` waits for a process.
pub const STATE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long any other command's call may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `create_bucket` waits for the registry to have started the bucket.
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);
/// How many `create` casts of `create_buckets` are in flight together.
const CREATE_BATCH: usize = 500;
/// How often `create_buckets` reports how far it has got.
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Carries out commands on one node, knowing its processes as of the last read.
#[derive(Clone)]
pub struct Control {
    connection: Connection,
    syntax: Syntax,
    /// Whether the node runs the chapter's KV app (checked again as the node changes).
    kv: Arc<std::sync::atomic::AtomicBool>,
    /// The last read's pids and supervisors' children, to address them.
    addresses: Arc<Mutex<Arc<Addresses>>>,
}

impl Control {
    /// Commands on the node `connection` reaches.
    pub fn new(connection: Connection, syntax: Syntax, kv: bool) -> Self {
        Self {
            connection,
            syntax,
            kv: Arc::new(std::sync::atomic::AtomicBool::new(kv)),
            addresses: Arc::new(Mutex::new(Arc::new(Addresses::default()))),
        }
    }

    /// Whether the node runs the KV app, from now on.
    pub fn set_kv(&self, kv: bool) {
        self.kv.store(kv, std::sync::atomic::Ordering::Relaxed);
    }

    /// Keeps the last read's addresses, to address processes.
    pub fn set_addresses(&self, addresses: Arc<Addresses>) {
        *self.addresses.lock() = addresses;
    }

    fn erl_pid(&self, pid: Pid) -> Result<ErlPid, CommandError> {
        self.addresses
            .lock()
            .erl_pids
            .get(&pid)
            .cloned()
            .ok_or(CommandError::NoProcess(pid))
    }

    async fn call(
        &self,
        module: &str,
        function: &str,
        args: Vec<Term>,
        timeout: Duration,
    ) -> Result<Term, CommandError> {
        self.connection
            .call(module, function, args, timeout)
            .await
            .map_err(|error| self.error(error))
    }

    fn error(&self, error: BeamError) -> CommandError {
        match error {
            BeamError::Timeout { timeout_ms, .. } => CommandError::Timeout { timeout_ms },
            BeamError::Disconnected(why) => CommandError::Disconnected(why),
            BeamError::Raised { class, reason } => {
                CommandError::App(format!("{class}: {}", terms::format(&reason, self.syntax)))
            }
            other => CommandError::App(other.to_string()),
        }
    }

    /// Carries out `command`.
    pub async fn execute(&self, command: Command) -> Result<Reply, CommandError> {
        self.execute_reporting(command, ProgressReporter::ignore())
            .await
    }

    /// Carries out `command`, reporting to `progress` how far a long one has got (the KV
    /// app's `create_buckets`).
    pub async fn execute_reporting(
        &self,
        command: Command,
        progress: ProgressReporter,
    ) -> Result<Reply, CommandError> {
        match command {
            Command::Exit { pid, reason } => self.exit(pid, &reason).await,
            Command::GetState { pid } => self.state(pid).await,
            Command::WhichChildren { supervisor } => self.which_children(supervisor).await,
            Command::TerminateChild { supervisor, child } => {
                let child = match child {
                    ChildRef::Id(id) => self.child_id(supervisor, &id)?,
                    ChildRef::Pid(pid) => self.erl_pid(pid)?.into(),
                };
                self.supervisor_call(supervisor, "terminate_child", child)
                    .await
            }
            Command::RestartChild { supervisor, id } => {
                let id = self.child_id(supervisor, &id)?;
                self.supervisor_call(supervisor, "restart_child", id).await
            }
            Command::DeleteChild { supervisor, id } => {
                let id = self.child_id(supervisor, &id)?;
                self.supervisor_call(supervisor, "delete_child", id).await
            }
            Command::StopSupervisor { supervisor, reason } => {
                let target = self.erl_pid(supervisor)?;
                self.call(
                    "proc_lib",
                    "stop",
                    vec![
                        target.into(),
                        terms::reason_term(&reason),
                        FixInteger::from(COMMAND_TIMEOUT.as_millis() as i32).into(),
                    ],
                    COMMAND_TIMEOUT + Duration::from_secs(1),
                )
                .await
                .map(|_| Reply::Done)
                .map_err(|error| self.gone(supervisor, error))
            }
            Command::RestartApp => Err(CommandError::NotSupported(
                "restarting the app on a BEAM node (use `application:stop/1` and `start/1` there)"
                    .to_owned(),
            )),
            Command::App(command)
                if command.app == kv::control::APP
                    && self.kv.load(std::sync::atomic::Ordering::Relaxed) =>
            {
                self.kv_command(command, &progress).await
            }
            Command::App(command) => Err(CommandError::NotSupported(command.to_string())),
        }
    }

    /// A call on a process that may have died: `noproc` is [`CommandError::NoProcess`].
    fn gone(&self, pid: Pid, error: CommandError) -> CommandError {
        match &error {
            CommandError::App(text) if text.contains("noproc") => CommandError::NoProcess(pid),
            _ => error,
        }
    }

    async fn exit(&self, pid: Pid, reason: &ExitReason) -> Result<Reply, CommandError> {
        let target = self.erl_pid(pid)?;
        let alive = self
            .call(
                "erlang",
                "is_process_alive",
                vec![target.clone().into()],
                COMMAND_TIMEOUT,
            )
            .await?;
        if terms::atom(&alive) != Some("true") {
            return Err(CommandError::NoProcess(pid));
        }
        self.connection
            .exit(target, terms::reason_term(reason))
            .map_err(|error| self.error(error))?;
        Ok(Reply::Done)
    }

    async fn state(&self, pid: Pid) -> Result<Reply, CommandError> {
        let target = self.erl_pid(pid)?;
        let timeout = FixInteger::from(STATE_TIMEOUT.as_millis() as i32);
        let state = self
            .connection
            .call(
                "sys",
                "get_state",
                vec![target.into(), timeout.into()],
                STATE_TIMEOUT + Duration::from_secs(1),
            )
            .await;
        match state {
            Ok(state) => Ok(Reply::State {
                pid,
                rows: Some(vec![StateRow {
                    key: "state".to_owned(),
                    value: terms::format(&state, self.syntax),
                }]),
            }),
            Err(BeamError::Raised { reason, .. }) => {
                let text = terms::format(&reason, Syntax::Erlang);
                if text.starts_with("{timeout") {
                    Err(CommandError::Timeout {
                        timeout_ms: STATE_TIMEOUT.as_millis() as u64,
                    })
                } else if text.starts_with("{noproc") {
                    Err(CommandError::NoProcess(pid))
                } else {
                    Err(CommandError::App(format!(
                        "sys:get_state failed: {}",
                        terms::format(&reason, self.syntax)
                    )))
                }
            }
            Err(error) => Err(self.error(error)),
        }
    }

    async fn which_children(&self, supervisor: Pid) -> Result<Reply, CommandError> {
        let target = self.erl_pid(supervisor)?;
        let answer = self
            .call(
                "supervisor",
                "which_children",
                vec![target.into()],
                COMMAND_TIMEOUT,
            )
            .await
            .map_err(|error| self.gone(supervisor, error))?;
        // Restart types as the last read found them (which_children does not say).
        let known = self.addresses.lock().children.get(&supervisor).cloned();
        let restart_of = |child: &Child| {
            known
                .iter()
                .flatten()
                .find(|read| {
                    read.id == child.id && (child.id_text.is_some() || read.pid == child.pid)
                })
                .and_then(|read| read.restart)
                .unwrap_or(Restart::Permanent)
        };
        let children = read::children_of(&answer, self.syntax)
            .iter()
            .map(|child| ChildRow {
                id: child.id_text.as_deref().unwrap_or("undefined").to_owned(),
                pid: child.pid,
                is_restarting: child.restarting,
                is_supervisor: child.supervisor,
                restart: restart_of(child),
            })
            .collect();
        Ok(Reply::Children {
            supervisor,
            children,
        })
    }

    /// The id term of the child `id` names (as views write it) under `supervisor`.
    fn child_id(&self, supervisor: Pid, id: &str) -> Result<Term, CommandError> {
        let addresses = self.addresses.lock();
        let children = addresses
            .children
            .get(&supervisor)
            .ok_or(CommandError::NotASupervisor(supervisor))?;
        children
            .iter()
            .find(|child| child.id_text.as_deref() == Some(id))
            .map(|child| child.id.clone())
            .ok_or_else(|| CommandError::Supervisor(format!("no child {id}")))
    }

    async fn supervisor_call(
        &self,
        supervisor: Pid,
        function: &str,
        child: Term,
    ) -> Result<Reply, CommandError> {
        let target = self.erl_pid(supervisor)?;
        let answer = self
            .call(
                "supervisor",
                function,
                vec![target.into(), child],
                COMMAND_TIMEOUT,
            )
            .await
            .map_err(|error| self.gone(supervisor, error))?;
        match &answer {
            Term::Atom(atom) if atom.name == "ok" => Ok(Reply::Done),
            _ => {
                if let Some(pid) = terms::ok(&answer) {
                    return Ok(Reply::Started {
                        pid: match pid {
                            Term::Pid(pid) => Some(terms::pid(pid)),
                            _ => None,
                        },
                    });
                }
                match terms::tuple(&answer) {
                    Some([Term::Atom(tag), reason]) if tag.name == "error" => {
                        Err(CommandError::Supervisor(terms::format(reason, self.syntax)))
                    }
                    _ => Err(CommandError::Supervisor(terms::format(
                        &answer,
                        self.syntax,
                    ))),
                }
            }
        }
    }

    // === the KV app ===

    fn registry() -> Term {
        Atom::from("Elixir.KV.Registry").into()
    }

    async fn lookup(&self, name: &str) -> Result<Option<ErlPid>, CommandError> {
        let answer = self
            .call(
                "Elixir.KV.Registry",
                "lookup",
                vec![Self::registry(), terms::binary(name)],
                COMMAND_TIMEOUT,
            )
            .await
            .map_err(|error| match error {
                CommandError::App(text) if text.contains("noproc") => {
                    CommandError::UnknownName(kv::REGISTRY.to_owned())
                }
                other => other,
            })?;
        Ok(match terms::ok(&answer) {
            Some(Term::Pid(pid)) => Some(pid.clone()),
            _ => None,
        })
    }

    async fn bucket(&self, name: &str) -> Result<ErlPid, CommandError> {
        self.lookup(name)
            .await?
            .ok_or_else(|| CommandError::UnknownName(format!("bucket {name}")))
    }

    async fn create(&self, name: &str) -> Result<(), CommandError> {
        self.call(
            "Elixir.KV.Registry",
            "create",
            vec![Self::registry(), terms::binary(name)],
            COMMAND_TIMEOUT,
        )
        .await?;
        Ok(())
    }

    async fn kv_command(
        &self,
        command: AppCommand,
        progress: &ProgressReporter,
    ) -> Result<Reply, CommandError> {
        let bucket_call = |function: &'static str, bucket: ErlPid, args: Vec<Term>| {
            let mut all = vec![Term::from(bucket)];
            all.extend(args);
            self.call("Elixir.KV.Bucket", function, all, COMMAND_TIMEOUT)
        };
        let value = |term: Term| match terms::atom(&term) {
            Some("nil") => None,
            _ => Some(terms::text(&term).unwrap_or_else(|| terms::format(&term, self.syntax))),
        };
        match command.name.as_str() {
            "create_bucket" => {
                let name = command.text("bucket")?;
                self.create(name).await?;
                let started = Instant::now();
                loop {
                    if self.lookup(name).await?.is_some() {
                        return Ok(Reply::Done);
                    }
                    if started.elapsed() > CREATE_TIMEOUT {
                        return Err(CommandError::App(format!(
                            "the registry did not create bucket {name} (is KV.BucketSupervisor running?)"
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            "lookup" => {
                let pid = self.lookup(command.text("bucket")?).await?;
                Ok(Reply::Found {
                    pid: pid.as_ref().map(terms::pid),
                })
            }
            "put" => {
                let bucket = self.bucket(command.text("bucket")?).await?;
                let (key, item) = (command.text("key")?, command.text("value")?);
                bucket_call("put", bucket, vec![terms::binary(key), terms::binary(item)]).await?;
                Ok(Reply::Done)
            }
            "get" => {
                let bucket = self.bucket(command.text("bucket")?).await?;
                let answer =
                    bucket_call("get", bucket, vec![terms::binary(command.text("key")?)]).await?;
                Ok(Reply::Value {
                    value: value(answer),
                })
            }
            "delete" => {
                let bucket = self.bucket(command.text("bucket")?).await?;
                let answer =
                    bucket_call("delete", bucket, vec![terms::binary(command.text("key")?)])
                        .await?;
                Ok(Reply::Value {
                    value: value(answer),
                })
            }
            "create_buckets" => {
                let count = command.integer("count")?.max(0) as usize;
                self.create_many(count, progress).await?;
                Ok(Reply::Done)
            }
            _ => Err(CommandError::NotSupported(command.to_string())),
        }
    }

    /// Creates `count` buckets named after how many the registry holds, [`CREATE_BATCH`]
    /// casts in flight at a time. Every [`REPORT_EVERY`] and at the end it calls the registry
    /// (`lookup` of the last name cast): a call sent after the casts are is handled after
    /// them, so once it answers their buckets have started, and it reports that many done.
    async fn create_many(
        &self,
        count: usize,
        progress: &ProgressReporter,
    ) -> Result<(), CommandError> {
        let first = self.bucket_count().await?;
        let names: Vec<String> = (0..count)
            .map(|index| format!("bucket-{}", first + index))
            .collect();
        let total = count as u64;
        progress.report(Progress::new(0, total, kv::control::CREATED));
        let mut reported = Instant::now();
        let mut done = 0;
        for batch in names.chunks(CREATE_BATCH) {
            for result in join_all(batch.iter().map(|name| self.create(name))).await {
                result?;
            }
            done += batch.len();
            let is_last = done == count;
            if is_last || (progress.is_listened() && reported.elapsed() >= REPORT_EVERY) {
                if let Some(name) = batch.last() {
                    self.lookup(name).await?;
                }
                progress.report(Progress::new(done as u64, total, kv::control::CREATED));
                reported = Instant::now();
            }
        }
        Ok(())
    }

    /// How many names the registry holds (its state is `{names, refs}`).
    async fn bucket_count(&self) -> Result<usize, CommandError> {
        let state = self
            .call(
                "sys",
                "get_state",
                vec![Self::registry(), FixInteger::from(5_000).into()],
                COMMAND_TIMEOUT,
            )
            .await?;
        Ok(match terms::tuple(&state) {
            Some([Term::Map(names), _]) => names.map.len(),
            _ => 0,
        })
    }
}
