//! A BEAM node (Erlang or Elixir) as a [`Source`] for the Observer: a thin adapter over
//! [`BeamClient`], which reads the node, turns what it reads into the contract's updates,
//! carries out commands and reconnects. The Observer sees what any source gives it.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::beam::client::client_closed;
use crate::beam::{BeamClient, LinkState};
use crate::contract::{Capabilities, Command, CommandError, Progress, Reply, Update};
use crate::gui::{Link, RequestId, Source};
use crate::snapshot::ProgressReporter;

/// A BEAM node reached over Erlang distribution.
pub struct BeamSource {
    client: BeamClient,
    /// What the node offers, as last told (it changes when an app starts or stops).
    capabilities: Capabilities,
    title: String,
    /// Commands sent whose replies have not been taken.
    waiting: VecDeque<(RequestId, oneshot::Receiver<Result<Reply, CommandError>>)>,
    replies: VecDeque<(RequestId, Result<Reply, CommandError>)>,
    /// Reports of how far running commands have got arrive here, each before its reply.
    reports: mpsc::Receiver<(RequestId, Progress)>,
    /// Where commands send their reports.
    report_sender: mpsc::Sender<(RequestId, Progress)>,
    next_id: RequestId,
}

impl BeamSource {
    /// Watches the node `client` reaches.
    pub fn new(client: BeamClient) -> Self {
        let info = client.info();
        let (report_sender, reports) = mpsc::channel();
        Self {
            client,
            capabilities: info.capabilities,
            title: info.title,
            waiting: VecDeque::new(),
            replies: VecDeque::new(),
            reports,
            report_sender,
            next_id: 1,
        }
    }
}

impl Source for BeamSource {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn try_recv(&mut self) -> Option<Update> {
        if self.client.info_changed() {
            let info = self.client.info();
            self.capabilities = info.capabilities;
            self.title = info.title;
        }
        self.client.try_recv()
    }

    fn send(&mut self, command: Command) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        let reports = self.report_sender.clone();
        let progress = ProgressReporter::new(move |progress| {
            reports.send((id, progress)).ok();
        });
        let answer = self.client.send_reporting(command, progress);
        self.waiting.push_back((id, answer));
        id
    }

    fn try_progress(&mut self) -> Option<(RequestId, Progress)> {
        self.reports.try_recv().ok()
    }

    fn try_reply(&mut self) -> Option<(RequestId, Result<Reply, CommandError>)> {
        // Those answered move to `replies`, in the order they were sent; the rest wait.
        let replies = &mut self.replies;
        self.waiting.retain_mut(|(id, answer)| {
            let reply = match answer.try_recv() {
                Ok(reply) => reply,
                Err(oneshot::error::TryRecvError::Empty) => return true,
                Err(oneshot::error::TryRecvError::Closed) => Err(client_closed()),
            };
            replies.push_back((*id, reply));
            false
        });
        self.replies.pop_front()
    }

    fn set_interval(&mut self, interval: Duration) {
        self.client.set_interval(interval);
    }

    fn set_waker(&mut self, waker: Box<dyn Fn() + Send + Sync>) {
        self.client.set_waker(waker);
    }

    fn memory_bytes(&self) -> Option<u64> {
        self.client.memory_bytes()
    }

    fn link(&self) -> Link {
        match self.client.link() {
            LinkState::Live => Link::Live,
            LinkState::Lost(error, attempts) => Link::Lost { error, attempts },
        }
    }
}
