//! How the contract's values read, the same in every view: the Observer, the CLI, and the
//! model's own `Display`. Numbers are grouped by thousands, durations read at a glance, a
//! process is its name then its pid, and an event is one sentence.

use crate::{Command, EventKind, Pid};

/// `1234567` as `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A rate per second: `0`, `0.4`, `12`, `1,234`.
pub fn rate(per_second: f64) -> String {
    if per_second <= 0.0 {
        "0".to_owned()
    } else if per_second < 10.0 {
        format!("{per_second:.1}")
    } else {
        thousands(per_second.round() as u64)
    }
}

/// A duration: `850 ms`, `12.4 s`, `3m 07s`, `2h 05m`, `3d 04h`.
pub fn duration_ms(ms: u64) -> String {
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m {:02}s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A time since the node started: `MM:SS.mmm`, or `H:MM:SS.mmm` past an hour.
pub fn clock_ms(ms: u64) -> String {
    let (h, m, s, milli) = (
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000,
    );
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{milli:03}")
    } else {
        format!("{m:02}:{s:02}.{milli:03}")
    }
}

/// A byte count: `512 B`, `12.3 KiB`, `4.1 MiB`, `2.0 GiB`.
pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = count as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{count} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A process as a sentence names it: `KV.Registry <0.3.0>`, or the bare pid when no name is
/// known.
pub fn process(pid: Pid, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{name} {pid}"),
        None => pid.to_string(),
    }
}

/// An event as one sentence, each process named by `name_of` (its registered name or
/// behaviour label, if the view knows it): `KV.Registry <0.3.0> exited: killed`,
/// `KV.Supervisor <0.1.0> restarted KV.Registry: <0.3.0> -> <0.9.0>`. A process spawned
/// that the view does not know is named by the label the event carries.
pub fn event(kind: &EventKind, name_of: impl Fn(Pid) -> Option<String>) -> String {
    let name = |pid: Pid| process(pid, name_of(pid).as_deref());
    match kind {
        EventKind::Spawned { pid, parent, label } => {
            let who = process(
                *pid,
                Some(&name_of(*pid).unwrap_or_else(|| label.to_string())),
            );
            match parent {
                Some(parent) => format!("{who} spawned by {}", name(*parent)),
                None => format!("{who} spawned"),
            }
        }
        EventKind::Exited { pid, reason } => format!("{} exited: {reason}", name(*pid)),
        EventKind::Restarted {
            supervisor,
            child_id,
            old,
            new,
        } => format!("{} restarted {child_id}: {old} -> {new}", name(*supervisor)),
        EventKind::Linked { a, b } => format!("{} linked to {}", name(*a), name(*b)),
        EventKind::Unlinked { a, b } => format!("{} unlinked from {}", name(*a), name(*b)),
        EventKind::SupervisorGaveUp {
            supervisor,
            child_id,
            reason,
        } => format!(
            "{} gave up: too many restarts ({child_id} exited: {reason})",
            name(*supervisor)
        ),
        EventKind::Command { from, command, .. } => format!("{from} sent: {command}"),
    }
}

/// A command as one line (`exit <0.42.0> killed`, `terminate_child <0.2.0> registry`,
/// `kv put bucket="shopping" key="milk" value="3"`), for feeds and logs.
pub fn command(command: &Command) -> String {
    match command {
        Command::Exit { pid, reason } => format!("exit {pid} {reason}"),
        Command::GetState { pid } => format!("get_state {pid}"),
        Command::WhichChildren { supervisor } => format!("which_children {supervisor}"),
        Command::TerminateChild { supervisor, child } => {
            format!("terminate_child {supervisor} {child}")
        }
        Command::RestartChild { supervisor, id } => format!("restart_child {supervisor} {id}"),
        Command::DeleteChild { supervisor, id } => format!("delete_child {supervisor} {id}"),
        Command::StopSupervisor { supervisor, reason } => format!("stop {supervisor} {reason}"),
        Command::RestartApp => "restart_app".to_owned(),
        Command::App(app) => {
            let mut text = format!("{} {}", app.app, app.name);
            for (name, value) in &app.args {
                text.push_str(&format!(" {name}={value}"));
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitReason;

    #[test]
    fn commands_read_as_one_line() {
        let exit = Command::Exit {
            pid: Pid(42),
            reason: ExitReason::Killed,
        };
        assert_eq!(command(&exit), "exit <0.42.0> killed");
        assert_eq!(exit.target(), Some(Pid(42)));
        let put = Command::App(
            crate::AppCommand::new("kv", "put")
                .arg("bucket", "shopping")
                .arg("key", "milk"),
        );
        assert_eq!(command(&put), r#"kv put bucket="shopping" key="milk""#);
        assert_eq!(put.target(), None);
        assert_eq!(command(&Command::RestartApp), "restart_app");
    }

    #[test]
    fn numbers_and_durations_read_at_a_glance() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(0.44), "0.4");
        assert_eq!(rate(1234.4), "1,234");
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(12_400), "12.4 s");
        assert_eq!(duration_ms(187_000), "3m 07s");
        assert_eq!(duration_ms(7_500_000), "2h 05m");
        assert_eq!(duration_ms(273_600_000), "3d 04h");
        assert_eq!(clock_ms(61_005), "01:01.005");
        assert_eq!(clock_ms(3_661_005), "1:01:01.005");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(4 * 1024 * 1024 + 100_000), "4.1 MiB");
    }

    #[test]
    fn events_read_as_one_sentence_with_names() {
        let names = |pid: Pid| (pid == Pid(3)).then(|| "KV.Registry".to_owned());
        let spawned = EventKind::Spawned {
            pid: Pid(5),
            parent: Some(Pid(3)),
            label: "KV.Bucket".into(),
        };
        assert_eq!(
            event(&spawned, names),
            "KV.Bucket <0.5.0> spawned by KV.Registry <0.3.0>"
        );
        let exited = EventKind::Exited {
            pid: Pid(3),
            reason: ExitReason::Killed,
        };
        assert_eq!(event(&exited, names), "KV.Registry <0.3.0> exited: killed");
        let restarted = EventKind::Restarted {
            supervisor: Pid(1),
            child_id: "KV.Registry".into(),
            old: Pid(3),
            new: Pid(9),
        };
        assert_eq!(
            event(&restarted, names),
            "<0.1.0> restarted KV.Registry: <0.3.0> -> <0.9.0>"
        );
    }
}
