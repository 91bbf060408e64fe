//! Exit reasons: why a process ended, and what an exit signal carries.
//!
//! They follow Erlang's: `normal`, `shutdown`, `{shutdown, Term}`, `kill` (only as a signal:
//! the target dies with `killed`), `noproc`, and any other term. A panic in a process becomes
//! its exit reason, with the panic message, and crashes that process only.

use std::fmt;
use std::sync::Arc;

/// Why a process exited, or the reason an exit signal carries.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// The process finished its work. Linked processes that do not trap exits ignore it.
    Normal,
    /// The process was asked to stop, usually by its supervisor.
    Shutdown,
    /// `{shutdown, Term}`: a shutdown that carries a term; transient children are not
    /// restarted after it.
    ShutdownWith(Arc<str>),
    /// The untrappable kill, when sent with `exit(pid, kill)`; arriving through a link it is an
    /// ordinary reason.
    Kill,
    /// The reason a process killed with `kill` dies with.
    Killed,
    /// The process did not exist (monitoring or linking a dead pid).
    NoProc,
    /// The process panicked; the text is the panic message.
    Panic(Arc<str>),
    /// Any other reason, such as `:boom`.
    Custom(Arc<str>),
}

impl ExitReason {
    /// A custom reason.
    pub fn custom(reason: impl Into<Arc<str>>) -> Self {
        Self::Custom(reason.into())
    }

    /// `{shutdown, term}`.
    pub fn shutdown_with(term: impl Into<Arc<str>>) -> Self {
        Self::ShutdownWith(term.into())
    }

    /// True for `normal`, `shutdown` and `{shutdown, _}`: the reasons after which a transient
    /// child is not restarted and which supervisors do not report as errors.
    pub fn is_normal_or_shutdown(&self) -> bool {
        matches!(self, Self::Normal | Self::Shutdown | Self::ShutdownWith(_))
    }

    /// True for `normal` only.
    pub fn is_normal(&self) -> bool {
        matches!(self, Self::Normal)
    }

    /// Reads a reason written as text: `normal`, `shutdown`, `kill`, `killed`, `noproc`,
    /// `shutdown:TERM` or `{shutdown, TERM}`; any other word is a custom reason.
    pub fn parse(text: &str) -> Self {
        let text = text.trim().trim_start_matches(':');
        match text {
            "normal" => Self::Normal,
            "shutdown" => Self::Shutdown,
            "kill" => Self::Kill,
            "killed" => Self::Killed,
            "noproc" => Self::NoProc,
            _ => {
                if let Some(term) = text.strip_prefix("shutdown:") {
                    return Self::shutdown_with(term.trim());
                }
                if let Some(term) = text
                    .strip_prefix("{shutdown,")
                    .and_then(|t| t.strip_suffix('}'))
                {
                    return Self::shutdown_with(term.trim());
                }
                Self::custom(text)
            }
        }
    }

    pub(crate) fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        Self::Panic(panic_message(payload))
    }
}

/// The message a panic was raised with.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Arc<str> {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).into()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.as_str().into()
    } else {
        "panic with a non-text payload".into()
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::ShutdownWith(term) => write!(f, "{{shutdown, {term}}}"),
            Self::Kill => f.write_str("kill"),
            Self::Killed => f.write_str("killed"),
            Self::NoProc => f.write_str("noproc"),
            Self::Panic(message) => write!(f, "panic: {message}"),
            Self::Custom(reason) => f.write_str(reason),
        }
    }
}

impl fmt::Debug for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<()> for ExitReason {
    fn from((): ()) -> Self {
        Self::Normal
    }
}

impl From<Result<(), ExitReason>> for ExitReason {
    fn from(result: Result<(), ExitReason>) -> Self {
        result.err().unwrap_or(Self::Normal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_print_and_parse_like_erlang_terms() {
        for text in ["normal", "shutdown", "kill", "killed", "noproc", "boom"] {
            assert_eq!(ExitReason::parse(text).to_string(), text);
        }
        assert_eq!(
            ExitReason::parse("shutdown:bye"),
            ExitReason::shutdown_with("bye")
        );
        assert_eq!(
            ExitReason::shutdown_with("bye").to_string(),
            "{shutdown, bye}"
        );
        assert_eq!(
            ExitReason::parse("{shutdown, bye}"),
            ExitReason::shutdown_with("bye")
        );
        assert!(ExitReason::shutdown_with("x").is_normal_or_shutdown());
        assert!(!ExitReason::Killed.is_normal_or_shutdown());
    }
}
