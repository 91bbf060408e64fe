//! The key-value app of the Elixir guide chapter "Dynamic supervisors": `KV.Bucket`,
//! `KV.Registry`, `KV.BucketSupervisor` and `KV.Supervisor`, built on the public runtime API
//! only, as a user of the crate would write it.
//!
//! The chapter walks through four designs before it settles, and each one can be started
//! here as a [`Stage`] so its flaw can be reproduced and watched:
//!
//! | stage         | KV.Supervisor                                   | buckets                 |
//! |---------------|-------------------------------------------------|-------------------------|
//! | `linked`      | one_for_one `[KV.Registry]`                     | linked to the registry  |
//! | `permanent`   | one_for_one `[KV.Registry, KV.BucketSupervisor]`| permanent, supervised   |
//! | `one_for_one` | one_for_one `[KV.Registry, KV.BucketSupervisor]`| temporary, supervised   |
//! | `final`       | one_for_all `[KV.BucketSupervisor, KV.Registry]`| temporary, supervised   |
//!
//! Start one with [`start`]; the returned [`KvApp`] resolves the registry and the bucket
//! supervisor by their registered names each time it is asked, so it keeps working across
//! restarts. For isolated tests (the chapter's "Shared state in tests"), start a [`Registry`]
//! against your own [`DynamicSupervisor`] with
//! [`RegistryOptions::isolated`](registry::RegistryOptions::isolated).

pub mod bucket;
pub mod control;
pub mod registry;
pub mod supervisor;

use std::fmt;
use std::str::FromStr;

use crate::runtime::{DynamicSupervisor, Node, StartError, Supervisor};

use registry::Registry;

/// The behaviour label of buckets, and the child id of their specs (buckets have no name).
pub const BUCKET: &str = "KV.Bucket";
/// The registered name and label of the registry.
pub const REGISTRY: &str = "KV.Registry";
/// The registered name and label of the dynamic supervisor of buckets.
pub const BUCKET_SUPERVISOR: &str = "KV.BucketSupervisor";
/// The registered name and label of the app's top supervisor.
pub const SUPERVISOR: &str = "KV.Supervisor";

/// One of the designs the chapter walks through, in the order it discusses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The registry starts buckets linked to itself.
    Linked,
    /// Buckets live under `KV.BucketSupervisor` but are permanent.
    Permanent,
    /// Buckets are temporary; `KV.Supervisor` is one_for_one with the registry first.
    OneForOne,
    /// `KV.Supervisor` is one_for_all with the bucket supervisor first: the chapter's answer.
    Final,
}

impl Stage {
    /// Every stage, in the chapter's order.
    pub const ALL: [Self; 4] = [Self::Linked, Self::Permanent, Self::OneForOne, Self::Final];

    /// The word a stage is written as: `linked`, `permanent`, `one_for_one`, `final`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linked => "linked",
            Self::Permanent => "permanent",
            Self::OneForOne => "one_for_one",
            Self::Final => "final",
        }
    }

    /// One line on the stage's design and its flaw.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Linked => {
                "the registry starts buckets linked to itself: one crashing bucket takes down \
                 the registry, every name and every other bucket"
            }
            Self::Permanent => {
                "buckets are permanent children of KV.BucketSupervisor: a crashed bucket is \
                 restarted empty and the registry never learns its pid, a leak"
            }
            Self::OneForOne => {
                "temporary buckets under a one_for_one KV.Supervisor with the registry first: \
                 the registry can outrun the bucket supervisor it needs, and a registry crash \
                 leaves the old buckets running as orphans"
            }
            Self::Final => {
                "one_for_all over [KV.BucketSupervisor, KV.Registry]: the bucket supervisor \
                 starts first and a registry crash takes every bucket down, no leaks, no orphans"
            }
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage name that is not one of the four.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage `{input}`: expected one of linked, permanent, one_for_one, final")]
pub struct ParseStageError {
    /// What was given.
    pub input: String,
}

impl FromStr for Stage {
    type Err = ParseStageError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let word = text.trim();
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == word)
            .ok_or_else(|| ParseStageError {
                input: word.to_owned(),
            })
    }
}

/// A running KV app: its top supervisor and the stage it was started as.
#[derive(Clone, Debug)]
pub struct KvApp {
    /// The node the app runs on, to resolve its registered names.
    node: Node,
    /// `KV.Supervisor`, the root of the app's tree.
    supervisor: Supervisor,
    /// Which of the chapter's designs this is.
    stage: Stage,
}

/// Starts `KV.Supervisor` for `stage` on `node`, unlinked (the node is its parent), and
/// returns once every child has started.
pub async fn start(node: &Node, stage: Stage) -> Result<KvApp, StartError> {
    let supervisor = supervisor::start(node, stage).await?;
    Ok(KvApp {
        node: node.clone(),
        supervisor,
        stage,
    })
}

impl KvApp {
    /// `KV.Supervisor`.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The stage the app was started as.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The node the app runs on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The registry registered as `KV.Registry` now, if one is (not while it restarts).
    pub fn registry(&self) -> Option<Registry> {
        Registry::whereis(&self.node)
    }

    /// The dynamic supervisor registered as `KV.BucketSupervisor` now, if one is. The
    /// `linked` stage has none.
    pub fn bucket_supervisor(&self) -> Option<DynamicSupervisor> {
        DynamicSupervisor::whereis(&self.node, BUCKET_SUPERVISOR)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stages_print_and_parse_as_their_words() {
        for stage in Stage::ALL {
            assert_eq!(stage.to_string().parse::<Stage>(), Ok(stage));
            assert!(!stage.describe().contains('\n'));
        }
        assert_eq!(" final ".parse::<Stage>(), Ok(Stage::Final));
        let error = "rest_for_one".parse::<Stage>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown stage `rest_for_one`: expected one of linked, permanent, one_for_one, final"
        );
    }
}
