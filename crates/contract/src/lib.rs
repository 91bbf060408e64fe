//! The contract between a source of process data and every view of it: pure serde data.
//!
//! Nothing here refers to the runtime. The in-process runtime, a remote node, a recording or
//! (later) a BEAM node all produce these types, and the Observer consumes only them. Every type
//! has one serde form that reads well in JSON (`otpscope dump --json`) and works in compact
//! binary formats ([`binary`]: the remote wire and recordings), versioned by
//! [`FORMAT_VERSION`].
//!
//! Two things a reader must know:
//! - A view holds one [`Snapshot`] and keeps it current with [`Snapshot::apply`]: a source sends
//!   a full snapshot first, then [`Delta`]s, each naming the sequence number it follows
//!   (`from_seq`), and an ordered [`Event`] feed beside them (see [`Update`]).
//! - Times are milliseconds: `*_ms` fields count from the node's start (exact and comparable
//!   between snapshots), `*_unix_ms` fields are wall-clock time.
//!   [`Snapshot::node_started_at_unix_ms`] turns the first into the second.

pub mod binary;
mod budget;
mod capabilities;
mod command;
pub mod format;
mod intern;
mod load;
mod pid;
mod process;
mod process_table;
#[cfg(feature = "recording")]
pub mod recording;
mod snapshot;
mod update;

pub use budget::RestartBudget;
pub use capabilities::{AppSpec, ArgKind, ArgSpec, Capabilities, CommandSpec, OnProcess};
pub use command::{
    AppCommand, ArgValue, ChildRef, ChildRow, Command, CommandError, Progress, Reply, StateRow,
};
pub use load::{LoadCounts, LoadPoint};
pub use pid::{ParsePidError, Pid};
pub use process::{
    ExitReason, PidList, ProcessInfo, ProcessKind, Restart, Shutdown, Status, Strategy, VmFacts,
};
pub use snapshot::{ApplyError, PartOut, Snapshot, SnapshotHead, SnapshotPart};
pub use update::{Delta, Event, EventKind, Removed, Update};

/// Building snapshots fast, for sources that read a large node: processes read in runs
/// ([`ReadRun`], then [`Snapshot::from_runs`]) and deltas made in place from changed
/// processes ([`Snapshot::update_in_place`], with a [`Cursor`] over ascending pids). Views
/// never need these; they hold a [`Snapshot`] and [`Snapshot::apply`] deltas.
pub mod build {
    pub use crate::process_table::{Cursor, ReadRun};
    pub use crate::snapshot::InPlace;
}

/// The version of this model's serde form; bumped when a change would mislead an older reader
/// (in the positional [`binary`] form, any added, removed or reordered field or variant).
///
/// 2: every field always written (no skipped empties), enums tagged externally
/// (`{"exited": {..}}`), an event's kind in its own `kind` field, pids binary as serials.
/// 3: `ProcessInfo::recent_restarts_ms` (a supervisor's restarts against its intensity), last.
/// 4: `ProcessInfo::vm` (memory, reductions, current and initial call, from a BEAM node),
/// last; pids with a serial (`<0.ID.SERIAL>`) as `SERIAL << 32 | ID`.
pub const FORMAT_VERSION: u32 = 4;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;

    #[test]
    fn pid_prints_like_beam_and_parses_back() {
        assert_eq!(Pid(42).to_string(), "<0.42.0>");
        assert_eq!("<0.42.0>".parse::<Pid>().unwrap(), Pid(42));
        assert_eq!(" 0.7.0 ".parse::<Pid>().unwrap(), Pid(7));
        assert!("<0.42>".parse::<Pid>().is_err());
        assert!("<1.42.0>".parse::<Pid>().is_err());
        assert!("<0.x.0>".parse::<Pid>().is_err());
        assert_eq!(serde_json::to_string(&Pid(3)).unwrap(), "\"<0.3.0>\"");
        assert_eq!(serde_json::from_str::<Pid>("\"<0.3.0>\"").unwrap(), Pid(3));
        assert_eq!(binary::encode(&Pid(300)).unwrap(), [0xac, 0x02]);
        assert_eq!(binary::decode::<Pid>(&[0xac, 0x02]).unwrap(), Pid(300));
    }

    #[test]
    fn exit_reasons_round_trip_as_text_and_json() {
        let reasons = [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::ShutdownWith("bye".into()),
            ExitReason::Kill,
            ExitReason::Killed,
            ExitReason::NoProc,
            ExitReason::Panic("index out of bounds".into()),
            ExitReason::custom("boom"),
        ];
        for reason in reasons {
            assert_eq!(ExitReason::parse(&reason.to_string()), reason);
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(serde_json::from_str::<ExitReason>(&json).unwrap(), reason);
        }
        assert_eq!(ExitReason::parse(":boom"), ExitReason::custom("boom"));
        assert_eq!(
            ExitReason::parse("shutdown:bye"),
            ExitReason::ShutdownWith("bye".into())
        );
        assert_eq!(
            serde_json::to_string(&ExitReason::NoProc).unwrap(),
            "\"noproc\""
        );
        assert!(ExitReason::ShutdownWith("x".into()).is_normal_or_shutdown());
        assert!(!ExitReason::Killed.is_normal_or_shutdown());
    }

    #[test]
    fn updates_events_and_commands_round_trip_through_json_and_binary() {
        let updates = vec![
            Update::Delta(Delta {
                seq: 2,
                from_seq: 1,
                taken_at_unix_ms: 5,
                added: vec![Arc::new(ProcessInfo::new(
                    Pid(4),
                    ProcessKind::Plain,
                    "process",
                ))],
                changed: Vec::new(),
                removed: vec![Removed {
                    pid: Pid(3),
                    reason: ExitReason::Panic("oops".into()),
                }],
            }),
            Update::Events {
                events: vec![
                    Event {
                        seq: 7,
                        at_ms: 12,
                        kind: EventKind::Restarted {
                            supervisor: Pid(1),
                            child_id: "registry".into(),
                            old: Pid(2),
                            new: Pid(9),
                        },
                    },
                    Event {
                        seq: 8,
                        at_ms: 13,
                        kind: EventKind::SupervisorGaveUp {
                            supervisor: Pid(1),
                            child_id: "registry".into(),
                            reason: ExitReason::Killed,
                        },
                    },
                ],
                missed: 3,
            },
        ];
        for update in updates {
            let json = serde_json::to_string(&update).unwrap();
            assert_eq!(serde_json::from_str::<Update>(&json).unwrap(), update);
            let bytes = binary::encode(&update).unwrap();
            assert_eq!(binary::decode::<Update>(&bytes).unwrap(), update);
        }
        let command = Command::Exit {
            pid: Pid(42),
            reason: ExitReason::custom("boom"),
        };
        let json = serde_json::to_string(&command).unwrap();
        assert_eq!(
            json,
            r#"{"exit":{"pid":"<0.42.0>","reason":{"custom":"boom"}}}"#
        );
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), command);
        // Variant 0, pid 42, reason variant 7 ("custom"), then the text "boom".
        assert_eq!(
            binary::encode(&command).unwrap(),
            [0, 42, 7, 4, b'b', b'o', b'o', b'm']
        );
        let app = Command::App(
            AppCommand::new("kv", "get")
                .arg("bucket", "b")
                .arg("key", "k"),
        );
        let json = serde_json::to_string(&app).unwrap();
        assert_eq!(
            json,
            r#"{"app":{"app":"kv","name":"get","args":{"bucket":{"text":"b"},"key":{"text":"k"}}}}"#
        );
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), app);
        let bytes = binary::encode(&app).unwrap();
        assert_eq!(binary::decode::<Command>(&bytes).unwrap(), app);
        assert!(binary::decode::<Command>(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(binary::decode::<Command>(&longer).is_err());
    }

    #[test]
    fn progress_reads_as_numbers_of_what_it_counts_and_round_trips() {
        let progress = Progress::new(412_000, 1_000_000, "buckets created");
        assert_eq!(progress.to_string(), "412,000 of 1,000,000 buckets created");
        assert!((progress.fraction() - 0.412).abs() < 1e-9);
        assert_eq!(Progress::new(3, 7, "").to_string(), "3 of 7");
        assert_eq!(Progress::new(0, 0, "").fraction(), 1.0);
        assert_eq!(
            Progress::new(9, 4, "").fraction(),
            1.0,
            "never past the end"
        );
        let json = serde_json::to_string(&progress).unwrap();
        assert_eq!(
            json,
            r#"{"done":412000,"total":1000000,"text":"buckets created"}"#
        );
        assert_eq!(serde_json::from_str::<Progress>(&json).unwrap(), progress);
        let bytes = binary::encode(&progress).unwrap();
        assert_eq!(binary::decode::<Progress>(&bytes).unwrap(), progress);
    }

    #[test]
    fn command_errors_read_as_lowercase_sentences() {
        assert_eq!(
            CommandError::NoProcess(Pid(9)).to_string(),
            "no process <0.9.0>"
        );
        assert_eq!(
            CommandError::Dead {
                pid: Pid(9),
                reason: ExitReason::Killed
            }
            .to_string(),
            "process <0.9.0> is dead (exited: killed)"
        );
        assert_eq!(
            CommandError::NotSupported("create_bucket: no app handler".into()).to_string(),
            "not supported: create_bucket: no app handler"
        );
        assert_eq!(
            CommandError::Timeout { timeout_ms: 5000 }.to_string(),
            "timed out after 5000 ms"
        );
    }

    #[test]
    fn event_kinds_name_their_processes() {
        let kind = EventKind::Spawned {
            pid: Pid(5),
            parent: Some(Pid(1)),
            label: "KV.Bucket".into(),
        };
        assert_eq!(kind.pid(), Some(Pid(5)));
        assert_eq!(kind.pids(), vec![Pid(5), Pid(1)]);
        assert_eq!(kind.to_string(), "KV.Bucket <0.5.0> spawned by <0.1.0>");
    }
}
