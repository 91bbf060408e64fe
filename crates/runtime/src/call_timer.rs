//! The deadlines of a node's calls that wait the default timeout, in one queue swept by one
//! task, instead of one tokio timer per call.
//!
//! Every call with the same timeout has a deadline later than the calls before it, so the
//! queue is a FIFO of buckets: a bucket takes every call made while it is open (at most
//! [`GRAIN`]) and fires the timeout after it closed, so no call fires before its timeout and,
//! on a runtime that is not overloaded, none later than about [`GRAIN`] after it (the BEAM's
//! timers are as coarse).
//! A call reads no clock and arms no timer: it puts its waker in the open bucket's slots at its
//! first wait and takes it out when it ends. The sweeper (a task on the node's runtime, alive
//! only while some bucket is) closes the open bucket after [`GRAIN`] and fires the buckets
//! whose deadline passed: it takes their wakers and wakes them; a call then sees its bucket
//! behind the queue's first one and reports its timeout. A reply that comes first just ends
//! the call, which frees its slot; a bucket left empty is dropped from the queue's front at
//! once, so the queue holds the buckets of calls still waiting and the open one.
//!
//! Must know: a call is polled for its reply before its deadline, so a reply that is there
//! when the deadline fires wins, as with tokio's `timeout`.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a bucket takes calls, and so how late past its timeout a call may fire.
pub(crate) const GRAIN: Duration = Duration::from_millis(1);

/// The most slots an emptied list may hold to be kept for reuse: a burst of calls does not
/// leave its memory behind.
const SPARE_CAPACITY: usize = 1024;

/// One node's queue of call deadlines for one timeout.
pub(crate) struct CallTimer {
    /// The timeout every call in the queue waits.
    timeout: Duration,
    /// The buckets and the sweeper's state.
    queue: Mutex<Queue>,
    /// Wakes the sweeper when a bucket opens (it may sleep until a later deadline).
    opened: Notify,
}

struct Queue {
    /// The buckets, oldest (earliest deadline) first; the last one may be open.
    buckets: VecDeque<Bucket>,
    /// The sequence number of `buckets[0]`: every bucket before it has fired or was empty.
    first_seq: u64,
    /// Until when the last bucket takes calls; `None` when no bucket is open.
    open_until: Option<Instant>,
    /// Whether a sweeper task runs.
    is_sweeping: bool,
    /// Emptied slot lists, kept for the next buckets.
    spare: Vec<Slots>,
}

struct Bucket {
    /// When its calls time out: the timeout after it closed; `None` while it is open.
    deadline: Option<Instant>,
    /// The wakers of its calls still waiting.
    slots: Slots,
}

/// Wakers by index, with a free list.
#[derive(Default)]
struct Slots {
    wakers: Vec<Option<Waker>>,
    free: Vec<u32>,
    live: usize,
}

impl Slots {
    fn insert(&mut self, waker: Waker) -> u32 {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            self.wakers[index as usize] = Some(waker);
            index
        } else {
            self.wakers.push(Some(waker));
            (self.wakers.len() - 1) as u32
        }
    }

    fn remove(&mut self, index: u32) {
        if let Some(slot) = self.wakers.get_mut(index as usize)
            && slot.take().is_some()
        {
            self.live -= 1;
            self.free.push(index);
        }
    }

    fn clear(&mut self) {
        self.wakers.clear();
        self.free.clear();
        self.live = 0;
    }
}

/// Where a waiting call's waker is: its bucket's sequence number and its slot.
#[derive(Clone, Copy, Debug)]
struct Key {
    seq: u64,
    index: u32,
}

impl CallTimer {
    /// A queue for calls that wait `timeout`.
    pub(crate) fn new(timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            timeout,
            queue: Mutex::new(Queue {
                buckets: VecDeque::new(),
                first_seq: 0,
                open_until: None,
                is_sweeping: false,
                spare: Vec::new(),
            }),
            opened: Notify::new(),
        })
    }

    /// The timeout its calls wait.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many buckets are queued (for tests: the queue empties).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.queue.lock().buckets.len()
    }

    /// A deadline for a call starting now, armed at its first wait.
    pub(crate) fn deadline<'a>(self: &'a Arc<Self>, runtime: &'a Handle) -> Deadline<'a> {
        Deadline {
            timer: self,
            runtime,
            key: None,
            has_expired: false,
        }
    }

    /// Puts `waker` in the open bucket, opening one (and starting the sweeper) if none is.
    fn register(self: &Arc<Self>, waker: &Waker, runtime: &Handle) -> Key {
        let mut queue = self.queue.lock();
        let mut start_sweeper = false;
        let mut wake_sweeper = false;
        if queue.open_until.is_none() {
            let now = Instant::now();
            let slots = queue.spare.pop().unwrap_or_default();
            queue.buckets.push_back(Bucket {
                deadline: None,
                slots,
            });
            queue.open_until = Some(now + GRAIN);
            wake_sweeper = true;
        }
        // Also when a bucket is open: a sweeper dropped with its runtime left it so.
        if !queue.is_sweeping {
            queue.is_sweeping = true;
            start_sweeper = true;
            wake_sweeper = false;
        }
        let seq = queue.first_seq + queue.buckets.len() as u64 - 1;
        let index = match queue.buckets.back_mut() {
            Some(bucket) => bucket.slots.insert(waker.clone()),
            None => 0,
        };
        drop(queue);
        if wake_sweeper {
            self.opened.notify_one();
        }
        if start_sweeper {
            // Outside the lock: a runtime that is shutting down drops the task at once, and
            // its guard takes the lock.
            let guard = SweeperGuard {
                timer: self.clone(),
                is_armed: true,
            };
            runtime.spawn(sweep(guard));
        }
        Key { seq, index }
    }

    /// Whether the call at `key` timed out; if not, makes sure its bucket holds `waker`.
    fn poll_key(&self, key: Key, waker: &Waker) -> bool {
        let mut queue = self.queue.lock();
        let Some(offset) = key.seq.checked_sub(queue.first_seq) else {
            return true;
        };
        if let Some(bucket) = queue.buckets.get_mut(offset as usize)
            && let Some(Some(slot)) = bucket.slots.wakers.get_mut(key.index as usize)
            && !slot.will_wake(waker)
        {
            *slot = waker.clone();
        }
        false
    }

    /// Takes a call that ended out of its bucket, and drops the emptied buckets at the front.
    fn deregister(&self, key: Key) {
        let mut queue = self.queue.lock();
        let Some(offset) = key.seq.checked_sub(queue.first_seq) else {
            return;
        };
        if let Some(bucket) = queue.buckets.get_mut(offset as usize) {
            bucket.slots.remove(key.index);
        }
        queue.drop_empty_front();
    }
}

impl Queue {
    /// Drops the empty buckets at the front, except an open one.
    fn drop_empty_front(&mut self) {
        while self.buckets.len() > usize::from(self.open_until.is_some())
            && self
                .buckets
                .front()
                .is_some_and(|bucket| bucket.slots.live == 0)
        {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) -> Option<Bucket> {
        let bucket = self.buckets.pop_front()?;
        self.first_seq += 1;
        Some(bucket)
    }
}

/// Marks the sweeper gone when its task is dropped with its runtime.
struct SweeperGuard {
    timer: Arc<CallTimer>,
    /// Cleared when the sweeper ends by itself (it marked itself gone under the lock).
    is_armed: bool,
}

impl Drop for SweeperGuard {
    fn drop(&mut self) {
        if self.is_armed {
            self.timer.queue.lock().is_sweeping = false;
        }
    }
}

/// The sweeper: closes the open bucket after [`GRAIN`], fires the buckets whose deadline
/// passed, and ends when no bucket is left.
async fn sweep(mut guard: SweeperGuard) {
    let timer = guard.timer.clone();
    let mut woken = Vec::new();
    loop {
        let next = {
            let mut queue = timer.queue.lock();
            let now = Instant::now();
            if queue.open_until.is_some_and(|until| until <= now) {
                // Every call in it was made by now: it fires the timeout from now.
                queue.open_until = None;
                if let Some(bucket) = queue.buckets.back_mut() {
                    bucket.deadline = Some(now + timer.timeout);
                }
            }
            while queue
                .buckets
                .front()
                .is_some_and(|bucket| bucket.deadline.is_some_and(|deadline| deadline <= now))
            {
                let Some(mut bucket) = queue.pop_front() else {
                    break;
                };
                woken.extend(bucket.slots.wakers.drain(..).flatten());
                bucket.slots.clear();
                if bucket.slots.wakers.capacity() <= SPARE_CAPACITY {
                    queue.spare.push(bucket.slots);
                }
            }
            queue.drop_empty_front();
            let first = queue.buckets.front().and_then(|bucket| bucket.deadline);
            let next = match (queue.open_until, first) {
                (Some(until), Some(first)) => until.min(first),
                (Some(until), None) => until,
                (None, Some(first)) => first,
                (None, None) => {
                    queue.is_sweeping = false;
                    queue.spare.clear();
                    guard.is_armed = false;
                    drop(queue);
                    for waker in woken.drain(..) {
                        waker.wake();
                    }
                    return;
                }
            };
            // Keep a few emptied lists, not one per bucket that ever fired.
            queue.spare.truncate(8);
            next
        };
        for waker in woken.drain(..) {
            waker.wake();
        }
        if woken.capacity() > SPARE_CAPACITY {
            woken = Vec::new();
        }
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = timer.opened.notified() => {}
        }
    }
}

/// A call's deadline in a [`CallTimer`]: ready once the call timed out. Dropping it takes
/// the call out of the queue.
pub(crate) struct Deadline<'a> {
    timer: &'a Arc<CallTimer>,
    runtime: &'a Handle,
    key: Option<Key>,
    has_expired: bool,
}

impl Deadline<'_> {
    /// Ready when the call's time is up; registers `cx`'s waker to be woken then.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.has_expired {
            return Poll::Ready(());
        }
        match self.key {
            None => {
                self.key = Some(self.timer.register(cx.waker(), self.runtime));
                Poll::Pending
            }
            Some(key) => {
                if self.timer.poll_key(key, cx.waker()) {
                    self.has_expired = true;
                    self.key = None;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// Waits for `future` until the deadline: `None` if the time ran out first. The future
    /// is polled first, so an answer there at the deadline wins.
    pub(crate) async fn within<F: Future>(&mut self, future: F) -> Option<F::Output> {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            self.poll_expired(cx).map(|()| None)
        })
        .await
    }
}

impl Drop for Deadline<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.timer.deregister(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn never() {
        std::future::pending::<()>().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_fires_after_its_timeout_and_within_a_grain() {
        let timer = CallTimer::new(Duration::from_secs(5));
        let handle = Handle::current();
        let started = Instant::now();
        let mut deadline = timer.deadline(&handle);
        assert_eq!(deadline.within(never()).await, None);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(5) && waited <= Duration::from_secs(5) + GRAIN * 2,
            "fired after {waited:?}"
        );
        drop(deadline);
        wait_for_empty(&timer).await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_just_before_the_deadline_wins() {
        let timer = CallTimer::new(Duration::from_secs(5));
        let handle = Handle::current();
        let mut deadline = timer.deadline(&handle);
        let answer = async {
            tokio::time::sleep(Duration::from_millis(4_999)).await;
            7
        };
        assert_eq!(deadline.within(answer).await, Some(7));
        drop(deadline);
        wait_for_empty(&timer).await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_ready_at_the_deadline_wins() {
        let timer = CallTimer::new(Duration::from_millis(10));
        let handle = Handle::current();
        let mut deadline = timer.deadline(&handle);
        // Ready exactly when the bucket fires (10 ms plus the grain, on paused time).
        let answer = async {
            tokio::time::sleep(Duration::from_millis(10) + GRAIN).await;
            7
        };
        assert_eq!(deadline.within(answer).await, Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn many_concurrent_calls_each_time_out_and_the_queue_empties() {
        let timer = CallTimer::new(Duration::from_secs(5));
        let started = Instant::now();
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..1_000u64 {
            let timer = timer.clone();
            calls.spawn(async move {
                // Spread the calls over a second, in steps finer and coarser than the grain.
                tokio::time::sleep(Duration::from_micros(i * 1_000 + i % 3 * 300)).await;
                let made = Instant::now();
                let handle = Handle::current();
                let mut deadline = timer.deadline(&handle);
                // Every other call is answered after 2 s.
                let answer = async move {
                    if i % 2 == 0 {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    } else {
                        never().await;
                    }
                };
                let answered = deadline.within(answer).await.is_some();
                (i, answered, made.elapsed())
            });
        }
        let mut count = 0;
        while let Some(done) = calls.join_next().await {
            let (i, answered, waited) = done.unwrap();
            count += 1;
            if i % 2 == 0 {
                assert!(answered, "call {i} was answered");
                assert!(
                    waited >= Duration::from_secs(2) && waited <= Duration::from_secs(2) + GRAIN,
                    "call {i} answered after {waited:?}"
                );
            } else {
                assert!(!answered, "call {i} timed out");
                assert!(
                    waited >= Duration::from_secs(5)
                        && waited <= Duration::from_secs(5) + GRAIN * 2,
                    "call {i} fired after {waited:?}"
                );
            }
        }
        assert_eq!(count, 1_000);
        assert!(started.elapsed() < Duration::from_secs(7));
        wait_for_empty(&timer).await;
    }

    #[tokio::test(start_paused = true)]
    async fn answered_calls_leave_no_bucket_behind() {
        let timer = CallTimer::new(Duration::from_secs(5));
        let handle = Handle::current();
        for _ in 0..10_000 {
            let mut deadline = timer.deadline(&handle);
            let answer = async {
                tokio::task::yield_now().await;
            };
            assert_eq!(deadline.within(answer).await, Some(()));
        }
        // At most the open bucket is left; the sweeper closes it and ends.
        assert!(timer.len() <= 1, "{} buckets queued", timer.len());
        wait_for_empty(&timer).await;
    }

    #[test]
    fn a_sweeper_dropped_with_its_runtime_is_started_again() {
        let timer = CallTimer::new(Duration::from_millis(10));
        let paused = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap()
        };
        let first = paused();
        first.block_on(async {
            let handle = Handle::current();
            let mut deadline = timer.deadline(&handle);
            let answer = tokio::task::yield_now();
            assert_eq!(deadline.within(answer).await, Some(()));
        });
        // The runtime goes with its sweeper, leaving the bucket open.
        drop(first);
        assert!(!timer.queue.lock().is_sweeping);
        paused().block_on(async {
            let handle = Handle::current();
            let mut deadline = timer.deadline(&handle);
            let fired =
                tokio::time::timeout(Duration::from_secs(1), deadline.within(never())).await;
            assert_eq!(fired, Ok(None), "the deadline fired");
        });
    }

    /// Waits (on paused time) until the queue is empty and its sweeper gone.
    async fn wait_for_empty(timer: &CallTimer) {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let queue = timer.queue.lock();
                if queue.buckets.is_empty() && !queue.is_sweeping {
                    return;
                }
            }
            assert!(Instant::now() < until, "the queue did not empty");
            tokio::time::sleep(GRAIN).await;
        }
    }
}
