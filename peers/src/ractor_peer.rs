//! The workloads on ractor, with `ractor-supervisor` for OTP's strategies, restart types and
//! restart intensity (ractor itself gives links and supervision events, not strategies).
//!
//! Where it differs from the others, because the libraries do:
//! - `ractor-supervisor` requires every child to have a name, which ractor registers in its
//!   global registry; the names here are unique per run (`peers-7-w123`).
//! - Stopping a supervisor (row 3) kills its children (ractor's `terminate` on exit); it does
//!   not wait for them, so the time runs until every worker's state was dropped.
//! - `Supervisor` (static) finds a child's spec by a linear search of its names at each exit
//!   and each start; that is the library's cost in rows 6 and 8.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use ractor::concurrency::JoinHandle;
use ractor::rpc::CallResult;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort};
use ractor_supervisor::{
    ChildSpec, DynamicSupervisor, DynamicSupervisorOptions, Restart, SpawnFn, Supervisor,
    SupervisorArguments, SupervisorOptions, SupervisorStrategy,
};
use tokio::sync::mpsc;

use crate::common::{
    Live, Weigh, WorkersSample, all_workers_freed, ensure_each_back_once, ensure_live, shuffled,
    timed,
};

/// Where a worker's `pre_start` reports its index and cell (rows 6 and 8).
type Reports = mpsc::UnboundedSender<(usize, ActorCell)>;

/// A name prefix no earlier run in this process used (ractor's registry is global).
fn prefix() -> String {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    format!("peers-{}", RUNS.fetch_add(1, Ordering::Relaxed))
}

/// The worker of every supervised row and the server of rows 4 and 5.
struct Worker;

/// What the worker is given at each start.
#[derive(Clone)]
struct Args {
    /// Its place among its siblings, for its report.
    index: usize,
    /// Where `pre_start` reports, if anywhere.
    reports: Option<Reports>,
}

/// The worker's state.
struct State {
    /// Counts it live from its start to its drop.
    _live: Live,
    /// Casts handled.
    casts: u64,
}

/// What the worker gets.
enum Msg {
    /// Answer the number plus one.
    Echo(u64, RpcReplyPort<u64>),
    /// Answer how many casts it handled.
    Casts(RpcReplyPort<u64>),
    /// Count one.
    Cast,
}

impl Actor for Worker {
    type Msg = Msg;
    type State = State;
    type Arguments = Args;

    async fn pre_start(
        &self,
        myself: ActorRef<Msg>,
        args: Args,
    ) -> Result<State, ActorProcessingErr> {
        if let Some(reports) = &args.reports {
            reports.send((args.index, myself.get_cell())).ok();
        }
        Ok(State {
            _live: Live::new(),
            casts: 0,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Msg>,
        msg: Msg,
        state: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Echo(n, reply) => reply.send(n + 1)?,
            Msg::Casts(reply) => reply.send(state.casts)?,
            Msg::Cast => state.casts += 1,
        }
        Ok(())
    }
}

/// A worker's child spec: permanent, named `id`.
fn worker_spec(id: String, args: Args) -> ChildSpec {
    ChildSpec {
        id,
        restart: Restart::Permanent,
        spawn_fn: SpawnFn::new(move |supervisor, id| {
            let args = args.clone();
            async move {
                let (worker, _) = Supervisor::spawn_linked(id, Worker, args, supervisor).await?;
                Ok(worker.get_cell())
            }
        }),
        backoff_fn: None,
        reset_after: None,
    }
}

/// Rows 1–3: start `n` workers one at a time under a dynamic supervisor, weigh them, stop it.
pub(crate) async fn workers(n: usize) -> Result<WorkersSample> {
    let prefix = prefix();
    let options = DynamicSupervisorOptions {
        max_children: None,
        max_restarts: 3,
        max_window: Duration::from_secs(5),
        reset_after: None,
    };
    let (supervisor, joined) = DynamicSupervisor::spawn(format!("{prefix}-sup"), options).await?;
    let mut weigh = Weigh::new();
    let ((), start) = timed(async {
        for index in 0..n {
            let args = Args {
                index,
                reports: None,
            };
            DynamicSupervisor::spawn_child(
                supervisor.clone(),
                worker_spec(format!("{prefix}-w{index}"), args),
            )
            .await
            .map_err(|error| anyhow!("start_child: {error}"))?;
        }
        Ok(())
    })
    .await?;
    weigh.started();
    ensure_live(n, "ractor after the starts")?;
    ensure!(
        supervisor.get_children().len() == n,
        "the supervisor lists {} children",
        supervisor.get_children().len()
    );
    let ((), stop) = timed(async {
        supervisor.stop_and_wait(None, None).await?;
        joined.await?;
        all_workers_freed(Duration::from_secs(60)).await
    })
    .await?;
    Ok(weigh.stopped(n, start, stop))
}

async fn server() -> Result<(ActorRef<Msg>, JoinHandle<()>)> {
    Ok(Actor::spawn(
        None,
        Worker,
        Args {
            index: 0,
            reports: None,
        },
    )
    .await?)
}

async fn call<T: Send + 'static>(
    server: &ActorRef<Msg>,
    ask: impl FnOnce(RpcReplyPort<T>) -> Msg,
    timeout: Option<Duration>,
) -> Result<T> {
    match server
        .call(ask, timeout)
        .await
        .map_err(|error| anyhow!("call: {error}"))?
    {
        CallResult::Success(answer) => Ok(answer),
        CallResult::Timeout => bail!("call timed out"),
        CallResult::SenderError => bail!("the server dropped the call"),
    }
}

async fn stop_server(server: ActorRef<Msg>, joined: JoinHandle<()>) -> Result<()> {
    server.stop(None);
    joined.await?;
    Ok(())
}

/// Row 4, one to one.
pub(crate) async fn casts_one(n: usize) -> Result<Duration> {
    let (server, joined) = server().await?;
    let (handled, elapsed) = timed(async {
        for _ in 0..n {
            server
                .cast(Msg::Cast)
                .map_err(|error| anyhow!("cast: {error}"))?;
        }
        call(&server, Msg::Casts, None).await
    })
    .await?;
    ensure!(
        handled == n as u64,
        "the server handled {handled} casts of {n}"
    );
    stop_server(server, joined).await?;
    Ok(elapsed)
}

/// Row 4, many to one.
pub(crate) async fn casts_many(senders: usize, each: usize) -> Result<Duration> {
    let (server, joined) = server().await?;
    let (handled, elapsed) = timed(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..senders {
            let server = server.clone();
            tasks.spawn(async move {
                for _ in 0..each {
                    server
                        .cast(Msg::Cast)
                        .map_err(|error| anyhow!("cast: {error}"))?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(sent) = tasks.join_next().await {
            sent??;
        }
        call(&server, Msg::Casts, None).await
    })
    .await?;
    let total = (senders * each) as u64;
    ensure!(
        handled == total,
        "the server handled {handled} casts of {total}"
    );
    stop_server(server, joined).await?;
    Ok(elapsed)
}

/// Row 5: ractor's call has no timeout unless given one (row 5b).
pub(crate) async fn calls(n: usize, timeout: Option<Duration>) -> Result<Duration> {
    let (server, joined) = server().await?;
    let ((), elapsed) = timed(async {
        for i in 0..n as u64 {
            let answer = call(&server, |reply| Msg::Echo(i, reply), timeout).await?;
            ensure!(answer == i + 1, "call {i} answered {answer}");
        }
        Ok(())
    })
    .await?;
    stop_server(server, joined).await?;
    Ok(elapsed)
}

/// A one_for_one supervisor of `n` permanent workers that never gives up, each worker's first
/// cell, and the reports of the starts to come.
struct Supervised {
    supervisor: ActorRef<ractor_supervisor::SupervisorMsg>,
    joined: JoinHandle<()>,
    cells: Vec<ActorCell>,
    reported: mpsc::UnboundedReceiver<(usize, ActorCell)>,
}

async fn supervised(n: usize) -> Result<Supervised> {
    let prefix = prefix();
    let (reports, mut reported) = mpsc::unbounded_channel();
    let child_specs = (0..n)
        .map(|index| {
            let args = Args {
                index,
                reports: Some(reports.clone()),
            };
            worker_spec(format!("{prefix}-w{index}"), args)
        })
        .collect();
    let options = SupervisorOptions {
        strategy: SupervisorStrategy::OneForOne,
        max_restarts: usize::MAX,
        max_window: Duration::from_secs(1),
        reset_after: None,
    };
    let (supervisor, joined) = Supervisor::spawn(
        format!("{prefix}-sup"),
        SupervisorArguments {
            child_specs,
            options,
        },
    )
    .await?;
    let mut cells = vec![None; n];
    for _ in 0..n {
        let (index, cell) = reported.recv().await.context("a first start")?;
        ensure!(
            cells[index].replace(cell).is_none(),
            "worker {index} started twice"
        );
    }
    let cells = cells.into_iter().flatten().collect();
    Ok(Supervised {
        supervisor,
        joined,
        cells,
        reported,
    })
}

async fn stop_supervised(
    supervisor: ActorRef<ractor_supervisor::SupervisorMsg>,
    joined: JoinHandle<()>,
) -> Result<()> {
    supervisor.stop_and_wait(None, None).await?;
    joined.await?;
    all_workers_freed(Duration::from_secs(60)).await
}

/// Row 6.
pub(crate) async fn restarts(n: usize) -> Result<Duration> {
    let Supervised {
        supervisor,
        joined,
        cells,
        mut reported,
    } = supervised(1).await?;
    let mut cell = cells.into_iter().next().context("the worker")?;
    let ((), elapsed) = timed(async {
        for _ in 0..n {
            let old: ActorId = cell.get_id();
            cell.kill();
            let (_, successor) = reported.recv().await.context("a restart")?;
            ensure!(successor.get_id() != old, "the successor is the old actor");
            cell = successor;
        }
        Ok(())
    })
    .await?;
    stop_supervised(supervisor, joined).await?;
    Ok(elapsed)
}

/// Row 8.
pub(crate) async fn storm(n: usize) -> Result<Duration> {
    let Supervised {
        supervisor,
        joined,
        cells,
        mut reported,
    } = supervised(n).await?;
    let order = shuffled(n);
    let mut back = vec![0_u32; n];
    let ((), elapsed) = timed(async {
        for &index in &order {
            cells[index].kill();
        }
        for _ in 0..n {
            let (index, cell) = reported.recv().await.context("a restart")?;
            ensure!(
                cell.get_id() != cells[index].get_id(),
                "worker {index} came back as its old self"
            );
            back[index] += 1;
        }
        Ok(())
    })
    .await?;
    ensure_each_back_once(&back, "ractor storm")?;
    ensure_live(n, "ractor after the storm")?;
    stop_supervised(supervisor, joined).await?;
    Ok(elapsed)
}

/// A ring member.
struct Member;

/// What a ring member gets.
enum Ring {
    /// The member after it.
    Next(ActorRef<Ring>),
    /// The token, with the hops still to make.
    Token(usize),
}

/// A ring member's state.
struct MemberState {
    index: usize,
    next: Option<ActorRef<Ring>>,
    done: mpsc::UnboundedSender<usize>,
}

impl Actor for Member {
    type Msg = Ring;
    type State = MemberState;
    type Arguments = (usize, mpsc::UnboundedSender<usize>);

    async fn pre_start(
        &self,
        _myself: ActorRef<Ring>,
        (index, done): (usize, mpsc::UnboundedSender<usize>),
    ) -> Result<MemberState, ActorProcessingErr> {
        Ok(MemberState {
            index,
            next: None,
            done,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Ring>,
        msg: Ring,
        state: &mut MemberState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Ring::Next(next) => state.next = Some(next),
            Ring::Token(0) => {
                state.done.send(state.index).ok();
            }
            Ring::Token(left) => {
                if let Some(next) = &state.next {
                    next.cast(Ring::Token(left - 1))?;
                }
            }
        }
        Ok(())
    }
}

/// Row 7.
pub(crate) async fn ring(processes: usize, hops: usize) -> Result<Duration> {
    let (done, mut finished) = mpsc::unbounded_channel();
    let mut members = Vec::with_capacity(processes);
    for index in 0..processes {
        members.push(Actor::spawn(None, Member, (index, done.clone())).await?);
    }
    for (index, (member, _)) in members.iter().enumerate() {
        let next = members[(index + 1) % processes].0.clone();
        member
            .cast(Ring::Next(next))
            .map_err(|error| anyhow!("linking the ring: {error}"))?;
    }
    let started = Instant::now();
    members[0]
        .0
        .cast(Ring::Token(hops))
        .map_err(|error| anyhow!("the first hop: {error}"))?;
    let last = finished.recv().await.context("the token never came back")?;
    let elapsed = started.elapsed();
    if last != hops % processes {
        bail!(
            "the token stopped at member {last}, expected {}",
            hops % processes
        );
    }
    for (member, joined) in members {
        member.stop(None);
        joined.await?;
    }
    Ok(elapsed)
}
