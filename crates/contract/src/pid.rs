//! Process identifiers as every source names them: `<0.42.0>`, the serial of a process within
//! its node, printed and parsed as the BEAM prints local pids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A process identifier within one node: the serial printed as `<0.42.0>`, as BEAM prints
/// local pids. Serials grow in start order and are never reused within a node, so a parent's
/// pid is always smaller than its children's. Serialized as its text for people, as its
/// serial in binary formats.
///
/// A BEAM pid `<0.ID.SERIAL>` whose SERIAL is not 0 (its node wrapped its ids around) is
/// `SERIAL << 32 | ID`, printed and parsed the same way.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pid(pub u64);

impl Pid {
    /// The serial, the middle part of `<0.42.0>`.
    pub fn serial(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<0.{}.{}>", self.0 & 0xffff_ffff, self.0 >> 32)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Text that is not a pid such as `<0.42.0>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a pid: {0:?} (expected <0.N.0>)")]
pub struct ParsePidError(pub String);

impl FromStr for Pid {
    type Err = ParsePidError;

    /// Reads `<0.42.0>` or `0.42.0`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(trimmed);
        let mut parts = inner.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("0"), Some(id), Some(serial), None) => {
                let id: u64 = id.parse().map_err(|_| ParsePidError(text.to_owned()))?;
                let serial: u64 = serial.parse().map_err(|_| ParsePidError(text.to_owned()))?;
                if serial > u64::from(u32::MAX) || (serial > 0 && id > u64::from(u32::MAX)) {
                    return Err(ParsePidError(text.to_owned()));
                }
                Ok(Pid(serial << 32 | id))
            }
            _ => Err(ParsePidError(text.to_owned())),
        }
    }
}

/// Text (`"<0.42.0>"`) in formats meant for people (JSON), the bare serial in binary ones.
impl Serialize for Pid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Pid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            u64::deserialize(deserializer).map(Pid)
        }
    }
}
