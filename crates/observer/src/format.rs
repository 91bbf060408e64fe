//! How things read in the Observer: the contract's [`format`](otpscope_contract::format)
//! (numbers, rates, durations, clock times, bytes, a process, an event sentence), re-exported
//! here so the whole GUI has one format module, and the little the GUI adds on top of it
//! (a process's label and detail line, counted nouns, a badge's compact count, the words of
//! kinds and statuses in tables, commands as a notice names them).
//!
//! Everything here is a pure function of contract data, unit-tested below; nothing knows the
//! state or draws. Anything that also reads this way in the CLI belongs in the contract's
//! module, not here.

use std::fmt::Write as _;

use otpscope_contract::{
    AppCommand, ArgValue, Capabilities, Command, CommandSpec, Pid, ProcessInfo, ProcessKind,
    Restart, Status,
};

pub use otpscope_contract::format::{
    bytes, clock_ms, duration_ms, event, process, rate, thousands,
};

// === Processes ===

/// What a process is called everywhere: its registered name, else its behaviour label, and
/// its pid: `KV.Registry <0.3.0>`, `KV.Bucket <0.9.0>`.
pub fn label(info: &ProcessInfo) -> String {
    process(info.pid, Some(info.display_name()))
}

/// The name a sentence gives `pid` when `info` is what is known of it: [`label`], else the
/// bare pid.
pub fn label_or_pid(pid: Pid, info: Option<&ProcessInfo>) -> String {
    info.map_or_else(|| pid.to_string(), label)
}

/// A process's detail line in the tree: `agent · temporary`, `supervisor · one_for_all`,
/// `server · permanent · restarts 2`.
pub fn detail(info: &ProcessInfo) -> String {
    let mut detail = match &info.kind {
        ProcessKind::Supervisor { strategy, .. } => format!("supervisor · {strategy}"),
        ProcessKind::DynamicSupervisor { max_children, .. } => match max_children {
            Some(max) => format!("dynamic supervisor · max {max}"),
            None => "dynamic supervisor".to_owned(),
        },
        ProcessKind::Server => "server".to_owned(),
        ProcessKind::Agent => "agent".to_owned(),
        ProcessKind::Plain => "process".to_owned(),
    };
    if let Some(restart) = info.restart {
        write!(detail, " · {restart}").ok();
    }
    if info.restarts > 0 {
        write!(detail, " · restarts {}", info.restarts).ok();
    }
    detail
}

/// A kind as a table names it: `supervisor`, `dynamic supervisor`, `server`, `agent`,
/// `plain`. (Words in alphabetical order of the kinds' ranks: the Processes table sorts by
/// them.)
pub fn kind_word(kind: &ProcessKind) -> &'static str {
    match kind {
        ProcessKind::Supervisor { .. } => "supervisor",
        ProcessKind::DynamicSupervisor { .. } => "dynamic supervisor",
        ProcessKind::Server => "server",
        ProcessKind::Agent => "agent",
        ProcessKind::Plain => "plain",
    }
}

/// A kind as a process's header says it: `supervisor, one_for_all`,
/// `dynamic supervisor, one_for_one`, `plain process`.
pub fn kind_phrase(kind: &ProcessKind) -> String {
    match kind {
        ProcessKind::Supervisor { strategy, .. } => format!("supervisor, {strategy}"),
        ProcessKind::DynamicSupervisor { .. } => "dynamic supervisor, one_for_one".to_owned(),
        ProcessKind::Server => "server".to_owned(),
        ProcessKind::Agent => "agent".to_owned(),
        ProcessKind::Plain => "plain process".to_owned(),
    }
}

/// A status as a word, without allocating (the status's `Display`).
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Running => "running",
        Status::Waiting => "waiting",
        Status::Exiting => "exiting",
        Status::Dead => "dead",
    }
}

/// Every kind once, in the order of their words ([`kind_word`]); a supervisor's strategy and
/// intensity are placeholders.
pub fn kinds() -> [ProcessKind; 5] {
    [
        ProcessKind::Agent,
        ProcessKind::DynamicSupervisor {
            max_restarts: 0,
            max_seconds: 0,
            max_children: None,
        },
        ProcessKind::Plain,
        ProcessKind::Server,
        ProcessKind::Supervisor {
            strategy: otpscope_contract::Strategy::OneForOne,
            max_restarts: 0,
            max_seconds: 0,
        },
    ]
}

/// A kind's place in [`kinds`]: the order of its word.
pub fn kind_rank(kind: &ProcessKind) -> usize {
    match kind {
        ProcessKind::Agent => 0,
        ProcessKind::DynamicSupervisor { .. } => 1,
        ProcessKind::Plain => 2,
        ProcessKind::Server => 3,
        ProcessKind::Supervisor { .. } => 4,
    }
}

/// Every status once, in the order of their words ([`status_word`]).
pub const STATUSES: [Status; 4] = [
    Status::Dead,
    Status::Exiting,
    Status::Running,
    Status::Waiting,
];

/// A status's place in [`STATUSES`]: the order of its word.
pub fn status_rank(status: Status) -> usize {
    match status {
        Status::Dead => 0,
        Status::Exiting => 1,
        Status::Running => 2,
        Status::Waiting => 3,
    }
}

/// A restart type and what it means: `temporary (never restarted)`.
pub fn restart_phrase(restart: Restart) -> String {
    let why = match restart {
        Restart::Permanent => "always restarted",
        Restart::Transient => "restarted after a crash",
        Restart::Temporary => "never restarted",
    };
    format!("{restart} ({why})")
}

/// A supervisor's restart intensity: `3 restarts in 5 s`.
pub fn intensity(max_restarts: u32, max_seconds: u32) -> String {
    let plural = if max_restarts == 1 { "" } else { "s" };
    format!("{max_restarts} restart{plural} in {max_seconds} s")
}

/// A supervisor's restart budget: `2 of 3 in the last 5 s: 1 left`, and `gives up at the next`
/// when none is left.
pub fn restart_budget(budget: &otpscope_contract::RestartBudget) -> String {
    let head = format!(
        "{} of {} in the last {} s",
        budget.used, budget.max_restarts, budget.max_seconds
    );
    match budget.left() {
        0 => format!("{head}: gives up at the next"),
        left => format!("{head}: {left} left"),
    }
}

/// An uptime that ticks once a second on screen: whole seconds below a minute (`42 s`), then
/// as [`duration_ms`] (`3m 07s`). A tenth of a second would promise a precision a view
/// repainted once a second does not keep.
pub fn uptime_ms(ms: u64) -> String {
    if (1_000..60_000).contains(&ms) {
        format!("{} s", ms / 1000)
    } else {
        duration_ms(ms)
    }
}

// === Counts ===

/// A counted noun: `1 process`, `12,000 processes`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(n as u64),
        if n == 1 { one } else { many }
    )
}

/// A count for a small badge: `999`, `1.2k`, `120k`.
pub fn compact(n: usize) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=99_999 => format!("{:.1}k", n as f32 / 1000.0),
        _ => format!("{}k", n / 1000),
    }
}

/// An interval offered in a menu: `200 ms`, `1 s`.
pub fn interval_ms(ms: u64) -> String {
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// A chart's window offered in a menu: `30 s`, `2 min`.
pub fn window_s(s: u32) -> String {
    if s >= 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

// === Commands and replies ===

/// How an app command reads in a reply or a notice: its button's label and the arguments
/// the user gave, in the order the app asks them (`Get shopping milk`); with no spec, its
/// name and every argument.
pub fn app_command(command: &AppCommand, spec: Option<&CommandSpec>) -> String {
    let value = |value: &ArgValue| match value {
        ArgValue::Text(text) => text.clone(),
        ArgValue::Integer(value) => thousands(value.unsigned_abs()),
        ArgValue::Pid(pid) => pid.to_string(),
    };
    let (head, args): (String, Vec<String>) = match spec {
        Some(spec) => (
            spec.label.clone(),
            spec.args
                .iter()
                .filter_map(|arg| command.args.get(&arg.name).map(value))
                .collect(),
        ),
        None => (command.to_string(), Vec::new()),
    };
    std::iter::once(head)
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a command reads in a notice, each process named by `name_of` (see [`label_or_pid`]):
/// `exit(KV.Registry <0.3.0>, kill)`, `terminate_child(KV.Supervisor <0.1.0>, KV.Registry)`,
/// an app command as [`app_command`] says it.
pub fn command(
    command: &Command,
    name_of: impl Fn(Pid) -> String,
    capabilities: &Capabilities,
) -> String {
    match command {
        Command::Exit { pid, reason } => format!("exit({}, {reason})", name_of(*pid)),
        Command::GetState { pid } => format!("state of {}", name_of(*pid)),
        Command::App(command) => {
            let spec = capabilities
                .app(&command.app)
                .and_then(|app| app.command_of(command));
            app_command(command, spec)
        }
        Command::WhichChildren { supervisor } => {
            format!("which_children({})", name_of(*supervisor))
        }
        Command::TerminateChild { supervisor, child } => {
            format!("terminate_child({}, {child})", name_of(*supervisor))
        }
        Command::RestartChild { supervisor, id } => {
            format!("restart_child({}, {id})", name_of(*supervisor))
        }
        Command::DeleteChild { supervisor, id } => {
            format!("delete_child({}, {id})", name_of(*supervisor))
        }
        Command::StopSupervisor { supervisor, reason } => {
            format!("stop({}, {reason})", name_of(*supervisor))
        }
        Command::RestartApp => "restart the app".to_owned(),
    }
}

/// A value read, as Elixir prints it: `"3"`, or `nil` when absent.
pub fn value(value: &Option<String>) -> String {
    value
        .as_ref()
        .map_or_else(|| "nil".to_owned(), |value| format!("{value:?}"))
}

#[cfg(test)]
mod tests {
    use otpscope_contract::{AppSpec, ArgKind, ArgSpec, ExitReason, Strategy};

    use super::*;

    fn registry() -> ProcessInfo {
        ProcessInfo {
            name: Some("KV.Registry".into()),
            restart: Some(Restart::Permanent),
            restarts: 2,
            ..ProcessInfo::new(Pid(3), ProcessKind::Server, "KV.Registry")
        }
    }

    #[test]
    fn a_process_reads_as_its_name_and_pid_with_a_detail_line() {
        let info = registry();
        assert_eq!(label(&info), "KV.Registry <0.3.0>");
        assert_eq!(label_or_pid(Pid(3), Some(&info)), "KV.Registry <0.3.0>");
        assert_eq!(label_or_pid(Pid(7), None), "<0.7.0>");
        assert_eq!(detail(&info), "server · permanent · restarts 2");
        let sup = ProcessKind::Supervisor {
            strategy: Strategy::OneForAll,
            max_restarts: 3,
            max_seconds: 5,
        };
        assert_eq!(kind_phrase(&sup), "supervisor, one_for_all");
        assert_eq!(kind_word(&ProcessKind::Plain), "plain");
        assert_eq!(status_word(Status::Exiting), Status::Exiting.to_string());
        assert_eq!(
            restart_phrase(Restart::Temporary),
            "temporary (never restarted)"
        );
        assert_eq!(intensity(1, 5), "1 restart in 5 s");
    }

    #[test]
    fn counts_and_uptimes_read_at_a_glance() {
        assert_eq!(count(1, "process", "processes"), "1 process");
        assert_eq!(count(12_000, "process", "processes"), "12,000 processes");
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1_234), "1.2k");
        assert_eq!(compact(120_000), "120k");
        assert_eq!(uptime_ms(850), "850 ms");
        assert_eq!(uptime_ms(42_900), "42 s");
        assert_eq!(uptime_ms(187_000), duration_ms(187_000));
        assert_eq!(interval_ms(200), "200 ms");
        assert_eq!(interval_ms(1000), "1 s");
        assert_eq!(interval_ms(1500), "1500 ms");
        assert_eq!(window_s(120), "2 min");
        assert_eq!(window_s(30), "30 s");
    }

    #[test]
    fn commands_read_with_names_and_app_commands_with_their_labels() {
        let bucket = ArgSpec::new("bucket", "Bucket", ArgKind::Text);
        let key = ArgSpec::new("key", "Key", ArgKind::Text);
        let app = AppSpec {
            name: "kv".into(),
            title: "KV".into(),
            prompt: None,
            commands: vec![CommandSpec::new("get", "Get").arg(bucket).arg(key)],
        };
        let get = AppCommand::new("kv", "get")
            .arg("key", "milk")
            .arg("bucket", "shopping");
        assert_eq!(
            app_command(&get, app.command("get")),
            "Get shopping milk",
            "in the order the app asks them"
        );
        assert_eq!(
            app_command(&get, None),
            "kv get bucket=\"shopping\" key=\"milk\""
        );
        let name_of = |pid: Pid| label_or_pid(pid, (pid == Pid(3)).then(registry).as_ref());
        let capabilities = Capabilities::default();
        let exit = Command::Exit {
            pid: Pid(3),
            reason: ExitReason::Kill,
        };
        assert_eq!(
            command(&exit, name_of, &capabilities),
            "exit(KV.Registry <0.3.0>, kill)"
        );
        assert_eq!(value(&Some("3".into())), "\"3\"");
        assert_eq!(value(&None), "nil");
    }
}
