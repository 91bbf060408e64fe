//! The table's rows and columns, the samples gathered for each cell, and running one
//! workload on one Rust library.
//!
//! Every figure is "lower is better" (casts are given in ns per cast, not casts per second),
//! so a ratio above 1 always means this runtime is ahead.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;

use crate::alloc::live_bytes;
use crate::common::{Sizes, WorkersSample, on_fresh_runtime};
use crate::{floor, kameo_peer, otp, ractor_peer};

/// A column: one library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Lib {
    /// This runtime.
    Otp,
    /// ractor with ractor-supervisor.
    Ractor,
    /// kameo.
    Kameo,
    /// Plain tokio: the floor.
    Tokio,
    /// Erlang/OTP through Elixir.
    Beam,
}

impl Lib {
    /// The Rust libraries, in the order they run within a round.
    pub(crate) const RUST: [Lib; 4] = [Lib::Otp, Lib::Ractor, Lib::Kameo, Lib::Tokio];

    /// The column's heading.
    pub(crate) fn heading(self) -> &'static str {
        match self {
            Lib::Otp => "otpscope",
            Lib::Ractor => "ractor",
            Lib::Kameo => "kameo",
            Lib::Tokio => "tokio (floor)",
            Lib::Beam => "BEAM",
        }
    }

    /// The name `--libs` takes.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Lib::Otp => "otpscope",
            Lib::Ractor => "ractor",
            Lib::Kameo => "kameo",
            Lib::Tokio => "tokio",
            Lib::Beam => "beam",
        }
    }

    /// Whether it competes for the lead (the floor does not: it is not a library).
    pub(crate) fn is_peer(self) -> bool {
        !matches!(self, Lib::Tokio)
    }
}

/// A row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Row {
    /// 1. Start the workers one at a time under a supervisor (ms for all of them).
    Start,
    /// 2. Memory per idle supervised worker (bytes).
    Memory,
    /// 3. Stop the supervisor, everything freed (ms).
    Stop,
    /// 4a. Casts, one sender to one server (ns per cast).
    CastOne,
    /// 4b. Casts, 100 senders to one server (ns per cast).
    CastMany,
    /// 5a. Call round trip, each library's default call (ns).
    Call,
    /// 5b. Call round trip with a 5 s timeout, in every library (ns).
    CallTimeout,
    /// 6. Restart latency (µs).
    Restart,
    /// 7. Ring (ms for all hops).
    Ring,
    /// 8. Restart storm (ms until all are back).
    Storm,
}

impl Row {
    /// Every row, in the table's order.
    pub(crate) const ALL: [Row; 10] = [
        Row::Start,
        Row::Memory,
        Row::Stop,
        Row::CastOne,
        Row::CastMany,
        Row::Call,
        Row::CallTimeout,
        Row::Restart,
        Row::Ring,
        Row::Storm,
    ];

    /// The name the BEAM script prints for it.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Row::Start => "start",
            Row::Memory => "memory",
            Row::Stop => "stop",
            Row::CastOne => "cast_one",
            Row::CastMany => "cast_many",
            Row::Call => "call",
            Row::CallTimeout => "call_timeout",
            Row::Restart => "restart",
            Row::Ring => "ring",
            Row::Storm => "storm",
        }
    }

    /// The row parsed from its key.
    pub(crate) fn from_key(key: &str) -> Option<Row> {
        Row::ALL.into_iter().find(|row| row.key() == key)
    }

    /// The row's label in the table.
    pub(crate) fn label(self, sizes: &Sizes) -> String {
        match self {
            Row::Start => format!(
                "1. start {} workers one at a time under a supervisor",
                thousands(sizes.workers)
            ),
            Row::Memory => "2. memory per idle supervised worker".to_owned(),
            Row::Stop => format!(
                "3. stop a supervisor of {} children, all freed",
                thousands(sizes.workers)
            ),
            Row::CastOne => format!("4a. casts, one to one ({} casts)", thousands(sizes.casts)),
            Row::CastMany => format!(
                "4b. casts, {} senders to one ({} casts)",
                sizes.senders,
                thousands(sizes.senders * sizes.casts_per_sender)
            ),
            Row::Call => {
                "5a. call round trip, the library's default call (otpscope, BEAM: 5 s timeout; \
                 ractor, kameo, tokio: none)"
                    .to_owned()
            }
            Row::CallTimeout => "5b. call round trip with a 5 s timeout, everywhere".to_owned(),
            Row::Restart => {
                "6. restart: kill a permanent worker until its successor ran init".to_owned()
            }
            Row::Ring => format!(
                "7. ring of {} passing a token {} times",
                thousands(sizes.ring_processes),
                thousands(sizes.ring_hops)
            ),
            Row::Storm => format!(
                "8. restart storm: {} workers killed, until all are back",
                thousands(sizes.storm_workers)
            ),
        }
    }

    /// The unit of its figures.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Row::Start | Row::Stop | Row::Ring | Row::Storm => "ms",
            Row::Memory => "B",
            Row::CastOne | Row::CastMany | Row::Call | Row::CallTimeout => "ns",
            Row::Restart => "µs",
        }
    }
}

/// 100000 as "100,000".
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A group of rows measured together.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Workload {
    /// Rows 1–3.
    Workers,
    /// Row 4a.
    CastOne,
    /// Row 4b.
    CastMany,
    /// Row 5a.
    Call,
    /// Row 5b.
    CallTimeout,
    /// Row 6.
    Restart,
    /// Row 7.
    Ring,
    /// Row 8.
    Storm,
}

impl Workload {
    /// The name `--only` takes.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Workload::Workers => "workers",
            Workload::CastOne => "cast_one",
            Workload::CastMany => "cast_many",
            Workload::Call => "call",
            Workload::CallTimeout => "call_timeout",
            Workload::Restart => "restart",
            Workload::Ring => "ring",
            Workload::Storm => "storm",
        }
    }

    /// Every workload, in the order they run.
    pub(crate) const ALL: [Workload; 8] = [
        Workload::Workers,
        Workload::CastOne,
        Workload::CastMany,
        Workload::Call,
        Workload::CallTimeout,
        Workload::Restart,
        Workload::Ring,
        Workload::Storm,
    ];
}

/// Every sample taken, by cell.
#[derive(Default)]
pub(crate) struct Samples {
    /// The figures of each cell, in the row's unit, in the order taken.
    pub(crate) cells: BTreeMap<(Row, Lib), Vec<f64>>,
    /// The most bytes left live after a stop of rows 1–3, by library.
    pub(crate) bytes_left: BTreeMap<Lib, isize>,
}

impl Samples {
    /// Records one figure.
    pub(crate) fn push(&mut self, row: Row, lib: Lib, figure: f64) {
        self.cells.entry((row, lib)).or_default().push(figure);
    }

    fn push_workers(&mut self, lib: Lib, sample: WorkersSample, bytes_left: isize) {
        self.push(Row::Start, lib, ms(sample.start));
        self.push(Row::Memory, lib, sample.bytes_per_worker);
        self.push(Row::Stop, lib, ms(sample.stop));
        let left = self.bytes_left.entry(lib).or_insert(isize::MIN);
        *left = (*left).max(bytes_left);
    }
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}

fn ns_each(elapsed: Duration, n: usize) -> f64 {
    elapsed.as_secs_f64() * 1e9 / n as f64
}

fn us_each(elapsed: Duration, n: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n as f64
}

/// Runs `workload` once on `lib`, on a fresh runtime, and records its figures into `samples`
/// when `samples` is given (a warm-up passes none). Every check failing is an error.
pub(crate) fn run(
    lib: Lib,
    workload: Workload,
    sizes: &Sizes,
    mut samples: Option<&mut Samples>,
) -> Result<()> {
    let s = *sizes;
    let mut record = |row: Row, figure: f64| {
        if let Some(samples) = samples.as_deref_mut() {
            samples.push(row, lib, figure);
        }
    };
    match workload {
        Workload::Workers => {
            let before = live_bytes();
            let sample = match lib {
                Lib::Otp => on_fresh_runtime(|| otp::workers(s.workers))?,
                Lib::Ractor => on_fresh_runtime(|| ractor_peer::workers(s.workers))?,
                Lib::Kameo => on_fresh_runtime(|| kameo_peer::workers(s.workers))?,
                Lib::Tokio => on_fresh_runtime(|| floor::workers(s.workers))?,
                Lib::Beam => anyhow::bail!("the BEAM runs from its script"),
            };
            // Once the round is over and its runtime dropped, what is still live is what the
            // library keeps in globals (ractor's name registry keeps its capacity, for one).
            // Workers not freed would leave all they held; half of it fails the round.
            let bytes_left = live_bytes() - before;
            let held = sample.bytes_per_worker * s.workers as f64;
            anyhow::ensure!(
                (bytes_left as f64) < held / 2.0,
                "{}: {bytes_left} bytes still live after the stop of {} workers (which held \
                 {held:.0}) and the end of their runtime",
                lib.heading(),
                s.workers
            );
            if let Some(samples) = samples {
                samples.push_workers(lib, sample, bytes_left);
            }
        }
        Workload::CastOne => {
            let elapsed = match lib {
                Lib::Otp => on_fresh_runtime(|| otp::casts_one(s.casts))?,
                Lib::Ractor => on_fresh_runtime(|| ractor_peer::casts_one(s.casts))?,
                Lib::Kameo => on_fresh_runtime(|| kameo_peer::casts_one(s.casts))?,
                Lib::Tokio => on_fresh_runtime(|| floor::casts_one(s.casts))?,
                Lib::Beam => anyhow::bail!("the BEAM runs from its script"),
            };
            record(Row::CastOne, ns_each(elapsed, s.casts));
        }
        Workload::CastMany => {
            let (senders, each) = (s.senders, s.casts_per_sender);
            let elapsed = match lib {
                Lib::Otp => on_fresh_runtime(|| otp::casts_many(senders, each))?,
                Lib::Ractor => on_fresh_runtime(|| ractor_peer::casts_many(senders, each))?,
                Lib::Kameo => on_fresh_runtime(|| kameo_peer::casts_many(senders, each))?,
                Lib::Tokio => on_fresh_runtime(|| floor::casts_many(senders, each))?,
                Lib::Beam => anyhow::bail!("the BEAM runs from its script"),
            };
            record(Row::CastMany, ns_each(elapsed, senders * each));
        }
        Workload::Call | Workload::CallTimeout => {
            let (n, row, timeout) = match workload {
                Workload::Call => (s.calls, Row::Call, None),
                _ => (s.calls, Row::CallTimeout, Some(Duration::from_secs(5))),
            };
            let elapsed = match lib {
                Lib::Otp => on_fresh_runtime(|| otp::calls(n, timeout))?,
                Lib::Ractor => on_fresh_runtime(|| ractor_peer::calls(n, timeout))?,
                Lib::Kameo => on_fresh_runtime(|| kameo_peer::calls(n, timeout))?,
                Lib::Tokio => on_fresh_runtime(|| floor::calls(n, timeout))?,
                Lib::Beam => anyhow::bail!("the BEAM runs from its script"),
            };
            record(row, ns_each(elapsed, n));
        }
        Workload::Restart => {
            let elapsed = match lib {
                Lib::Otp => on_fresh_runtime(|| otp::restarts(s.restarts))?,
                Lib::Ractor => on_fresh_runtime(|| ractor_peer::restarts(s.restarts))?,
                Lib::Kameo => on_fresh_runtime(|| kameo_peer::restarts(s.restarts))?,
                Lib::Tokio => on_fresh_runtime(|| floor::restarts(s.restarts))?,
                Lib::Beam => anyhow::bail!("the BEAM runs from its script"),
            };
            record(Row::Restart, us_each(elapsed, s.restarts));
        }
        Workload::Ring => {
            let (processes, hops) = (s.ring_processes, s.ring_hops);
            let elapsed = match lib {
                Lib::Otp => on_fresh_runtime(|| otp::ring(processes, hops))?,
                Lib::Ractor => on_fresh_runtime(|| ractor_peer::ring(processes, hops))?,
                Lib::Kameo => on_fresh_runtime(|| kameo_peer::ring(processes, hops))?,
                Lib::Tokio => on_fresh_runtime(|| floor::ring(processes, hops))?,
                Lib::Beam => anyhow::bail!("the BEAM runs from its script"),
            };
            record(Row::Ring, ms(elapsed));
        }
        Workload::Storm => {
            let elapsed = match lib {
                Lib::Otp => on_fresh_runtime(|| otp::storm(s.storm_workers))?,
                Lib::Ractor => on_fresh_runtime(|| ractor_peer::storm(s.storm_workers))?,
                Lib::Kameo => on_fresh_runtime(|| kameo_peer::storm(s.storm_workers))?,
                Lib::Tokio => on_fresh_runtime(|| floor::storm(s.storm_workers))?,
                Lib::Beam => anyhow::bail!("the BEAM runs from its script"),
            };
            record(Row::Storm, ms(elapsed));
        }
    }
    Ok(())
}
