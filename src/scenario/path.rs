//! Tree paths: a process named by where it sits rather than by its pid, so that a name found
//! in one run (a chaos kill, a lesson's target) points at the same place in another run.
//!
//! A path starts at a root (its registered name, else its label), then takes one step per
//! level: the child's id under its supervisor, else (a process started by a worker, such as
//! the linked stage's buckets) its name or label. Siblings that share a step are told apart
//! by their place among those siblings in start order, from 1: `KV.Bucket[2]`. [`path_of`]
//! and [`paths`] write `[N]` only where siblings share the step; [`resolve`] reads a bare step
//! as `[1]`. (Not `#`: it starts a comment in scripts.)
//!
//! A path names a place, not an incarnation: once the process there is restarted, the path
//! names the new one.

use std::collections::HashMap;

use crate::snapshot::model::{Pid, ProcessInfo, Snapshot};

/// What a process is called one level below its parent: its child id, else its name or label.
pub fn step(info: &ProcessInfo) -> &str {
    info.child_id
        .as_deref()
        .unwrap_or_else(|| info.display_name())
}

/// The path of `pid` in `snapshot`, from its root: `KV.Supervisor/KV.BucketSupervisor/KV.Bucket[2]`.
/// `None` if the process is not in the snapshot.
pub fn path_of(snapshot: &Snapshot, pid: Pid) -> Option<String> {
    let info = snapshot.process(pid)?;
    let mut steps = vec![step_in(snapshot, info)];
    let mut current = info;
    while let Some(parent) = current.parent.and_then(|parent| snapshot.process(parent)) {
        if !parent.children.contains(&current.pid) {
            break;
        }
        steps.push(step_in(snapshot, parent));
        current = parent;
    }
    steps.reverse();
    Some(steps.join("/"))
}

/// The step of `info` among its siblings, with `[N]` when siblings share it.
fn step_in(snapshot: &Snapshot, info: &ProcessInfo) -> String {
    let own = step(info);
    let Some(parent) = info.parent.and_then(|parent| snapshot.process(parent)) else {
        return own.to_owned();
    };
    if !parent.children.contains(&info.pid) {
        return own.to_owned();
    }
    let sharing: Vec<Pid> = snapshot
        .children_of(parent.pid)
        .filter(|sibling| step(sibling) == own)
        .map(|sibling| sibling.pid)
        .collect();
    if sharing.len() < 2 {
        return own.to_owned();
    }
    let place = sharing.iter().position(|pid| *pid == info.pid).unwrap_or(0) + 1;
    format!("{own}[{place}]")
}

/// The path of every process of `snapshot` that hangs from a root, roots first, each
/// subtree in start order: what [`path_of`] gives for each, in one walk (a parent of 100,000
/// children is read once, not once per child).
pub fn paths(snapshot: &Snapshot) -> Vec<(Pid, String)> {
    let mut out = Vec::with_capacity(snapshot.len());
    let mut stack: Vec<(Pid, String)> = snapshot
        .roots()
        .map(|root| (root.pid, step(root).to_owned()))
        .collect();
    stack.reverse();
    while let Some((pid, path)) = stack.pop() {
        let mut shared: HashMap<&str, usize> = HashMap::new();
        for child in snapshot.children_of(pid) {
            *shared.entry(step(child)).or_default() += 1;
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut children: Vec<(Pid, String)> = Vec::new();
        for child in snapshot.children_of(pid) {
            let own = step(child);
            let child_path = if shared.get(own).copied().unwrap_or(0) > 1 {
                let place = seen.entry(own).or_default();
                *place += 1;
                format!("{path}/{own}[{place}]")
            } else {
                format!("{path}/{own}")
            };
            children.push((child.pid, child_path));
        }
        out.push((pid, path));
        stack.extend(children.into_iter().rev());
    }
    out
}

/// Splits `KV.Bucket[2]` into the step and its place (1 when not written).
fn split_place(step: &str) -> (&str, usize) {
    if let Some((name, place)) = step
        .strip_suffix(']')
        .and_then(|step| step.rsplit_once('['))
        && let Ok(place) = place.parse::<usize>()
        && place >= 1
    {
        return (name, place);
    }
    (step, 1)
}

/// The live process at `path` in `snapshot`, if any. The first step is a root by registered
/// name or label, or else any process registered under that name.
pub fn resolve(snapshot: &Snapshot, path: &[String]) -> Option<Pid> {
    let (first, rest) = path.split_first()?;
    let root = snapshot
        .roots()
        .find(|info| info.name.as_deref() == Some(first.as_str()) || *info.label == **first);
    let mut current = root.or_else(|| {
        snapshot
            .processes()
            .find(|info| info.name.as_deref() == Some(first.as_str()))
    })?;
    for wanted in rest {
        let (wanted, place) = split_place(wanted);
        current = snapshot
            .children_of(current.pid)
            .filter(|child| step(child) == wanted)
            .nth(place - 1)?;
    }
    Some(current.pid)
}

/// Whether `text` matches the glob `pattern`: `*` any run of characters (`/` included), `?`
/// any one character, anything else itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // The classic two-pointer match with one backtrack point for the latest `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::snapshot::model::{ProcessKind, Strategy};

    fn tree() -> Snapshot {
        let process = |pid: u64, label: &str, parent: Option<u64>, child_id: Option<&str>| {
            let mut info = ProcessInfo::new(Pid(pid), ProcessKind::Agent, label);
            info.parent = parent.map(Pid);
            info.child_id = child_id.map(Arc::from);
            info
        };
        let mut top = ProcessInfo::new(
            Pid(1),
            ProcessKind::Supervisor {
                strategy: Strategy::OneForAll,
                max_restarts: 3,
                max_seconds: 5,
            },
            "KV.Supervisor",
        );
        top.name = Some("KV.Supervisor".into());
        top.children = [Pid(2), Pid(3)].into_iter().collect();
        let mut buckets = process(
            2,
            "KV.BucketSupervisor",
            Some(1),
            Some("KV.BucketSupervisor"),
        );
        buckets.name = Some("KV.BucketSupervisor".into());
        buckets.children = [Pid(4), Pid(6)].into_iter().collect();
        let registry = process(3, "KV.Registry", Some(1), Some("KV.Registry"));
        let first = process(4, "KV.Bucket", Some(2), Some("KV.Bucket"));
        let second = process(6, "KV.Bucket", Some(2), Some("KV.Bucket"));
        Snapshot::new(
            "test",
            0,
            0,
            1,
            [top, buckets, registry, first, second]
                .into_iter()
                .map(Arc::new),
        )
    }

    #[test]
    fn paths_name_places_and_tell_shared_steps_apart() {
        let snapshot = tree();
        let path = |pid| path_of(&snapshot, Pid(pid)).unwrap();
        assert_eq!(path(1), "KV.Supervisor");
        assert_eq!(path(3), "KV.Supervisor/KV.Registry");
        assert_eq!(path(4), "KV.Supervisor/KV.BucketSupervisor/KV.Bucket[1]");
        assert_eq!(path(6), "KV.Supervisor/KV.BucketSupervisor/KV.Bucket[2]");
        for pid in [1, 2, 3, 4, 6] {
            let steps: Vec<String> = path(pid).split('/').map(str::to_owned).collect();
            assert_eq!(resolve(&snapshot, &steps), Some(Pid(pid)));
        }
        let bare: Vec<String> = "KV.Supervisor/KV.BucketSupervisor/KV.Bucket"
            .split('/')
            .map(str::to_owned)
            .collect();
        assert_eq!(resolve(&snapshot, &bare), Some(Pid(4)));
        let walked: Vec<(Pid, String)> = [1, 2, 4, 6, 3]
            .into_iter()
            .map(|pid| (Pid(pid), path(pid)))
            .collect();
        assert_eq!(paths(&snapshot), walked);
        let third: Vec<String> = vec!["KV.BucketSupervisor".into(), "KV.Bucket[3]".into()];
        assert_eq!(resolve(&snapshot, &third), None);
    }

    #[test]
    fn globs_match_whole_texts() {
        assert!(glob_matches("*", "KV.Supervisor/KV.Registry"));
        assert!(glob_matches("KV.Supervisor/*", "KV.Supervisor/KV.Registry"));
        assert!(glob_matches("*/KV.Bucket[?]", "A/B/KV.Bucket[2]"));
        assert!(glob_matches(
            "*Bucket*",
            "KV.Supervisor/KV.BucketSupervisor"
        ));
        assert!(!glob_matches("KV.Registry", "KV.Supervisor/KV.Registry"));
        assert!(!glob_matches("*/KV.Bucket", "A/KV.Bucket[2]"));
        assert!(glob_matches("", ""));
        assert!(!glob_matches("", "x"));
    }
}
