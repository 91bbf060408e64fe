//! A probe: a plain process a test drives by sending it closures to run in its own context
//! (link, monitor, exit, trap_exit ...), and which reports every exit signal and DOWN that
//! reaches its mailbox, in arrival order.

use otpscope_runtime::{
    Addr, Context, Down, ExitMessage, ExitReason, Inbox, Message, Node, Pid, SpawnOptions,
};
use tokio::sync::{mpsc, oneshot};

use super::within;

/// Unwraps a spawn that cannot fail (no name is asked for).
fn spawned(result: Result<Addr<Job>, otpscope_runtime::StartError>) -> Addr<Job> {
    match result {
        Ok(addr) => addr,
        Err(error) => panic!("a probe without a name starts: {error}"),
    }
}

/// Work for the probe: runs in its context; `Some(reason)` makes it exit with that reason.
pub type Job = Box<dyn FnOnce(&Context) -> Option<ExitReason> + Send>;

/// A signal the probe received as a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A trapped exit signal.
    Exit(ExitMessage),
    /// A DOWN.
    Down(Down),
}

/// A handle to a probe process and what it saw.
pub struct Probe {
    /// The probe's mailbox.
    pub addr: Addr<Job>,
    seen: mpsc::UnboundedReceiver<Seen>,
}

fn body(
    tx: mpsc::UnboundedSender<Seen>,
) -> impl FnOnce(Context, Inbox<Job>) -> std::pin::Pin<Box<dyn Future<Output = ExitReason> + Send>>
{
    move |ctx: Context, mut inbox: Inbox<Job>| {
        Box::pin(async move {
            loop {
                match inbox.recv().await {
                    Message::User(job) => {
                        if let Some(reason) = job(&ctx) {
                            return reason;
                        }
                    }
                    Message::Exit(exit) => {
                        tx.send(Seen::Exit(exit)).ok();
                    }
                    Message::Down(down) => {
                        tx.send(Seen::Down(down)).ok();
                    }
                }
            }
        })
    }
}

impl Probe {
    /// Spawns a probe with no parent, trapping exits if `trap`.
    pub fn spawn(node: &Node, trap: bool) -> Self {
        let (tx, seen) = mpsc::unbounded_channel();
        let addr = spawned(node.spawn_opts(SpawnOptions::new().trap_exit(trap), body(tx)));
        Self { addr, seen }
    }

    /// Spawns a probe as a child of `ctx`'s process, linked to it if `link`.
    pub fn spawn_child(ctx: &Context, trap: bool, link: bool) -> Self {
        let (tx, seen) = mpsc::unbounded_channel();
        let addr = spawned(ctx.spawn_opts(SpawnOptions::new().trap_exit(trap), link, body(tx)));
        Self { addr, seen }
    }

    /// The probe's pid.
    pub fn pid(&self) -> Pid {
        self.addr.pid()
    }

    /// Runs `f` in the probe's context and returns what it returns.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Context) -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |ctx| {
            tx.send(f(ctx)).ok();
            None
        });
        assert!(self.addr.send(job).is_ok(), "probe {} is dead", self.pid());
        match within("the probe runs a job", rx).await {
            Ok(value) => value,
            Err(_) => panic!("probe {} exited before answering", self.pid()),
        }
    }

    /// Makes the probe return from its body with `reason`.
    pub fn exit_with(&self, reason: ExitReason) {
        let job: Job = Box::new(move |_| Some(reason));
        assert!(self.addr.send(job).is_ok(), "probe {} is dead", self.pid());
    }

    /// The next signal the probe received, waiting for it.
    pub async fn next(&mut self) -> Seen {
        match within("the probe receives a signal", self.seen.recv()).await {
            Some(seen) => seen,
            None => panic!("probe {} has exited", self.pid()),
        }
    }

    /// The next signal, which must be an exit signal.
    pub async fn next_exit(&mut self) -> ExitMessage {
        match self.next().await {
            Seen::Exit(exit) => exit,
            other => panic!("expected an exit signal, got {other:?}"),
        }
    }

    /// The next signal, which must be a DOWN.
    pub async fn next_down(&mut self) -> Down {
        match self.next().await {
            Seen::Down(down) => down,
            other => panic!("expected a DOWN, got {other:?}"),
        }
    }

    /// A signal already received, if any.
    pub fn try_next(&mut self) -> Option<Seen> {
        self.seen.try_recv().ok()
    }

    /// Asserts the probe has received nothing more, after a round trip through its mailbox
    /// (anything sent to it before this call has been handled by then).
    pub async fn assert_nothing_more(&mut self) {
        self.run(|_| ()).await;
        assert_eq!(self.try_next(), None, "unexpected signal at {}", self.pid());
    }
}
