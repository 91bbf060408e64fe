//! Process identifiers and monitor references.
//!
//! A [`Pid`] names one process of one [`Node`](crate::Node). It prints like BEAM's local
//! pids (`<0.42.0>`) and is never reused within a node: the serial only grows. Serial 0 is kept
//! for the node itself, the sender of signals that come from code outside any process.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// The identifier of a process: which node it lives on and its serial number there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid {
    node: u32,
    serial: u64,
}

impl Pid {
    pub(crate) fn new(node: u32, serial: u64) -> Self {
        Self { node, serial }
    }

    /// The pid that stands for the node itself: signals sent from outside any process come
    /// from it.
    pub(crate) fn node_itself(node: u32) -> Self {
        Self { node, serial: 0 }
    }

    /// The serial number, the middle part of `<0.42.0>`. Serials grow in start order.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The id of the node this pid belongs to (unique within the OS process).
    pub fn node_id(&self) -> u32 {
        self.node
    }

    /// Parses `<0.42.0>` (or `0.42.0`) into its serial, 42. The node is not part of the text,
    /// as on the BEAM for local pids: resolve it with [`Node::pid`](crate::Node::pid).
    pub fn parse_serial(text: &str) -> Option<u64> {
        let text = text.trim();
        let inner = text
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(text);
        let mut parts = inner.split('.');
        let (Some("0"), Some(serial), Some("0"), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        serial.parse().ok()
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<0.{}.0>", self.serial)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The reference a monitor is known by; each monitor gives exactly one DOWN message.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonitorRef(pub(crate) u64);

impl fmt::Display for MonitorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Ref<0.{}>", self.0)
    }
}

impl fmt::Debug for MonitorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Hashes the ids the runtime hands out itself (serials, pids, monitor references) with a
/// multiply and a rotate per word, where SipHash would cost several times that on every
/// table lookup. Nobody outside picks these ids, so the maps need no protection from
/// crafted collisions.
///
/// The low bits of the hash are the last word written (a serial), the top bits a mix of all:
/// a hash table places consecutive serials side by side, so a supervisor of 100,000 children
/// fills and empties its tables in order instead of missing the cache at every child, while
/// the top bits (the tags a table compares first) still differ between neighbours.
#[derive(Clone, Copy, Default)]
pub(crate) struct IdHasher {
    /// All words written, mixed.
    mixed: u64,
    /// The last word written.
    last: u64,
}

/// The hash bits taken from the last word; the rest come from the mix.
const SEQUENTIAL_BITS: u64 = (1 << 56) - 1;

/// Builds [`IdHasher`]s, for the maps keyed by ids.
pub(crate) type IdHash = BuildHasherDefault<IdHasher>;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        (self.last & SEQUENTIAL_BITS) | (self.mixed & !SEQUENTIAL_BITS)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u32(&mut self, word: u32) {
        self.write_u64(u64::from(word));
    }

    fn write_u64(&mut self, word: u64) {
        // FxHash's step: its multiplier spreads sequential serials over the top bits.
        self.mixed = (self.mixed.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        self.last = word;
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_hash(pid: Pid) -> u64 {
        let mut hasher = IdHasher::default();
        std::hash::Hash::hash(&pid, &mut hasher);
        hasher.finish()
    }

    #[test]
    fn id_hash_keeps_consecutive_serials_side_by_side_with_distinct_tags() {
        let (a, b) = (id_hash(Pid::new(1, 41)), id_hash(Pid::new(1, 42)));
        assert_eq!(b & SEQUENTIAL_BITS, (a & SEQUENTIAL_BITS) + 1);
        assert_ne!(a >> 57, b >> 57);
        assert_ne!(id_hash(Pid::new(1, 42)), id_hash(Pid::new(2, 42)));
    }

    #[test]
    fn pid_prints_like_beam_and_parses_back() {
        let pid = Pid::new(1, 42);
        assert_eq!(pid.to_string(), "<0.42.0>");
        assert_eq!(Pid::parse_serial("<0.42.0>"), Some(42));
        assert_eq!(Pid::parse_serial("0.42.0"), Some(42));
        assert_eq!(Pid::parse_serial("<0.42>"), None);
        assert_eq!(Pid::parse_serial("<1.42.0>"), None);
        assert_eq!(Pid::parse_serial("<0.x.0>"), None);
    }
}
