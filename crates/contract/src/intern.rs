//! Labels shared on reading: a hundred thousand buckets all labelled `KV.Bucket` are read
//! into one `Arc<str>`, not a hundred thousand, which saves an allocation a process when a
//! snapshot is decoded and the memory of every copy while a view holds it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};

/// How many distinct labels a thread keeps; past that it starts again (a node with more
/// kinds of process than this pays an allocation a label, as without the cache).
const CAPACITY: usize = 4096;

thread_local! {
    static LABELS: RefCell<HashSet<Arc<str>>> = RefCell::new(HashSet::new());
}

/// Reads a label, sharing it with the same label read before on this thread.
pub(crate) fn label<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    Ok(LABELS.with(|labels| {
        let mut labels = labels.borrow_mut();
        if let Some(shared) = labels.get(&*text) {
            return shared.clone();
        }
        if labels.len() >= CAPACITY {
            labels.clear();
        }
        let shared: Arc<str> = Arc::from(&*text);
        labels.insert(shared.clone());
        shared
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::{Pid, ProcessInfo, ProcessKind, binary};

    #[test]
    fn the_same_label_is_read_once() {
        let infos: Vec<ProcessInfo> = (1..4)
            .map(|pid| ProcessInfo::new(Pid(pid), ProcessKind::Agent, "KV.Bucket"))
            .collect();
        let read: Vec<ProcessInfo> = binary::decode(&binary::encode(&infos).unwrap()).unwrap();
        assert_eq!(read, infos);
        assert!(std::sync::Arc::ptr_eq(&read[0].label, &read[2].label));
        let json: Vec<ProcessInfo> =
            serde_json::from_str(&serde_json::to_string(&infos).unwrap()).unwrap();
        assert!(std::sync::Arc::ptr_eq(&json[0].label, &json[1].label));
    }
}
