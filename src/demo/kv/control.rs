//! The KV app's commands for observers: create a bucket, look one up, put, get, delete, and
//! create many buckets at once, so the chapter's iex session can be replayed from a view or a
//! script.
//!
//! Implements [`AppControl`] from the snapshot stream's public API, as any application that
//! wants its own commands in the Observer would. The registry is resolved by name at each
//! command, so the commands keep working after `KV.Registry` restarts.
//!
//! Creating many buckets casts `create` in chunks of [`CREATE_CHUNK`]; after each chunk a
//! cheap call ([`Registry::count`]) returns once the registry has handled the chunk's casts
//! (a call from one caller is handled after its casts), so every bucket of the chunk has
//! started. Then it reports how many are done ([`Progress`]), and it answers only once the
//! last has started. The registry's mailbox never holds more than a chunk.

use std::time::{Duration, Instant};

use crate::contract::{
    AppCommand, AppSpec, ArgKind, ArgSpec, Command, CommandError, CommandSpec, Pid, Progress,
    Reply, format,
};
use crate::runtime::Node;
use crate::snapshot::{AppControl, AppFuture, Control, ProgressReporter};

use super::bucket::Bucket;
use super::registry::Registry;

/// How long `create` waits for the registry to have started the bucket.
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many `create` casts `create_buckets` sends before it waits for the registry to have
/// handled them and reports its progress.
pub const CREATE_CHUNK: usize = 10_000;

/// How long `create_buckets` waits for the registry to handle one chunk (a slow debug build
/// under load takes a second or two).
const CHUNK_TIMEOUT: Duration = Duration::from_secs(60);

/// What `create_buckets`' progress counts.
pub const CREATED: &str = "buckets created";

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

    /// Creates `count` buckets named after how many the registry knows (`bucket-1000` on),
    /// in chunks, reporting after each how many it has created; returns once every one of
    /// them has started (see the module docs).
    pub async fn create_many(
        &self,
        count: usize,
        progress: &ProgressReporter,
    ) -> Result<(), CommandError> {
        let app_error = |error: crate::runtime::CallError| CommandError::App(error.to_string());
        let registry = self.registry()?;
        let first = registry.count(CHUNK_TIMEOUT).await.map_err(app_error)?;
        let total = count as u64;
        progress.report(Progress::new(0, total, CREATED));
        let mut done = 0;
        while done < count {
            let end = (done + CREATE_CHUNK).min(count);
            for index in done..end {
                registry
                    .create(format!("bucket-{}", first + index))
                    .map_err(app_error)?;
            }
            // Answered after the casts above: their buckets have started.
            registry.count(CHUNK_TIMEOUT).await.map_err(app_error)?;
            done = end;
            progress.report(Progress::new(done as u64, total, CREATED));
        }
        Ok(())
    }

    async fn execute_command(
        &self,
        command: AppCommand,
        progress: ProgressReporter,
    ) -> Result<Reply, CommandError> {
        let app_error = |error: crate::runtime::CallError| CommandError::App(error.to_string());
        match command.name.as_str() {
            "create_bucket" => {
                self.create(command.text("bucket")?).await?;
                Ok(Reply::Done)
            }
            "put" => {
                let (key, value) = (command.text("key")?, command.text("value")?);
                let bucket = self.bucket(command.text("bucket")?).await?;
                bucket.put(key, value).await.map_err(app_error)?;
                Ok(Reply::Done)
            }
            "lookup" => {
                let registry = self.registry()?;
                let bucket = registry
                    .lookup(command.text("bucket")?)
                    .await
                    .map_err(app_error)?;
                Ok(Reply::Found {
                    pid: bucket.map(|bucket| Pid(bucket.pid().serial())),
                })
            }
            "get" => {
                let bucket = self.bucket(command.text("bucket")?).await?;
                let value = bucket.get(command.text("key")?).await.map_err(app_error)?;
                Ok(Reply::Value { value })
            }
            "delete" => {
                let bucket = self.bucket(command.text("bucket")?).await?;
                let value = bucket
                    .delete(command.text("key")?)
                    .await
                    .map_err(app_error)?;
                Ok(Reply::Value { value })
            }
            "create_buckets" => {
                let count = usize::try_from(command.integer("count")?).unwrap_or(0);
                self.create_many(count, &progress).await?;
                Ok(Reply::Done)
            }
            _ => Err(CommandError::NotSupported(command.to_string())),
        }
    }
}

/// The KV app's commands as a view shows them: a console with a bucket, a key and a value,
/// and the chapter's iex line for each.
pub fn spec() -> AppSpec {
    let bucket = ArgSpec::new("bucket", "Bucket", ArgKind::Text).hint("shopping");
    let key = ArgSpec::new("key", "Key", ArgKind::Text).hint("milk");
    let value = ArgSpec::new("value", "Value", ArgKind::Text).hint("3");
    let lookup = "{:ok, bucket} = KV.Registry.lookup(KV.Registry, \"{bucket}\"); ";
    let create_many = |count: i64| {
        CommandSpec::new(
            "create_buckets",
            format!("Create {} buckets", format::thousands(count.unsigned_abs())),
        )
        .help(format!(
            "Starts {} buckets under KV.BucketSupervisor, {} at a time, to watch the Observer \
             at scale; its progress shows under the iex line{}",
            format::thousands(count.unsigned_abs()),
            format::thousands(CREATE_CHUNK as u64),
            if count >= 1_000_000 {
                " (a million takes several seconds and about 2.5 GB of memory with the Observer)"
            } else {
                ""
            }
        ))
        .fixed("count", count)
        .equivalent("for i <- 1..{count}, do: KV.Registry.create(KV.Registry, \"bucket-#{i}\")")
    };
    AppSpec {
        name: APP.to_owned(),
        title: "KV".to_owned(),
        prompt: Some("iex>".to_owned()),
        commands: vec![
            CommandSpec::new("create_bucket", "Create bucket")
                .help("Asks KV.Registry to create a bucket under this name")
                .arg(bucket.clone())
                .equivalent("KV.Registry.create(KV.Registry, \"{bucket}\")")
                .submit_from(["bucket"]),
            CommandSpec::new("lookup", "Lookup")
                .help("Asks KV.Registry which bucket has this name")
                .arg(bucket.clone())
                .equivalent("KV.Registry.lookup(KV.Registry, \"{bucket}\")"),
            CommandSpec::new("put", "Put")
                .help("Puts the value under the key in the bucket")
                .arg(bucket.clone())
                .arg(key.clone())
                .arg(value)
                .equivalent(format!(
                    "{lookup}KV.Bucket.put(bucket, \"{{key}}\", \"{{value}}\")"
                ))
                .submit_from(["key", "value"]),
            CommandSpec::new("get", "Get")
                .help("Reads the key from the bucket")
                .arg(bucket.clone())
                .arg(key.clone())
                .equivalent(format!("{lookup}KV.Bucket.get(bucket, \"{{key}}\")"))
                .submit_from(["key"]),
            CommandSpec::new("delete", "Delete")
                .help("Deletes the key from the bucket and gives its value")
                .arg(bucket)
                .arg(key)
                .equivalent(format!("{lookup}KV.Bucket.delete(bucket, \"{{key}}\")")),
            create_many(1_000),
            create_many(1_000_000),
        ],
    }
}

/// What observers may do with the KV app running on `node`: the built-in commands and the
/// KV console's.
pub fn for_node(node: &Node) -> Control {
    Control::new(node).with_app(std::sync::Arc::new(KvControl::new(node)))
}

/// The name the KV app's commands carry ([`AppCommand::app`]).
pub const APP: &str = "kv";

/// `KV.Registry.create(KV.Registry, name)` as a command for a view.
pub fn create_bucket(name: &str) -> Command {
    Command::App(AppCommand::new(APP, "create_bucket").arg("bucket", name))
}

/// `KV.Registry.lookup(KV.Registry, name)` as a command for a view.
pub fn lookup(name: &str) -> Command {
    Command::App(AppCommand::new(APP, "lookup").arg("bucket", name))
}

/// `KV.Bucket.put(bucket, key, value)` as a command for a view.
pub fn put(bucket: &str, key: &str, value: &str) -> Command {
    let command = AppCommand::new(APP, "put")
        .arg("bucket", bucket)
        .arg("key", key);
    Command::App(command.arg("value", value))
}

/// `KV.Bucket.get(bucket, key)` as a command for a view.
pub fn get(bucket: &str, key: &str) -> Command {
    Command::App(
        AppCommand::new(APP, "get")
            .arg("bucket", bucket)
            .arg("key", key),
    )
}

/// `KV.Bucket.delete(bucket, key)` as a command for a view.
pub fn delete(bucket: &str, key: &str) -> Command {
    Command::App(
        AppCommand::new(APP, "delete")
            .arg("bucket", bucket)
            .arg("key", key),
    )
}

/// Creates `count` buckets, as a command for a view.
pub fn create_buckets(count: i64) -> Command {
    Command::App(AppCommand::new(APP, "create_buckets").arg("count", count))
}

impl AppControl for KvControl {
    fn spec(&self) -> AppSpec {
        spec()
    }

    fn execute(&self, command: AppCommand) -> AppFuture<'_> {
        self.execute_reporting(command, ProgressReporter::ignore())
    }

    fn execute_reporting(&self, command: AppCommand, progress: ProgressReporter) -> AppFuture<'_> {
        Box::pin(self.execute_command(command, progress))
    }
}
