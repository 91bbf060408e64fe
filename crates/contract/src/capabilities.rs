//! What a source offers, said once when it connects: whether it takes commands at all, which
//! of OTP's calls it carries out, which applications' own commands it accepts (with their
//! arguments, so a view can draw a console for any app), and what figures it has.
//!
//! A view enables what the capabilities say and never needs to know which kind of source it
//! watches: an in-process node, a remote one, a BEAM node or a recording.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AppCommand, ArgValue, Command};

/// What a source offers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    /// It takes commands at all. A read-only source (a recording, a read-only client of a
    /// served node) refuses every one: views hide or disable their controls.
    pub control: bool,
    /// It asks processes for their state on demand ([`Command::GetState`]).
    pub state: bool,
    /// It carries out OTP's supervisor calls: which, terminate, restart and delete child,
    /// stop a supervisor.
    pub supervisor_calls: bool,
    /// It can start the observed application again once its root has died
    /// ([`Command::RestartApp`]).
    pub restart_app: bool,
    /// It reports the memory the observed OS process holds.
    pub memory: bool,
    /// The applications whose own commands it accepts ([`Command::App`]).
    pub apps: Vec<AppSpec>,
}

impl Capabilities {
    /// A source that only shows: no command of any kind.
    pub fn read_only() -> Self {
        Self::default()
    }

    /// The application named `name`, if the source offers it.
    pub fn app(&self, name: &str) -> Option<&AppSpec> {
        self.apps.iter().find(|app| app.name == name)
    }

    /// Whether the source would carry `command` out (it may still fail: a dead pid).
    pub fn accepts(&self, command: &Command) -> bool {
        if !self.control {
            return false;
        }
        match command {
            Command::Exit { .. } => true,
            Command::GetState { .. } => self.state,
            Command::RestartApp => self.restart_app,
            Command::App(command) => self
                .app(&command.app)
                .is_some_and(|app| app.command(&command.name).is_some()),
            other => other.is_supervisor_call() && self.supervisor_calls,
        }
    }

    /// The same capabilities with every command refused: what a read-only connection to this
    /// source offers.
    pub fn without_control(mut self) -> Self {
        self.control = false;
        self
    }
}

/// An application whose commands a source accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSpec {
    /// Its name in [`AppCommand::app`] (`kv`).
    pub name: String,
    /// How a view titles its console (`KV`).
    pub title: String,
    /// Where the commands' equivalents would be typed (`iex>`), if they have any.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Its commands, in the order a console shows them.
    pub commands: Vec<CommandSpec>,
}

impl AppSpec {
    /// The command named `name`.
    pub fn command(&self, name: &str) -> Option<&CommandSpec> {
        self.commands.iter().find(|command| command.name == name)
    }

    /// The command `command` was made from: of those with its name, the first whose fixed
    /// arguments it carries ("Create 1,000,000 buckets", not "Create 1,000 buckets", for a
    /// `create_buckets` with a count of a million), else the first with its name.
    pub fn command_of(&self, command: &AppCommand) -> Option<&CommandSpec> {
        let named = || {
            self.commands
                .iter()
                .filter(|spec| spec.name == command.name)
        };
        named()
            .find(|spec| {
                spec.fixed
                    .iter()
                    .all(|(name, value)| command.args.get(name) == Some(value))
            })
            .or_else(|| named().next())
    }

    /// Every argument its commands ask the user for, each once, in the order first asked:
    /// the fields a console draws, shared by the commands that name them.
    pub fn fields(&self) -> Vec<&ArgSpec> {
        let mut fields: Vec<&ArgSpec> = Vec::new();
        for arg in self.commands.iter().flat_map(|command| &command.args) {
            if !fields.iter().any(|field| field.name == arg.name) {
                fields.push(arg);
            }
        }
        fields
    }
}

/// One command of an application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// Its name in [`AppCommand::name`] (`create_bucket`).
    pub name: String,
    /// Its button's label (`Create`).
    pub label: String,
    /// What it does, for a tooltip.
    #[serde(default)]
    pub help: String,
    /// The arguments the user gives, in order.
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// Arguments the command sets itself (a "Create 1,000 buckets" button sets `count`).
    #[serde(default)]
    pub fixed: BTreeMap<String, ArgValue>,
    /// What the command stands for in the application's own language, with `{arg}` for each
    /// argument (`KV.Registry.create(KV.Registry, "{bucket}")`).
    #[serde(default)]
    pub equivalent: Option<String>,
    /// The fields in which Enter runs this command, when all its arguments are given; the
    /// first such command in the app's order wins.
    #[serde(default)]
    pub submit_from: Vec<String>,
    /// For a command on one process: the [`ArgKind::Pid`] argument a view fills with the
    /// process it was asked about (a right-click), and the kinds of process it applies to
    /// (by [`ProcessKind::name`](crate::ProcessKind::name); empty: any).
    #[serde(default)]
    pub on_process: Option<OnProcess>,
}

/// How a command applies to one process (see [`CommandSpec::on_process`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnProcess {
    /// The argument that names the process.
    pub arg: String,
    /// The kinds of process it applies to (`server`); empty: any.
    #[serde(default)]
    pub kinds: Vec<String>,
}

impl CommandSpec {
    /// A command named `name` with button `label` and no arguments.
    pub fn new(name: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            help: String::new(),
            args: Vec::new(),
            fixed: BTreeMap::new(),
            equivalent: None,
            submit_from: Vec::new(),
            on_process: None,
        }
    }

    /// Its tooltip.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Adds an argument the user gives.
    pub fn arg(mut self, arg: ArgSpec) -> Self {
        self.args.push(arg);
        self
    }

    /// Sets an argument itself.
    pub fn fixed(mut self, name: impl Into<String>, value: impl Into<ArgValue>) -> Self {
        self.fixed.insert(name.into(), value.into());
        self
    }

    /// What it stands for in the app's own language, with `{arg}` placeholders.
    pub fn equivalent(mut self, equivalent: impl Into<String>) -> Self {
        self.equivalent = Some(equivalent.into());
        self
    }

    /// Enter in these fields runs it.
    pub fn submit_from<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.submit_from = fields.into_iter().map(Into::into).collect();
        self
    }

    /// It applies to one process, named by argument `arg`, of these kinds (empty: any).
    pub fn on_process<S: Into<String>>(
        mut self,
        arg: impl Into<String>,
        kinds: impl IntoIterator<Item = S>,
    ) -> Self {
        self.on_process = Some(OnProcess {
            arg: arg.into(),
            kinds: kinds.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The command for application `app` with `given` arguments (by name, as typed) and the
    /// fixed ones; an error naming the first argument that is missing or does not read as
    /// its kind.
    pub fn command(
        &self,
        app: &str,
        given: impl Fn(&str) -> Option<ArgValue>,
    ) -> Result<AppCommand, String> {
        let mut command = AppCommand::new(app, &self.name);
        for arg in &self.args {
            let value = given(&arg.name).ok_or_else(|| format!("{} is missing", arg.label))?;
            command.args.insert(arg.name.clone(), value);
        }
        command.args.extend(self.fixed.clone());
        Ok(command)
    }

    /// [`equivalent`](Self::equivalent) with the arguments of `command` written in.
    pub fn equivalent_of(&self, command: &AppCommand) -> Option<String> {
        let mut text = self.equivalent.clone()?;
        for (name, value) in &command.args {
            let value = match value {
                ArgValue::Text(text) => text.clone(),
                other => other.to_string(),
            };
            text = text.replace(&format!("{{{name}}}"), &value);
        }
        Some(text)
    }
}

/// One argument a command asks the user for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgSpec {
    /// Its name in [`AppCommand::args`].
    pub name: String,
    /// How a field for it is labelled.
    pub label: String,
    /// What it holds.
    pub kind: ArgKind,
    /// A hint shown in an empty field.
    #[serde(default)]
    pub hint: String,
}

impl ArgSpec {
    /// An argument `name`, labelled `label`, holding `kind`.
    pub fn new(name: impl Into<String>, label: impl Into<String>, kind: ArgKind) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            kind,
            hint: String::new(),
        }
    }

    /// A hint for an empty field.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    /// Reads what a user typed as this argument's kind; `None` if it is empty or does not
    /// read as one.
    pub fn parse(&self, typed: &str) -> Option<ArgValue> {
        if typed.is_empty() {
            return None;
        }
        match self.kind {
            ArgKind::Text => Some(ArgValue::Text(typed.to_owned())),
            ArgKind::Integer => typed
                .trim()
                .replace(',', "")
                .parse()
                .ok()
                .map(ArgValue::Integer),
            ArgKind::Pid => typed.parse().ok().map(ArgValue::Pid),
        }
    }
}

/// What an argument holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    /// Any text.
    Text,
    /// A whole number.
    Integer,
    /// A process, as `<0.42.0>`.
    Pid,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Pid;

    fn kv() -> AppSpec {
        let bucket = ArgSpec::new("bucket", "bucket", ArgKind::Text);
        AppSpec {
            name: "kv".into(),
            title: "KV".into(),
            prompt: Some("iex>".into()),
            commands: vec![
                CommandSpec::new("create_bucket", "Create")
                    .arg(bucket.clone())
                    .equivalent("KV.Registry.create(KV.Registry, \"{bucket}\")"),
                CommandSpec::new("create_buckets", "Create 1,000 buckets").fixed("count", 1000),
                CommandSpec::new("put", "Put").arg(bucket).arg(ArgSpec::new(
                    "key",
                    "key",
                    ArgKind::Text,
                )),
            ],
        }
    }

    #[test]
    fn a_command_is_known_by_its_fixed_arguments_among_those_of_its_name() {
        let mut app = kv();
        app.commands.push(
            CommandSpec::new("create_buckets", "Create 1,000,000 buckets")
                .fixed("count", 1_000_000),
        );
        let million = AppCommand::new("kv", "create_buckets").arg("count", 1_000_000_i64);
        let label = |command: &AppCommand| app.command_of(command).map(|spec| spec.label.clone());
        assert_eq!(label(&million).as_deref(), Some("Create 1,000,000 buckets"));
        let thousand = AppCommand::new("kv", "create_buckets").arg("count", 1_000_i64);
        assert_eq!(label(&thousand).as_deref(), Some("Create 1,000 buckets"));
        let other = AppCommand::new("kv", "create_buckets").arg("count", 7_i64);
        assert_eq!(
            label(&other).as_deref(),
            Some("Create 1,000 buckets"),
            "the first"
        );
        assert_eq!(label(&AppCommand::new("kv", "nothing")), None);
    }

    #[test]
    fn a_console_asks_each_argument_once_and_buttons_fill_their_fixed_ones() {
        let app = kv();
        let fields: Vec<&str> = app.fields().iter().map(|arg| arg.name.as_str()).collect();
        assert_eq!(fields, vec!["bucket", "key"]);
        let create = app.command("create_bucket").unwrap();
        let command = create
            .command("kv", |name| (name == "bucket").then(|| "shopping".into()))
            .unwrap();
        assert_eq!(
            command,
            AppCommand::new("kv", "create_bucket").arg("bucket", "shopping")
        );
        assert_eq!(
            create.equivalent_of(&command).unwrap(),
            "KV.Registry.create(KV.Registry, \"shopping\")"
        );
        assert_eq!(command.to_string(), "kv create_bucket bucket=\"shopping\"");
        let many = app.command("create_buckets").unwrap();
        assert_eq!(
            many.command("kv", |_| None).unwrap(),
            AppCommand::new("kv", "create_buckets").arg("count", 1000)
        );
        assert_eq!(
            app.command("put").unwrap().command("kv", |_| None),
            Err("bucket is missing".to_owned())
        );
    }

    #[test]
    fn a_read_only_source_accepts_nothing_and_others_what_they_offer() {
        let exit = Command::Exit {
            pid: Pid(3),
            reason: crate::ExitReason::Kill,
        };
        let create = Command::App(AppCommand::new("kv", "create_bucket"));
        let unknown = Command::App(AppCommand::new("kv", "drop_table"));
        let full = Capabilities {
            control: true,
            state: true,
            supervisor_calls: true,
            restart_app: false,
            memory: true,
            apps: vec![kv()],
        };
        assert!(full.accepts(&exit) && full.accepts(&create));
        assert!(!full.accepts(&unknown));
        assert!(!full.accepts(&Command::RestartApp));
        let read_only = full.without_control();
        assert!(!read_only.accepts(&exit) && !read_only.accepts(&create));
        assert!(!Capabilities::read_only().accepts(&exit));
    }

    #[test]
    fn typed_arguments_read_as_their_kind() {
        let count = ArgSpec::new("count", "count", ArgKind::Integer);
        assert_eq!(count.parse("1,000"), Some(ArgValue::Integer(1000)));
        assert_eq!(count.parse("many"), None);
        let pid = ArgSpec::new("pid", "pid", ArgKind::Pid);
        assert_eq!(pid.parse("<0.7.0>"), Some(ArgValue::Pid(Pid(7))));
        assert_eq!(pid.parse(""), None);
        let json = serde_json::to_string(&kv()).unwrap();
        assert_eq!(serde_json::from_str::<AppSpec>(&json).unwrap(), kv());
    }
}
