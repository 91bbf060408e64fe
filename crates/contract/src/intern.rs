//! Labels shared on reading: a hundred thousand buckets all labelled `KV.Bucket` are read
//! into one `Arc<str>`, not a hundred thousand, which saves an allocation a process when a
//! snapshot is decoded and the memory of every copy while a view holds it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserializer;
use serde::de::Visitor;

/// How many distinct labels a thread keeps; past that it starts again (a node with more
/// kinds of process than this pays an allocation a label, as without the cache).
const CAPACITY: usize = 4096;

/// The labels a thread has read, and the last one: processes come in runs of siblings with
/// one label (a hundred thousand `KV.Bucket`s in a row), so comparing with the last label
/// first spares the hashing nearly always (it was a quarter of decoding a 100,000-process
/// snapshot).
#[derive(Default)]
struct Labels {
    last: Option<Arc<str>>,
    all: HashSet<Arc<str>>,
}

thread_local! {
    static LABELS: RefCell<Labels> = RefCell::new(Labels::default());
}

/// Reads a label, sharing it with the same label read before on this thread. The text is
/// read in place (a visitor, not a `String`): a label seen before costs no allocation.
pub(crate) fn label<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
    deserializer.deserialize_str(LabelVisitor)
}

struct LabelVisitor;

impl Visitor<'_> for LabelVisitor {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a label")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Arc<str>, E> {
        Ok(intern(text))
    }
}

fn intern(text: &str) -> Arc<str> {
    LABELS.with(|labels| {
        let mut labels = labels.borrow_mut();
        if let Some(last) = &labels.last
            && **last == *text
        {
            return last.clone();
        }
        let shared = match labels.all.get(text) {
            Some(shared) => shared.clone(),
            None => {
                if labels.all.len() >= CAPACITY {
                    labels.all.clear();
                }
                let shared: Arc<str> = Arc::from(text);
                labels.all.insert(shared.clone());
                shared
            }
        };
        labels.last = Some(shared.clone());
        shared
    })
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
