//! The KV app's commands for observers: create a bucket, put, get, delete, and create many
//! buckets at once, so the chapter's iex session can be replayed from a view or a script.
//!
//! Implements [`AppControl`] from the snapshot stream's public API, as any application that
//! wants its own commands in the Observer would. The registry is resolved by name at each
//! command, so the commands keep working after `KV.Registry` restarts.

use std::time::{Duration, Instant};

use crate::runtime::Node;
use crate::snapshot::{AppControl, AppFuture, Command, CommandError, Reply};

use super::bucket::Bucket;
use super::registry::Registry;

/// How long `create` waits for the registry to have started the bucket.
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);

/// Carries out the KV commands on one node.
#[derive(Clone, Debug)]
pub struct KvControl {
    /// The node the KV app runs on.
    node: Node,
}

impl KvControl {
    /// Commands for the KV app on `node`.
    pub fn new(node: &Node) -> Self {
        Self { node: node.clone() }
    }

    fn registry(&self) -> Result<Registry, CommandError> {
        Registry::whereis(&self.node)
            .ok_or_else(|| CommandError::UnknownName(super::REGISTRY.to_owned()))
    }

    /// The bucket the registry maps `name` to.
    pub async fn bucket(&self, name: &str) -> Result<Bucket, CommandError> {
        let registry = self.registry()?;
        match registry.lookup(name).await {
            Ok(Some(bucket)) => Ok(bucket),
            Ok(None) => Err(CommandError::UnknownName(format!("bucket {name}"))),
            Err(error) => Err(CommandError::App(error.to_string())),
        }
    }

    /// Creates a bucket (a cast, as in the chapter) and waits until the registry knows it.
    pub async fn create(&self, name: &str) -> Result<Bucket, CommandError> {
        let registry = self.registry()?;
        registry
            .create(name)
            .map_err(|error| CommandError::App(error.to_string()))?;
        let started = Instant::now();
        loop {
            match registry.lookup(name).await {
                Ok(Some(bucket)) => return Ok(bucket),
                Ok(None) if started.elapsed() < CREATE_TIMEOUT => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok(None) => {
                    return Err(CommandError::App(format!(
                        "the registry did not create bucket {name} (is KV.BucketSupervisor running?)"
                    )));
                }
                Err(error) => return Err(CommandError::App(error.to_string())),
            }
        }
    }

    async fn execute_command(&self, command: Command) -> Result<Reply, CommandError> {
        let app_error = |error: crate::runtime::CallError| CommandError::App(error.to_string());
        match command {
            Command::CreateBucket { name } => {
                self.create(&name).await?;
                Ok(Reply::Done)
            }
            Command::Put { bucket, key, value } => {
                self.bucket(&bucket)
                    .await?
                    .put(key, value)
                    .await
                    .map_err(app_error)?;
                Ok(Reply::Done)
            }
            Command::Get { bucket, key } => {
                let value = self
                    .bucket(&bucket)
                    .await?
                    .get(&key)
                    .await
                    .map_err(app_error)?;
                Ok(Reply::Value { value })
            }
            Command::Delete { bucket, key } => {
                let value = self
                    .bucket(&bucket)
                    .await?
                    .delete(&key)
                    .await
                    .map_err(app_error)?;
                Ok(Reply::Value { value })
            }
            Command::CreateBuckets { count } => {
                let registry = self.registry()?;
                let first = registry.names().await.map_err(app_error)?.len();
                for index in 0..count {
                    let name = format!("bucket-{}", first as u64 + index);
                    registry
                        .create(name)
                        .map_err(|error| CommandError::App(error.to_string()))?;
                }
                Ok(Reply::Done)
            }
            other => Err(CommandError::NotSupported(other.name().to_owned())),
        }
    }
}

impl AppControl for KvControl {
    fn execute(&self, command: Command) -> AppFuture<'_> {
        Box::pin(self.execute_command(command))
    }
}
