//! The workloads on this runtime (`otpscope::runtime`), written as a user of the crate would:
//! a gen-server worker (`Server`), a `DynamicSupervisor` for rows 1–3, a one_for_one
//! `Supervisor` for rows 6 and 8, plain processes for the ring.
//!
//! Senders and callers (rows 4 and 5) are plain tokio tasks, as in the other Rust libraries.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use otpscope::runtime::{
    ChildSpec, DynamicSupervisor, DynamicSupervisorFlags, ExitReason, Inbox, Message, Node, Pid,
    Server, ServerContext, ServerRef, SpawnOptions, Strategy, Supervisor, SupervisorFlags,
};
use tokio::sync::mpsc;

use crate::common::{
    Live, Weigh, WorkersSample, all_workers_freed, ensure_each_back_once, ensure_live, shuffled,
    timed,
};

/// Where a worker's init reports its index and pid (rows 6 and 8).
type Reports = mpsc::UnboundedSender<(usize, Pid)>;

/// The worker of every supervised row and the server of rows 4 and 5.
struct Worker {
    /// Counts it live from its start to its drop.
    _live: Live,
    /// Its place among its siblings, for its report.
    index: usize,
    /// Where init reports, if anywhere.
    reports: Option<Reports>,
    /// Casts handled.
    casts: u64,
}

impl Worker {
    fn new(index: usize, reports: Option<Reports>) -> Self {
        Self {
            _live: Live::new(),
            index,
            reports,
            casts: 0,
        }
    }
}

/// What a caller asks the worker.
enum Ask {
    /// Answer the number plus one.
    Echo(u64),
    /// Answer how many casts it handled.
    Casts,
}

impl Server for Worker {
    type Call = Ask;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    async fn init(&mut self, ctx: &mut ServerContext<Self>) -> Result<(), ExitReason> {
        if let Some(reports) = &self.reports {
            reports.send((self.index, ctx.pid())).ok();
        }
        Ok(())
    }

    async fn handle_call(&mut self, ask: Ask, _ctx: &mut ServerContext<Self>) -> u64 {
        match ask {
            Ask::Echo(n) => n + 1,
            Ask::Casts => self.casts,
        }
    }

    async fn handle_cast(&mut self, (): (), _ctx: &mut ServerContext<Self>) {
        self.casts += 1;
    }
}

/// A worker's child spec: permanent, shutdown 5,000 ms (the defaults).
fn worker_spec(id: String, index: usize, reports: Option<Reports>) -> ChildSpec {
    ChildSpec::worker(id, move |ctx| {
        let worker = Worker::new(index, reports.clone());
        async move {
            let server = ServerRef::start_link(&ctx, worker, SpawnOptions::new()).await?;
            Ok(server.pid().into())
        }
    })
}

/// Rows 1–3: start `n` workers one at a time under a dynamic supervisor, weigh them, stop it.
pub(crate) async fn workers(n: usize) -> Result<WorkersSample> {
    let node = Node::new("peers");
    let supervisor = DynamicSupervisor::start(
        &node,
        DynamicSupervisorFlags::default(),
        SpawnOptions::new(),
    )
    .await?;
    let mut weigh = Weigh::new();
    let ((), start) = timed(async {
        for index in 0..n {
            supervisor
                .start_child(worker_spec("worker".to_owned(), index, None))
                .await?;
        }
        Ok(())
    })
    .await?;
    weigh.started();
    ensure_live(n, "otpscope after the starts")?;
    let counts = supervisor.count_children().await?;
    ensure!(
        counts.active == n,
        "{} children active, expected {n}",
        counts.active
    );
    let ((), stop) = timed(async {
        supervisor.stop(ExitReason::Shutdown).await?;
        all_workers_freed(Duration::from_secs(60)).await
    })
    .await?;
    ensure!(!supervisor.is_alive(), "the supervisor outlived its stop");
    Ok(weigh.stopped(n, start, stop))
}

async fn server(node: &Node) -> Result<ServerRef<Worker>> {
    Ok(ServerRef::start(node, Worker::new(0, None), SpawnOptions::new()).await?)
}

/// Row 4, one to one: `n` casts from one task, until the server has handled them all.
pub(crate) async fn casts_one(n: usize) -> Result<Duration> {
    let node = Node::new("peers");
    let server = server(&node).await?;
    let (handled, elapsed) = timed(async {
        for _ in 0..n {
            server.cast(()).ok().context("a cast failed")?;
        }
        Ok(server.call(Ask::Casts).await?)
    })
    .await?;
    ensure!(
        handled == n as u64,
        "the server handled {handled} casts of {n}"
    );
    server.stop(ExitReason::Normal).await?;
    Ok(elapsed)
}

/// Row 4, many to one: `senders` tasks cast `each` times to one server, together.
pub(crate) async fn casts_many(senders: usize, each: usize) -> Result<Duration> {
    let node = Node::new("peers");
    let server = server(&node).await?;
    let (handled, elapsed) = timed(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..senders {
            let server = server.clone();
            tasks.spawn(async move {
                for _ in 0..each {
                    server.cast(()).ok().context("a cast failed")?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(sent) = tasks.join_next().await {
            sent??;
        }
        Ok(server.call(Ask::Casts).await?)
    })
    .await?;
    let total = (senders * each) as u64;
    ensure!(
        handled == total,
        "the server handled {handled} casts of {total}"
    );
    server.stop(ExitReason::Normal).await?;
    Ok(elapsed)
}

/// Row 5: `n` calls one after the other from a task; each answer is checked. `call` arms the
/// default 5 s timeout, so rows 5a and 5b are the same work here.
pub(crate) async fn calls(n: usize, timeout: Option<Duration>) -> Result<Duration> {
    let node = Node::new("peers");
    let server = server(&node).await?;
    let ((), elapsed) = timed(async {
        for i in 0..n as u64 {
            let answer = match timeout {
                Some(timeout) => server.call_timeout(Ask::Echo(i), timeout).await?,
                None => server.call(Ask::Echo(i)).await?,
            };
            ensure!(answer == i + 1, "call {i} answered {answer}");
        }
        Ok(())
    })
    .await?;
    server.stop(ExitReason::Normal).await?;
    Ok(elapsed)
}

/// A one_for_one supervisor of `n` permanent workers that never gives up, and each worker's
/// first pid.
async fn supervised(
    node: &Node,
    n: usize,
) -> Result<(Supervisor, Vec<Pid>, mpsc::UnboundedReceiver<(usize, Pid)>)> {
    let (reports, mut reported) = mpsc::unbounded_channel();
    let specs = (0..n)
        .map(|index| worker_spec(format!("worker{index}"), index, Some(reports.clone())))
        .collect();
    let flags = SupervisorFlags::new(Strategy::OneForOne)
        .max_restarts(u32::MAX)
        .max_seconds(1);
    let supervisor = Supervisor::start(node, flags, specs, SpawnOptions::new()).await?;
    let mut pids = vec![None; n];
    for _ in 0..n {
        let (index, pid) = reported.recv().await.context("a first start")?;
        ensure!(
            pids[index].replace(pid).is_none(),
            "worker {index} started twice"
        );
    }
    let pids = pids.into_iter().flatten().collect();
    Ok((supervisor, pids, reported))
}

/// Stops a supervisor of rows 6 and 8 and checks that every worker went with it.
async fn stop_supervised(supervisor: Supervisor) -> Result<()> {
    supervisor.stop(ExitReason::Shutdown).await?;
    all_workers_freed(Duration::from_secs(60)).await
}

/// Row 6: kill a permanent worker `n` times, each time until its successor ran init.
pub(crate) async fn restarts(n: usize) -> Result<Duration> {
    let node = Node::new("peers");
    let (supervisor, pids, mut reported) = supervised(&node, 1).await?;
    let mut pid = pids[0];
    let ((), elapsed) = timed(async {
        for _ in 0..n {
            node.exit(pid, ExitReason::Kill)?;
            let (_, successor) = reported.recv().await.context("a restart")?;
            ensure!(successor != pid, "the successor has the old pid");
            pid = successor;
        }
        Ok(())
    })
    .await?;
    stop_supervised(supervisor).await?;
    Ok(elapsed)
}

/// Row 8: `n` workers under one one_for_one supervisor, each killed once in a shuffled order;
/// the time until every one is back.
pub(crate) async fn storm(n: usize) -> Result<Duration> {
    let node = Node::new("peers");
    let (supervisor, pids, mut reported) = supervised(&node, n).await?;
    let order = shuffled(n);
    let mut back = vec![0_u32; n];
    let ((), elapsed) = timed(async {
        for &index in &order {
            node.exit(pids[index], ExitReason::Kill)?;
        }
        for _ in 0..n {
            let (index, pid) = reported.recv().await.context("a restart")?;
            ensure!(
                pid != pids[index],
                "worker {index} came back with its old pid"
            );
            back[index] += 1;
        }
        Ok(())
    })
    .await?;
    ensure_each_back_once(&back, "otpscope storm")?;
    ensure_live(n, "otpscope after the storm")?;
    stop_supervised(supervisor).await?;
    Ok(elapsed)
}

/// What a ring process gets.
enum Ring {
    /// The process after it.
    Next(otpscope::runtime::Addr<Ring>),
    /// The token, with the hops still to make.
    Token(usize),
    /// Leave the ring.
    Stop,
}

/// Row 7: `processes` processes in a ring pass a token `hops` times.
pub(crate) async fn ring(processes: usize, hops: usize) -> Result<Duration> {
    let node = Node::new("peers");
    let (done, mut finished) = mpsc::unbounded_channel();
    let members: Vec<_> = (0..processes)
        .map(|index| {
            let done = done.clone();
            node.spawn(move |_ctx, mut inbox: Inbox<Ring>| async move {
                let mut next = None;
                while let Message::User(message) = inbox.recv().await {
                    match message {
                        Ring::Next(addr) => next = Some(addr),
                        Ring::Token(0) => {
                            done.send(index).ok();
                        }
                        Ring::Token(left) => {
                            if let Some(next) = &next {
                                next.send(Ring::Token(left - 1)).ok();
                            }
                        }
                        Ring::Stop => break,
                    }
                }
            })
        })
        .collect();
    for (index, member) in members.iter().enumerate() {
        let next = members[(index + 1) % processes].clone();
        member
            .send(Ring::Next(next))
            .ok()
            .context("linking the ring")?;
    }
    let started = Instant::now();
    members[0]
        .send(Ring::Token(hops))
        .ok()
        .context("the first hop")?;
    let last = finished.recv().await.context("the token never came back")?;
    let elapsed = started.elapsed();
    if last != hops % processes {
        bail!(
            "the token stopped at process {last}, expected {}",
            hops % processes
        );
    }
    for member in &members {
        member.send(Ring::Stop).ok();
    }
    Ok(elapsed)
}
