//! Reads a tree file: TOML text to a checked [`TreeSpec`], or a [`TreeError`] that says where
//! (line and column, from the spans the toml crate keeps) and what was expected.
//!
//! The document is parsed into toml's spanned tree ([`DeTable`]) and walked by hand rather
//! than through serde derive, so that every message can name the valid choices and point at
//! the exact key or value. Unknown keys and children are checked in file order. The typed
//! value readers live in [`values`].

mod values;

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::runtime::{ExitReason, Restart, Shutdown, Strategy};

use self::values::{entries, render};
use super::error::{TreeError, invalid, line_column};
use super::spec::{
    ChildEntry, DynamicSupervisorSpec, ProcessSpec, RootSpec, ScriptedExit, SendSpec,
    SupervisorSpec, TreeSpec, WorkerSpec,
};

/// Parses and checks a tree file's text.
pub(super) fn parse(text: &str) -> Result<TreeSpec, TreeError> {
    let document = DeTable::parse(text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let mut message = error.message().to_owned();
        if message == "duplicate key"
            && let Some(key) = text.get(span.clone())
        {
            message = format!("duplicate key \"{key}\"");
        }
        invalid(text, span, message)
    })?;
    let mut reader = Reader {
        text,
        names: HashMap::new(),
    };
    reader.tree(document.get_ref())
}

/// Where a table sits, which decides the keys it may have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The document itself.
    Root,
    /// A child of a supervisor.
    UnderSupervisor,
    /// A child of a dynamic supervisor (may have `count`).
    UnderDynamic,
}

/// What a table describes, from its `type`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Supervisor,
    DynamicSupervisor,
    Worker,
}

impl Kind {
    fn article(self) -> &'static str {
        match self {
            Self::Supervisor => "a supervisor",
            Self::DynamicSupervisor => "a dynamic_supervisor",
            Self::Worker => "a worker",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Supervisor => &[
                "name",
                "label",
                "strategy",
                "max_restarts",
                "max_seconds",
                "children",
            ],
            Self::DynamicSupervisor => &[
                "name",
                "label",
                "max_restarts",
                "max_seconds",
                "max_children",
                "children",
            ],
            Self::Worker => &WORKER_KEYS,
        }
    }
}

const WORKER_KEYS: [&str; 14] = [
    "name",
    "label",
    "trap_exit",
    "crash_every_ms",
    "crash_reason",
    "exit_after_ms",
    "exit_reason",
    "shutdown_ms",
    "ignore_shutdown",
    "fail_to_start",
    "ignore",
    "send_per_second",
    "send_to",
    "state",
];

/// Worker keys that make no sense for a worker that never runs (`ignore`, `fail_to_start`).
const RUNNING_KEYS: [&str; 9] = [
    "trap_exit",
    "crash_every_ms",
    "exit_after_ms",
    "shutdown_ms",
    "ignore_shutdown",
    "send_per_second",
    "state",
    "ignore",
    "fail_to_start",
];

/// The reason a crash uses when the file gives none.
const DEFAULT_CRASH_REASON: &str = "boom";

type Table<'i> = DeTable<'i>;
type Value<'i> = Spanned<DeValue<'i>>;

/// Walks the spanned document, remembering registered names to catch duplicates.
struct Reader<'t> {
    text: &'t str,
    /// Registered names seen so far, with where.
    names: HashMap<String, Range<usize>>,
}

// === impl Reader ===

impl<'t> Reader<'t> {
    fn tree(&mut self, root: &Table<'_>) -> Result<TreeSpec, TreeError> {
        let description = self.string(root, "description")?.map(|(text, _)| text);
        let kind = match root.get_key_value("type") {
            None => {
                return Err(self.error(
                    0..0,
                    "missing required key \"type\" at the top, expected supervisor or \
                     dynamic_supervisor",
                ));
            }
            Some((_, value)) => {
                let (word, span) = self.expect_str(value, "type")?;
                match word {
                    "supervisor" => Kind::Supervisor,
                    "dynamic_supervisor" => Kind::DynamicSupervisor,
                    "worker" => {
                        return Err(self.error(
                            span,
                            "the root must be a supervisor or a dynamic_supervisor, not a worker",
                        ));
                    }
                    other => {
                        return Err(self.error(
                            span,
                            format!(
                                "unknown type \"{other}\", expected supervisor or \
                                 dynamic_supervisor"
                            ),
                        ));
                    }
                }
            }
        };
        self.check_keys(root, kind, Place::Root)?;
        let root = match self.process(root, kind, 0..0)? {
            ProcessSpec::Supervisor(spec) => RootSpec::Supervisor(spec),
            ProcessSpec::DynamicSupervisor(spec) => RootSpec::DynamicSupervisor(spec),
            ProcessSpec::Worker(_) => {
                return Err(self.error(
                    0..0,
                    "the root must be a supervisor or a dynamic_supervisor, not a worker",
                ));
            }
        };
        Ok(TreeSpec { description, root })
    }

    /// Reads one entry of a `children` list.
    fn child(&mut self, value: &Value<'_>, place: Place) -> Result<ChildEntry, TreeError> {
        let Some(table) = value.get_ref().as_table() else {
            return Err(self.error(
                value.span(),
                format!(
                    "expected a table for a child, found {}",
                    value.get_ref().type_str()
                ),
            ));
        };
        let header = value.span();
        let kind = match self.string(table, "type")? {
            None => Kind::Worker,
            Some((word, span)) => match word.as_str() {
                "supervisor" => Kind::Supervisor,
                "dynamic_supervisor" => Kind::DynamicSupervisor,
                "worker" => Kind::Worker,
                other => {
                    return Err(self.error(
                        span,
                        format!(
                            "unknown type \"{other}\", expected supervisor, dynamic_supervisor \
                             or worker"
                        ),
                    ));
                }
            },
        };
        self.check_keys(table, kind, place)?;
        let Some((id, id_span)) = self.string(table, "id")? else {
            return Err(self.error(header, "missing required key \"id\" in this child"));
        };
        if id.trim().is_empty() {
            return Err(self.error(id_span, "the id must not be empty"));
        }
        let restart = match self.string(table, "restart")? {
            None => Restart::Permanent,
            Some((word, span)) => match word.as_str() {
                "permanent" => Restart::Permanent,
                "transient" => Restart::Transient,
                "temporary" => Restart::Temporary,
                other => {
                    return Err(self.error(
                        span,
                        format!(
                            "unknown restart \"{other}\", expected permanent, transient or \
                             temporary"
                        ),
                    ));
                }
            },
        };
        let shutdown = match table.get("shutdown") {
            None if kind == Kind::Worker => Shutdown::WORKER_DEFAULT,
            None => Shutdown::Infinity,
            Some(value) => self.shutdown(value)?,
        };
        let count = match self.uint(table, "count", 1)? {
            None => 1,
            Some((count, span)) => usize::try_from(count)
                .map_err(|_| self.error(span, format!("count {count} is too large")))?,
        };
        let process = self.process(table, kind, header)?;
        if count > 1
            && let Some(name) = process_name(&process)
            && let Some((_, span)) = table.get_key_value("name")
        {
            return Err(self.error(
                span.span(),
                format!(
                    "name \"{name}\" with count {count}: a name can be registered by one \
                     process only"
                ),
            ));
        }
        Ok(ChildEntry {
            id,
            restart,
            shutdown,
            count,
            process,
        })
    }

    /// Reads what a table describes, once its keys are known to be valid for `kind`.
    fn process(
        &mut self,
        table: &Table<'_>,
        kind: Kind,
        header: Range<usize>,
    ) -> Result<ProcessSpec, TreeError> {
        let name = self.name(table)?;
        let label = self.string(table, "label")?.map(|(label, _)| label);
        if kind == Kind::Worker {
            return Ok(ProcessSpec::Worker(self.worker(table, name, label)?));
        }
        let strategy = if kind == Kind::Supervisor {
            Some(self.strategy(table, header)?)
        } else {
            None
        };
        let max_restarts = self.u32(table, "max_restarts", 0)?.unwrap_or(3);
        let max_seconds = self.u32(table, "max_seconds", 1)?.unwrap_or(5);
        let max_children = self.uint(table, "max_children", 0)?;
        let place = match kind {
            Kind::DynamicSupervisor => Place::UnderDynamic,
            Kind::Supervisor | Kind::Worker => Place::UnderSupervisor,
        };
        let children = self.children(table, place)?;
        if let Some(strategy) = strategy {
            return Ok(ProcessSpec::Supervisor(SupervisorSpec {
                name,
                label,
                strategy,
                max_restarts,
                max_seconds,
                children,
            }));
        }
        let max_children = match max_children {
            None => None,
            Some((max, span)) => {
                let initial: usize = children.iter().map(|child| child.count).sum();
                let max = usize::try_from(max).unwrap_or(usize::MAX);
                if initial > max {
                    return Err(self.error(
                        span,
                        format!("{initial} initial children exceed max_children {max}"),
                    ));
                }
                Some(max)
            }
        };
        Ok(ProcessSpec::DynamicSupervisor(DynamicSupervisorSpec {
            name,
            label,
            max_restarts,
            max_seconds,
            max_children,
            children,
        }))
    }

    fn strategy(&self, table: &Table<'_>, header: Range<usize>) -> Result<Strategy, TreeError> {
        let Some((word, span)) = self.string(table, "strategy")? else {
            return Err(self.error(
                header,
                "missing required key \"strategy\" in this supervisor, expected one_for_one, \
                 one_for_all or rest_for_one",
            ));
        };
        match word.as_str() {
            "one_for_one" => Ok(Strategy::OneForOne),
            "one_for_all" => Ok(Strategy::OneForAll),
            "rest_for_one" => Ok(Strategy::RestForOne),
            other => Err(self.error(
                span,
                format!(
                    "unknown strategy \"{other}\", expected one_for_one, one_for_all or \
                     rest_for_one"
                ),
            )),
        }
    }

    fn children(&mut self, table: &Table<'_>, place: Place) -> Result<Vec<ChildEntry>, TreeError> {
        let Some(value) = table.get("children") else {
            return Ok(Vec::new());
        };
        let Some(array) = value.get_ref().as_array() else {
            return Err(self.error(
                value.span(),
                format!(
                    "expected an array of tables for \"children\" (write [[children]]), found {}",
                    value.get_ref().type_str()
                ),
            ));
        };
        let mut children = Vec::with_capacity(array.len());
        let mut ids: HashMap<String, Range<usize>> = HashMap::new();
        for item in array.iter() {
            let child = self.child(item, place)?;
            if let Some(table) = item.get_ref().as_table()
                && let Some(id) = table.get("id")
            {
                if let Some(first) = ids.get(&child.id) {
                    let (line, _) = line_column(self.text, first.start);
                    return Err(self.error(
                        id.span(),
                        format!(
                            "duplicate child id \"{}\", already used by a sibling at line {line}",
                            child.id
                        ),
                    ));
                }
                ids.insert(child.id.clone(), id.span());
            }
            children.push(child);
        }
        Ok(children)
    }

    fn worker(
        &mut self,
        table: &Table<'_>,
        name: Option<String>,
        label: Option<String>,
    ) -> Result<WorkerSpec, TreeError> {
        let ignore = self.bool(table, "ignore")?.unwrap_or(false);
        let fail_to_start = self.reason(table, "fail_to_start")?;
        let never_runs = if ignore {
            Some("ignore")
        } else if fail_to_start.is_some() {
            Some("fail_to_start")
        } else {
            None
        };
        if let Some(never) = never_runs {
            for (key, _) in entries(table) {
                let key_name: &str = key.get_ref();
                if key_name != never && RUNNING_KEYS.contains(&key_name) {
                    return Err(self.error(
                        key.span(),
                        format!(
                            "\"{key_name}\" cannot be combined with \"{never}\": the worker \
                             never runs"
                        ),
                    ));
                }
            }
        }
        let crash_every = self.scripted_exit(
            table,
            ("crash_every_ms", 1),
            "crash_reason",
            DEFAULT_CRASH_REASON,
        )?;
        let exit_after =
            self.scripted_exit(table, ("exit_after_ms", 0), "exit_reason", "normal")?;
        let shutdown_ms = self.uint(table, "shutdown_ms", 0)?.map(|(ms, _)| ms);
        let ignore_shutdown = self.bool(table, "ignore_shutdown")?.unwrap_or(false);
        if ignore_shutdown
            && shutdown_ms.is_some()
            && let Some((key, _)) = table.get_key_value("ignore_shutdown")
        {
            return Err(self.error(
                key.span(),
                "\"ignore_shutdown\" cannot be combined with \"shutdown_ms\": choose a slow \
                 shutdown or none at all",
            ));
        }
        let per_second = self.u32(table, "send_per_second", 1)?;
        let to = self.string(table, "send_to")?;
        let send = match (per_second, to) {
            (None, None) => None,
            (Some(per_second), Some((to, _))) => Some(SendSpec { per_second, to }),
            (Some(_), None) => {
                return Err(self.key_error(
                    table,
                    "send_per_second",
                    "\"send_per_second\" needs \"send_to\", the registered name of the \
                     receiving worker",
                ));
            }
            (None, Some((_, span))) => {
                return Err(self.error(span, "\"send_to\" needs \"send_per_second\""));
            }
        };
        let state = match table.get("state") {
            None => Vec::new(),
            Some(value) => {
                let Some(state) = value.get_ref().as_table() else {
                    return Err(self.error(
                        value.span(),
                        format!(
                            "expected a table for \"state\", such as {{ milk = 3 }}, found {}",
                            value.get_ref().type_str()
                        ),
                    ));
                };
                entries(state)
                    .into_iter()
                    .map(|(key, value)| (key.get_ref().to_string(), render(value.get_ref())))
                    .collect()
            }
        };
        Ok(WorkerSpec {
            name,
            label,
            trap_exit: self.bool(table, "trap_exit")?.unwrap_or(false),
            crash_every,
            exit_after,
            shutdown_ms,
            ignore_shutdown,
            fail_to_start,
            ignore,
            send,
            state,
        })
    }

    /// `crash_every_ms` with `crash_reason`, or `exit_after_ms` with `exit_reason`: the
    /// reason needs the time.
    fn scripted_exit(
        &self,
        table: &Table<'_>,
        (time_key, min_ms): (&str, u64),
        reason_key: &str,
        default_reason: &str,
    ) -> Result<Option<ScriptedExit>, TreeError> {
        let after_ms = self.uint(table, time_key, min_ms)?.map(|(ms, _)| ms);
        let reason = self.reason(table, reason_key)?;
        match (after_ms, reason) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(self.key_error(
                table,
                reason_key,
                format!("\"{reason_key}\" needs \"{time_key}\""),
            )),
            (Some(after_ms), reason) => Ok(Some(ScriptedExit {
                after_ms,
                reason: reason.unwrap_or_else(|| ExitReason::parse(default_reason)),
            })),
        }
    }

    // --- keys and values ---

    /// Rejects keys that `kind` at `place` does not take, in file order.
    fn check_keys(&self, table: &Table<'_>, kind: Kind, place: Place) -> Result<(), TreeError> {
        let common: &[&str] = match place {
            Place::Root => &["description", "type"],
            Place::UnderSupervisor => &["id", "type", "restart", "shutdown"],
            Place::UnderDynamic => &["id", "type", "restart", "shutdown", "count"],
        };
        for (key, _) in entries(table) {
            let key_name: &str = key.get_ref();
            if common.contains(&key_name) || kind.keys().contains(&key_name) {
                continue;
            }
            let message = match (key_name, place) {
                ("count", Place::UnderSupervisor) => {
                    "\"count\" is only for children of a dynamic_supervisor".to_owned()
                }
                ("id" | "restart" | "shutdown", Place::Root) => {
                    format!("\"{key_name}\" is for children, the root has none")
                }
                _ => {
                    let where_ = if place == Place::Root {
                        format!("the root ({})", kind.article())
                    } else {
                        kind.article().to_owned()
                    };
                    let valid: Vec<&str> = common.iter().chain(kind.keys()).copied().collect();
                    format!(
                        "unknown key \"{key_name}\" for {where_}, expected one of: {}",
                        valid.join(", ")
                    )
                }
            };
            return Err(self.error(key.span(), message));
        }
        Ok(())
    }

    fn name(&mut self, table: &Table<'_>) -> Result<Option<String>, TreeError> {
        let Some((name, span)) = self.string(table, "name")? else {
            return Ok(None);
        };
        if name.trim().is_empty() {
            return Err(self.error(span, "the name must not be empty"));
        }
        if let Some(first) = self.names.get(&name) {
            let (line, _) = line_column(self.text, first.start);
            return Err(self.error(
                span,
                format!("name \"{name}\" is already registered by the process at line {line}"),
            ));
        }
        self.names.insert(name.clone(), span);
        Ok(Some(name))
    }
}

fn process_name(process: &ProcessSpec) -> Option<&str> {
    match process {
        ProcessSpec::Supervisor(spec) => spec.name.as_deref(),
        ProcessSpec::DynamicSupervisor(spec) => spec.name.as_deref(),
        ProcessSpec::Worker(spec) => spec.name.as_deref(),
    }
}
