//! The floor: the same workloads on plain tokio, a task and an unbounded mpsc channel per
//! worker, and a "supervisor" task that owns the workers in a `JoinSet`.
//!
//! It is what any library on tokio pays at least, not a library: no pids, links, monitors,
//! names, exit reasons, restart intensity or introspection. Its supervisor runs a worker's
//! init (building its state) itself and then spawns the task, as this runtime's servers do;
//! it stops its workers by aborting them (`JoinSet::shutdown`) and restarts one when its task
//! ends (`join_next_with_id`); a kill is an abort.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, Id, JoinSet};

use crate::common::{
    Live, Weigh, WorkersSample, all_workers_freed, ensure_each_back_once, ensure_live, shuffled,
    timed,
};

/// What a worker gets.
enum Msg {
    /// Answer the number plus one.
    Echo(u64, oneshot::Sender<u64>),
    /// Answer how many casts it handled.
    Casts(oneshot::Sender<u64>),
    /// Count one.
    Cast,
}

/// A worker's task: its state, then its loop.
async fn worker(live: Live, mut inbox: mpsc::UnboundedReceiver<Msg>) {
    let _live = live;
    let mut casts = 0_u64;
    while let Some(msg) = inbox.recv().await {
        match msg {
            Msg::Echo(n, reply) => {
                reply.send(n + 1).ok();
            }
            Msg::Casts(reply) => {
                reply.send(casts).ok();
            }
            Msg::Cast => casts += 1,
        }
    }
}

/// What the floor's supervisor gets.
enum Request {
    /// Start a worker; answer with its sender once it is spawned.
    Start(oneshot::Sender<mpsc::UnboundedSender<Msg>>),
    /// Abort every worker, wait for them, answer and end.
    Stop(oneshot::Sender<()>),
}

/// The supervisor of rows 1–3.
async fn supervisor(mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut workers = JoinSet::new();
    // The supervisor holds a sender of each worker, so that a worker runs until it is stopped.
    let mut senders = Vec::new();
    while let Some(request) = requests.recv().await {
        match request {
            Request::Start(reply) => {
                let (sender, inbox) = mpsc::unbounded_channel();
                workers.spawn(worker(Live::new(), inbox));
                reply.send(sender.clone()).ok();
                senders.push(sender);
            }
            Request::Stop(reply) => {
                workers.shutdown().await;
                reply.send(()).ok();
                return;
            }
        }
    }
}

/// Rows 1–3.
pub(crate) async fn workers(n: usize) -> Result<WorkersSample> {
    let (requests, inbox) = mpsc::unbounded_channel();
    let supervisor = tokio::spawn(supervisor(inbox));
    let mut weigh = Weigh::new();
    let (senders, start) = timed(async {
        let mut senders = Vec::with_capacity(n);
        for _ in 0..n {
            let (reply, started) = oneshot::channel();
            requests.send(Request::Start(reply)).ok().context("start")?;
            senders.push(started.await?);
        }
        Ok(senders)
    })
    .await?;
    weigh.started();
    ensure_live(n, "tokio after the starts")?;
    ensure!(
        senders.iter().all(|sender| !sender.is_closed()),
        "a worker is not running"
    );
    drop(senders);
    let ((), stop) = timed(async {
        let (reply, stopped) = oneshot::channel();
        requests.send(Request::Stop(reply)).ok().context("stop")?;
        stopped.await?;
        supervisor.await?;
        all_workers_freed(Duration::from_secs(60)).await
    })
    .await?;
    Ok(weigh.stopped(n, start, stop))
}

fn server() -> mpsc::UnboundedSender<Msg> {
    let (sender, inbox) = mpsc::unbounded_channel();
    tokio::spawn(worker(Live::new(), inbox));
    sender
}

async fn call<T>(
    server: &mpsc::UnboundedSender<Msg>,
    ask: impl FnOnce(oneshot::Sender<T>) -> Msg,
    timeout: Option<Duration>,
) -> Result<T> {
    let (reply, answer) = oneshot::channel();
    server.send(ask(reply)).ok().context("call")?;
    match timeout {
        Some(timeout) => Ok(tokio::time::timeout(timeout, answer)
            .await
            .context("call timed out")??),
        None => Ok(answer.await?),
    }
}

/// Row 4, one to one.
pub(crate) async fn casts_one(n: usize) -> Result<Duration> {
    let server = server();
    let (handled, elapsed) = timed(async {
        for _ in 0..n {
            server.send(Msg::Cast).ok().context("cast")?;
        }
        call(&server, Msg::Casts, None).await
    })
    .await?;
    ensure!(
        handled == n as u64,
        "the server handled {handled} casts of {n}"
    );
    Ok(elapsed)
}

/// Row 4, many to one.
pub(crate) async fn casts_many(senders: usize, each: usize) -> Result<Duration> {
    let server = server();
    let (handled, elapsed) = timed(async {
        let mut tasks = JoinSet::new();
        for _ in 0..senders {
            let server = server.clone();
            tasks.spawn(async move {
                for _ in 0..each {
                    server.send(Msg::Cast).ok().context("cast")?;
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
    Ok(elapsed)
}

/// Row 5: a oneshot reply, with `tokio::time::timeout` around it in row 5b.
pub(crate) async fn calls(n: usize, timeout: Option<Duration>) -> Result<Duration> {
    let server = server();
    let ((), elapsed) = timed(async {
        for i in 0..n as u64 {
            let answer = call(&server, |reply| Msg::Echo(i, reply), timeout).await?;
            ensure!(answer == i + 1, "call {i} answered {answer}");
        }
        Ok(())
    })
    .await?;
    Ok(elapsed)
}

/// Starts worker `index` in `workers`, remembers which task it is and reports it.
fn start_one(
    workers: &mut JoinSet<()>,
    indexes: &mut HashMap<Id, usize>,
    reports: &mpsc::UnboundedSender<(usize, AbortHandle)>,
    index: usize,
) -> mpsc::UnboundedSender<Msg> {
    let (sender, inbox) = mpsc::unbounded_channel();
    let handle = workers.spawn(worker(Live::new(), inbox));
    indexes.insert(handle.id(), index);
    reports.send((index, handle)).ok();
    sender
}

/// The supervisor of rows 6 and 8: starts `n` workers, restarts each whose task ends, and
/// reports every start with the new task's abort handle; ends when `stop` fires.
async fn restarting_supervisor(
    n: usize,
    reports: mpsc::UnboundedSender<(usize, AbortHandle)>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut workers = JoinSet::new();
    let mut indexes: HashMap<Id, usize> = HashMap::with_capacity(n);
    let mut senders: Vec<_> = (0..n)
        .map(|index| start_one(&mut workers, &mut indexes, &reports, index))
        .collect();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(ended) = workers.join_next_with_id() => {
                let id = match ended {
                    Ok((id, ())) => id,
                    Err(error) => error.id(),
                };
                let Some(index) = indexes.remove(&id) else { continue };
                senders[index] = start_one(&mut workers, &mut indexes, &reports, index);
            }
        }
    }
    workers.shutdown().await;
}

/// Rows 6 and 8 share this: the supervisor, each worker's first abort handle, the reports
/// still to come, and how to stop it.
struct Supervised {
    handles: Vec<AbortHandle>,
    reported: mpsc::UnboundedReceiver<(usize, AbortHandle)>,
    stop: oneshot::Sender<()>,
    supervisor: tokio::task::JoinHandle<()>,
}

async fn supervised(n: usize) -> Result<Supervised> {
    let (reports, mut reported) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel();
    let supervisor = tokio::spawn(restarting_supervisor(n, reports, stopped));
    let mut handles = vec![None; n];
    for _ in 0..n {
        let (index, handle) = reported.recv().await.context("a first start")?;
        ensure!(
            handles[index].replace(handle).is_none(),
            "worker {index} started twice"
        );
    }
    let handles = handles.into_iter().flatten().collect();
    Ok(Supervised {
        handles,
        reported,
        stop,
        supervisor,
    })
}

async fn stop_supervised(
    stop: oneshot::Sender<()>,
    supervisor: tokio::task::JoinHandle<()>,
) -> Result<()> {
    stop.send(()).ok();
    supervisor.await?;
    all_workers_freed(Duration::from_secs(60)).await
}

/// Row 6.
pub(crate) async fn restarts(n: usize) -> Result<Duration> {
    let Supervised {
        handles,
        mut reported,
        stop,
        supervisor,
    } = supervised(1).await?;
    let mut handle = handles.into_iter().next().context("the worker")?;
    let ((), elapsed) = timed(async {
        for _ in 0..n {
            handle.abort();
            let (_, successor) = reported.recv().await.context("a restart")?;
            ensure!(
                successor.id() != handle.id(),
                "the successor is the old task"
            );
            handle = successor;
        }
        Ok(())
    })
    .await?;
    stop_supervised(stop, supervisor).await?;
    Ok(elapsed)
}

/// Row 8.
pub(crate) async fn storm(n: usize) -> Result<Duration> {
    let Supervised {
        handles,
        mut reported,
        stop,
        supervisor,
    } = supervised(n).await?;
    let order = shuffled(n);
    let mut back = vec![0_u32; n];
    let ((), elapsed) = timed(async {
        for &index in &order {
            handles[index].abort();
        }
        for _ in 0..n {
            let (index, handle) = reported.recv().await.context("a restart")?;
            ensure!(
                handle.id() != handles[index].id(),
                "worker {index} came back as its old task"
            );
            back[index] += 1;
        }
        Ok(())
    })
    .await?;
    ensure_each_back_once(&back, "tokio storm")?;
    ensure_live(n, "tokio after the storm")?;
    stop_supervised(stop, supervisor).await?;
    Ok(elapsed)
}

/// What a ring task gets.
enum Ring {
    /// The task after it.
    Next(mpsc::UnboundedSender<Ring>),
    /// The token, with the hops still to make.
    Token(usize),
}

/// Row 7.
pub(crate) async fn ring(processes: usize, hops: usize) -> Result<Duration> {
    let (done, mut finished) = mpsc::unbounded_channel();
    let mut members = Vec::with_capacity(processes);
    let mut tasks = JoinSet::new();
    for index in 0..processes {
        let (sender, mut inbox) = mpsc::unbounded_channel();
        let done = done.clone();
        tasks.spawn(async move {
            let mut next = None;
            while let Some(message) = inbox.recv().await {
                match message {
                    Ring::Next(sender) => next = Some(sender),
                    Ring::Token(0) => {
                        done.send(index).ok();
                        // Drop the link to the next task, so the ring's channels close once
                        // the harness drops its senders.
                        next = None;
                    }
                    Ring::Token(left) => {
                        if let Some(next) = &next {
                            next.send(Ring::Token(left - 1)).ok();
                        }
                    }
                }
            }
        });
        members.push(sender);
    }
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
            "the token stopped at task {last}, expected {}",
            hops % processes
        );
    }
    tasks.shutdown().await;
    Ok(elapsed)
}
