//! The workloads on kameo, with its own supervision (`Actor::supervise` under an actor whose
//! `supervision_strategy` is one_for_one).
//!
//! Where it differs from the others, because the library does:
//! - kameo has no dynamic supervisor: rows 1–3 add children to a supervisor actor one at a
//!   time with `supervise(..).spawn()`, which returns before the child's `on_start` ran; the
//!   harness then awaits `wait_for_startup`, so a start ends after init as in the others.
//! - Restart intensity is per child (`restart_limit`), not per supervisor; rows 6 and 8 set it
//!   to `u32::MAX` in 1 s, as the others never give up either.
//! - Mailboxes are unbounded (`mailbox::unbounded()`), as in every other library here; kameo's
//!   default is bounded at 64, which would make casts wait for room.
//! - A kill (`ActorRef::kill`) aborts the actor's task; its restart keeps the actor id, so a
//!   new incarnation is told apart by the new `ActorRef` its `on_start` reports.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use kameo::actor::{Actor, ActorRef, Spawn};
use kameo::error::Infallible;
use kameo::mailbox;
use kameo::message::{Context, Message};
use kameo::supervision::{RestartPolicy, SupervisionStrategy};
use tokio::sync::mpsc;

use crate::common::{
    Live, Weigh, WorkersSample, all_workers_freed, ensure_each_back_once, ensure_live, shuffled,
    timed,
};

/// Where a worker's `on_start` reports its index and reference (rows 6 and 8).
type Reports = mpsc::UnboundedSender<(usize, ActorRef<Worker>)>;

/// A one_for_one supervisor with no state.
struct Sup;

impl Actor for Sup {
    type Args = ();
    type Error = Infallible;

    fn supervision_strategy() -> SupervisionStrategy {
        SupervisionStrategy::OneForOne
    }

    async fn on_start((): (), _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(Sup)
    }
}

/// What the worker is given at each start.
#[derive(Clone)]
struct Args {
    /// Its place among its siblings, for its report.
    index: usize,
    /// Where `on_start` reports, if anywhere.
    reports: Option<Reports>,
}

/// The worker of every supervised row and the server of rows 4 and 5.
struct Worker {
    /// Counts it live from its start to its drop.
    _live: Live,
    /// Casts handled.
    casts: u64,
}

impl Actor for Worker {
    type Args = Args;
    type Error = Infallible;

    async fn on_start(args: Args, myself: ActorRef<Self>) -> Result<Self, Infallible> {
        if let Some(reports) = &args.reports {
            reports.send((args.index, myself)).ok();
        }
        Ok(Worker {
            _live: Live::new(),
            casts: 0,
        })
    }
}

/// Answer the number plus one.
struct Echo(u64);

/// Answer how many casts it handled.
struct Casts;

/// Count one.
struct Cast;

impl Message<Echo> for Worker {
    type Reply = u64;

    async fn handle(&mut self, Echo(n): Echo, _ctx: &mut Context<Self, u64>) -> u64 {
        n + 1
    }
}

impl Message<Casts> for Worker {
    type Reply = u64;

    async fn handle(&mut self, _: Casts, _ctx: &mut Context<Self, u64>) -> u64 {
        self.casts
    }
}

impl Message<Cast> for Worker {
    type Reply = ();

    async fn handle(&mut self, _: Cast, _ctx: &mut Context<Self, ()>) {
        self.casts += 1;
    }
}

/// Starts a supervised worker and waits until its `on_start` ran.
async fn start_worker(
    supervisor: &ActorRef<Sup>,
    args: Args,
    never_give_up: bool,
) -> ActorRef<Worker> {
    let mut builder = Worker::supervise(supervisor, args).restart_policy(RestartPolicy::Permanent);
    if never_give_up {
        builder = builder.restart_limit(u32::MAX, Duration::from_secs(1));
    }
    let worker = builder.spawn_with_mailbox(mailbox::unbounded()).await;
    worker.wait_for_startup().await;
    worker
}

async fn stop_supervisor(supervisor: &ActorRef<Sup>) -> Result<()> {
    supervisor
        .stop_gracefully()
        .await
        .map_err(|error| anyhow!("stop: {error}"))?;
    supervisor.wait_for_shutdown().await;
    all_workers_freed(Duration::from_secs(60)).await
}

/// Rows 1–3: start `n` workers one at a time under a supervisor, weigh them, stop it.
pub(crate) async fn workers(n: usize) -> Result<WorkersSample> {
    let supervisor = Sup::spawn_with_mailbox((), mailbox::unbounded());
    supervisor.wait_for_startup().await;
    let mut weigh = Weigh::new();
    let ((), start) = timed(async {
        for index in 0..n {
            start_worker(
                &supervisor,
                Args {
                    index,
                    reports: None,
                },
                false,
            )
            .await;
        }
        Ok(())
    })
    .await?;
    weigh.started();
    ensure_live(n, "kameo after the starts")?;
    let ((), stop) = timed(stop_supervisor(&supervisor)).await?;
    ensure!(!supervisor.is_alive(), "the supervisor outlived its stop");
    Ok(weigh.stopped(n, start, stop))
}

async fn server() -> ActorRef<Worker> {
    let server = Worker::spawn_with_mailbox(
        Args {
            index: 0,
            reports: None,
        },
        mailbox::unbounded(),
    );
    server.wait_for_startup().await;
    server
}

async fn stop_server(server: ActorRef<Worker>) -> Result<()> {
    server
        .stop_gracefully()
        .await
        .map_err(|error| anyhow!("stop: {error}"))?;
    server.wait_for_shutdown().await;
    Ok(())
}

/// Row 4, one to one.
pub(crate) async fn casts_one(n: usize) -> Result<Duration> {
    let server = server().await;
    let (handled, elapsed) = timed(async {
        for _ in 0..n {
            server
                .tell(Cast)
                .try_send()
                .map_err(|error| anyhow!("cast: {error}"))?;
        }
        server
            .ask(Casts)
            .await
            .map_err(|error| anyhow!("call: {error}"))
    })
    .await?;
    ensure!(
        handled == n as u64,
        "the server handled {handled} casts of {n}"
    );
    stop_server(server).await?;
    Ok(elapsed)
}

/// Row 4, many to one.
pub(crate) async fn casts_many(senders: usize, each: usize) -> Result<Duration> {
    let server = server().await;
    let (handled, elapsed) = timed(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..senders {
            let server = server.clone();
            tasks.spawn(async move {
                for _ in 0..each {
                    server
                        .tell(Cast)
                        .try_send()
                        .map_err(|error| anyhow!("cast: {error}"))?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(sent) = tasks.join_next().await {
            sent??;
        }
        server
            .ask(Casts)
            .await
            .map_err(|error| anyhow!("call: {error}"))
    })
    .await?;
    let total = (senders * each) as u64;
    ensure!(
        handled == total,
        "the server handled {handled} casts of {total}"
    );
    stop_server(server).await?;
    Ok(elapsed)
}

/// Row 5: kameo's ask has no timeout unless given one (row 5b: a reply timeout).
pub(crate) async fn calls(n: usize, timeout: Option<Duration>) -> Result<Duration> {
    let server = server().await;
    let ((), elapsed) = timed(async {
        for i in 0..n as u64 {
            let answer = match timeout {
                Some(timeout) => server.ask(Echo(i)).reply_timeout(timeout).await,
                None => server.ask(Echo(i)).await,
            };
            let answer = answer.map_err(|error| anyhow!("call: {error}"))?;
            ensure!(answer == i + 1, "call {i} answered {answer}");
        }
        Ok(())
    })
    .await?;
    stop_server(server).await?;
    Ok(elapsed)
}

/// A one_for_one supervisor of `n` permanent workers that never give up, each worker's first
/// reference, and the reports of the starts to come.
async fn supervised(
    n: usize,
) -> Result<(
    ActorRef<Sup>,
    Vec<ActorRef<Worker>>,
    mpsc::UnboundedReceiver<(usize, ActorRef<Worker>)>,
)> {
    let (reports, mut reported) = mpsc::unbounded_channel();
    let supervisor = Sup::spawn_with_mailbox((), mailbox::unbounded());
    supervisor.wait_for_startup().await;
    for index in 0..n {
        start_worker(
            &supervisor,
            Args {
                index,
                reports: Some(reports.clone()),
            },
            true,
        )
        .await;
    }
    let mut workers = vec![None; n];
    for _ in 0..n {
        let (index, worker) = reported.recv().await.context("a first start")?;
        ensure!(
            workers[index].replace(worker).is_none(),
            "worker {index} started twice"
        );
    }
    let workers = workers.into_iter().flatten().collect();
    Ok((supervisor, workers, reported))
}

/// Row 6.
pub(crate) async fn restarts(n: usize) -> Result<Duration> {
    let (supervisor, workers, mut reported) = supervised(1).await?;
    let mut worker = workers.into_iter().next().context("the worker")?;
    let ((), elapsed) = timed(async {
        for _ in 0..n {
            worker.kill();
            let (_, successor) = reported.recv().await.context("a restart")?;
            worker = successor;
        }
        Ok(())
    })
    .await?;
    stop_supervisor(&supervisor).await?;
    Ok(elapsed)
}

/// Row 8.
pub(crate) async fn storm(n: usize) -> Result<Duration> {
    let (supervisor, workers, mut reported) = supervised(n).await?;
    let order = shuffled(n);
    let mut back = vec![0_u32; n];
    let ((), elapsed) = timed(async {
        for &index in &order {
            workers[index].kill();
        }
        for _ in 0..n {
            let (index, _) = reported.recv().await.context("a restart")?;
            back[index] += 1;
        }
        Ok(())
    })
    .await?;
    ensure_each_back_once(&back, "kameo storm")?;
    ensure_live(n, "kameo after the storm")?;
    stop_supervisor(&supervisor).await?;
    Ok(elapsed)
}

/// A ring member.
struct Member {
    index: usize,
    next: Option<ActorRef<Member>>,
    done: mpsc::UnboundedSender<usize>,
}

impl Actor for Member {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(member: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(member)
    }
}

/// The member after this one.
struct Next(ActorRef<Member>);

/// The token, with the hops still to make.
struct Token(usize);

impl Message<Next> for Member {
    type Reply = ();

    async fn handle(&mut self, Next(next): Next, _ctx: &mut Context<Self, ()>) {
        self.next = Some(next);
    }
}

impl Message<Token> for Member {
    type Reply = ();

    async fn handle(&mut self, Token(left): Token, _ctx: &mut Context<Self, ()>) {
        if left == 0 {
            self.done.send(self.index).ok();
        } else if let Some(next) = &self.next {
            next.tell(Token(left - 1)).try_send().ok();
        }
    }
}

/// Row 7.
pub(crate) async fn ring(processes: usize, hops: usize) -> Result<Duration> {
    let (done, mut finished) = mpsc::unbounded_channel();
    let members: Vec<_> = (0..processes)
        .map(|index| {
            let member = Member {
                index,
                next: None,
                done: done.clone(),
            };
            Member::spawn_with_mailbox(member, mailbox::unbounded())
        })
        .collect();
    for (index, member) in members.iter().enumerate() {
        let next = members[(index + 1) % processes].clone();
        member
            .tell(Next(next))
            .try_send()
            .map_err(|error| anyhow!("linking the ring: {error}"))?;
    }
    let started = Instant::now();
    members[0]
        .tell(Token(hops))
        .try_send()
        .map_err(|error| anyhow!("the first hop: {error}"))?;
    let last = finished.recv().await.context("the token never came back")?;
    let elapsed = started.elapsed();
    if last != hops % processes {
        bail!(
            "the token stopped at member {last}, expected {}",
            hops % processes
        );
    }
    for member in &members {
        member.stop_gracefully().await.ok();
    }
    for member in &members {
        member.wait_for_shutdown().await;
    }
    Ok(elapsed)
}
