//! `KV.Bucket`: an agent holding one bucket's keys and values.
//!
//! A bucket has no registered name (the registry knows it by pid) and the label `KV.Bucket`.
//! It describes its state to observers as its keys and values sorted by key. Its child spec is
//! temporary, as the chapter's `use Agent, restart: :temporary`: a bucket that exits is never
//! restarted, whatever the reason, because nobody could reach a restarted one.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use crate::runtime::{
    Agent, CallError, ChildSpec, Context, ExitReason, Node, Pid, Restart, SpawnOptions, StartError,
    StateReport,
};

use super::BUCKET;

/// `KV.Bucket` as one string shared by every bucket (their label and child id): 100,000
/// buckets hold one allocation, and an observer reading them touches one.
static BUCKET_NAME: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(BUCKET));

/// The one spec every bucket is started from (see [`Bucket::child_spec`]).
static BUCKET_SPEC: LazyLock<ChildSpec> = LazyLock::new(|| {
    ChildSpec::worker(BUCKET_NAME.clone(), |ctx| async move {
        let bucket = Bucket::start_link(&ctx).await?;
        Ok(bucket.pid().into())
    })
    .restart(Restart::Temporary)
});

/// A handle to a running bucket. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// The agent holding the bucket's map.
    agent: Agent<HashMap<String, String>>,
}

impl Bucket {
    /// Starts an empty bucket linked to the calling process.
    pub async fn start_link(ctx: &Context) -> Result<Self, StartError> {
        let agent = Agent::start_link_described(
            ctx,
            HashMap::new,
            SpawnOptions::new().label(BUCKET_NAME.clone()),
            describe,
        )
        .await?;
        Ok(Self { agent })
    }

    /// The spec a supervisor starts a bucket from: id `KV.Bucket`, temporary. Every call
    /// gives a clone of one spec, so a dynamic supervisor's million buckets share it.
    pub fn child_spec() -> ChildSpec {
        BUCKET_SPEC.clone()
    }

    /// The handle of the live bucket `pid`, if it is one.
    pub fn from_pid(node: &Node, pid: Pid) -> Option<Self> {
        Agent::from_pid(node, pid).map(|agent| Self { agent })
    }

    /// The bucket's pid.
    pub fn pid(&self) -> Pid {
        self.agent.pid()
    }

    /// Whether the bucket is alive.
    pub fn is_alive(&self) -> bool {
        self.agent.is_alive()
    }

    /// Puts `value` under `key`.
    pub async fn put(
        &self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), CallError> {
        let (key, value) = (key.into(), value.into());
        self.agent
            .update(move |map| {
                map.insert(key, value);
            })
            .await
    }

    /// The value under `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<String>, CallError> {
        let key = key.to_owned();
        self.agent.get(move |map| map.get(&key).cloned()).await
    }

    /// Removes `key` and returns its value, if it had one.
    pub async fn delete(&self, key: &str) -> Result<Option<String>, CallError> {
        let key = key.to_owned();
        self.agent.get_and_update(move |map| map.remove(&key)).await
    }

    /// Every key and value, sorted by key.
    pub async fn entries(&self) -> Result<Vec<(String, String)>, CallError> {
        self.agent.get(describe).await
    }

    /// Stops the bucket with `reason` and waits until it has exited (`Agent.stop/2`).
    pub async fn stop(&self, reason: ExitReason) -> Result<(), CallError> {
        self.agent.stop(reason).await
    }
}

/// A bucket's state as observers see it: keys and values, sorted by key.
fn describe(map: &HashMap<String, String>) -> StateReport {
    let mut rows: StateReport = map
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    rows.sort_unstable();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_lists_keys_and_values_sorted_by_key() {
        let map = HashMap::from([
            ("milk".to_owned(), "3".to_owned()),
            ("eggs".to_owned(), "12".to_owned()),
        ]);
        assert_eq!(
            describe(&map),
            vec![
                ("eggs".to_owned(), "12".to_owned()),
                ("milk".to_owned(), "3".to_owned())
            ]
        );
    }
}
