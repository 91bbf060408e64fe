//! The fault-script language: one command a line, `#` starts a comment.
//!
//! ```text
//! create NAME                    put NAME KEY VALUE        get NAME KEY     delete NAME KEY
//! kill TARGET [REASON]           sleep MS                  settle           dump
//! terminate_child SUP CHILD      restart_child SUP ID      delete_child SUP ID
//! stop SUP [REASON]              restart_app
//! expect alive TARGET            expect dead TARGET        expect restarted TARGET N
//! expect count TARGET N          expect specs TARGET N     expect lookup NAME none|some
//! expect get NAME KEY VALUE|nil  expect exited TARGET REASON
//! expect exit_order TARGET TARGET...
//! ```
//!
//! A TARGET is a pid (`<0.42.0>`), a registered name (`KV.Registry`), a path of child ids from
//! a root (`KV.Supervisor/KV.BucketSupervisor`; the first step may also be any registered name;
//! `KV.Bucket[2]` is the second of the siblings sharing that id, see [`path`](super::path))
//! or `bucket:NAME`. A REASON is `kill` (the default of `kill`), `shutdown`, `normal` (the
//! default of `stop`, as for `Supervisor.stop/2`), `shutdown:TERM` or any other word (a custom
//! reason). Words with spaces go in double quotes. A CHILD is a child id under a supervisor,
//! and a TARGET (a pid, `bucket:NAME`, ...) under a dynamic supervisor.
//!
//! `get` prints a value as Elixir does, `"3"`, and a missing key as `nil`; so in
//! `expect get NAME KEY VALUE`, a bare `nil` expects the key to be missing, and `"nil"` in
//! quotes expects the three-letter string. The whole script is parsed before anything runs,
//! and a malformed line is an error with its line number.

use std::fmt;

/// What a `kill` or an `expect` points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A pid as text, `<0.42.0>`; its serial.
    Pid(u64),
    /// A registered name.
    Name(String),
    /// Child ids from a root (the root by registered name or label).
    Path(Vec<String>),
    /// The KV bucket the registry maps `NAME` to.
    Bucket(String),
}

impl Target {
    /// Reads a word as a target: a pid, `bucket:NAME`, a path (with `/`), or a name.
    pub(crate) fn parse(word: &str) -> Self {
        if let Some(serial) =
            crate::runtime::Pid::parse_serial(word).filter(|_| word.starts_with('<'))
        {
            return Self::Pid(serial);
        }
        if let Some(name) = word.strip_prefix("bucket:") {
            return Self::Bucket(name.to_owned());
        }
        if word.contains('/') {
            return Self::Path(
                word.split('/')
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        Self::Name(word.to_owned())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pid(serial) => write!(f, "<0.{serial}.0>"),
            Self::Name(name) => f.write_str(name),
            Self::Path(path) => f.write_str(&path.join("/")),
            Self::Bucket(name) => write!(f, "bucket:{name}"),
        }
    }
}

/// What `expect` checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// The target resolves to a live process.
    Alive(Target),
    /// The target resolves to no live process.
    Dead(Target),
    /// The target's child id has been restarted N times so far.
    Restarted(Target, u32),
    /// The target (a supervisor) has N live children.
    Count(Target, usize),
    /// The registry knows (`true`) or does not know the bucket name.
    Lookup(String, bool),
    /// The supervisor has N child specs, running or not.
    Specs(Target, usize),
    /// The bucket holds VALUE under KEY (`None`: the key is missing, written `nil`).
    Get(String, String, Option<String>),
    /// The latest process the target named exited with this reason (as written).
    Exited(Target, String),
    /// The latest processes the targets named exited in this order.
    ExitOrder(Vec<Target>),
}

/// One command of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Create a bucket through the registry and wait until it can be looked up.
    Create(String),
    /// Put a value in a bucket.
    Put(String, String, String),
    /// Read a value from a bucket.
    Get(String, String),
    /// Delete a key from a bucket.
    Delete(String, String),
    /// Send an exit signal; the reason as written (`kill` by default).
    Kill(Target, String),
    /// `Supervisor.terminate_child`: the supervisor, and the child as written (an id, or a
    /// target under a dynamic supervisor).
    TerminateChild(Target, String),
    /// `Supervisor.restart_child`: the supervisor and the child id.
    RestartChild(Target, String),
    /// `Supervisor.delete_child`: the supervisor and the child id.
    DeleteChild(Target, String),
    /// `Supervisor.stop`: the supervisor and the reason as written (`normal` by default).
    Stop(Target, String),
    /// Start the app (the KV stage or the tree file) again once its root has exited.
    RestartApp,
    /// Wait this many milliseconds.
    Sleep(u64),
    /// Wait until nothing has changed for 100 ms (at most 5 s).
    Settle,
    /// Check something; a failure makes the run exit non-zero.
    Expect(Expectation),
    /// Print the supervision tree.
    Dump,
}

/// A command and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: usize,
    /// The line as written, without its comment.
    pub text: String,
    /// The command.
    pub command: Command,
}

/// A script that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScriptError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Parses a whole script.
pub fn parse(script: &str) -> Result<Vec<Line>, ScriptError> {
    let mut lines = Vec::new();
    for (index, raw) in script.lines().enumerate() {
        let number = index + 1;
        let fail = |message: String| ScriptError {
            line: number,
            message,
        };
        let words = split_words(raw).map_err(fail)?;
        if words.is_empty() {
            continue;
        }
        let command = parse_words(&words).map_err(fail)?;
        let text = raw.split('#').next().unwrap_or(raw).trim().to_owned();
        lines.push(Line {
            number,
            text,
            command,
        });
    }
    Ok(lines)
}

/// One word of a line, and whether it was written in double quotes (`"nil"` is a value,
/// a bare `nil` is no value).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Word {
    text: String,
    is_quoted: bool,
}

/// Splits a line into words: whitespace separates, double quotes group, `#` outside quotes
/// starts a comment.
fn split_words(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '#' {
            break;
        } else if c == '"' {
            chars.next();
            let mut word = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(escaped) => word.push(escaped),
                        None => return Err("unterminated quoted word".to_owned()),
                    },
                    Some(other) => word.push(other),
                    None => return Err("unterminated quoted word".to_owned()),
                }
            }
            words.push(Word {
                text: word,
                is_quoted: true,
            });
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '#' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            words.push(Word {
                text: word,
                is_quoted: false,
            });
        }
    }
    Ok(words)
}

const COMMANDS: &str = "create, put, get, delete, kill, terminate_child, restart_child, \
                        delete_child, stop, restart_app, sleep, settle, expect or dump";
const EXPECTATIONS: &str = "alive, dead, restarted, count, specs, lookup, get, exited or \
                            exit_order";

fn parse_words(words: &[Word]) -> Result<Command, String> {
    let args: Vec<&str> = words[1..].iter().map(|word| word.text.as_str()).collect();
    let verb = words[0].text.as_str();
    let arity = |usage: &str, min: usize, max: usize| -> Result<(), String> {
        if args.len() < min || args.len() > max {
            Err(format!("expected `{usage}`"))
        } else {
            Ok(())
        }
    };
    let command = match verb {
        "create" => {
            arity("create NAME", 1, 1)?;
            Command::Create(args[0].to_owned())
        }
        "put" => {
            arity("put NAME KEY VALUE", 3, 3)?;
            Command::Put(args[0].to_owned(), args[1].to_owned(), args[2].to_owned())
        }
        "get" => {
            arity("get NAME KEY", 2, 2)?;
            Command::Get(args[0].to_owned(), args[1].to_owned())
        }
        "delete" => {
            arity("delete NAME KEY", 2, 2)?;
            Command::Delete(args[0].to_owned(), args[1].to_owned())
        }
        "kill" => {
            arity("kill TARGET [REASON]", 1, 2)?;
            let reason = args.get(1).copied().unwrap_or("kill");
            Command::Kill(Target::parse(args[0]), reason.to_owned())
        }
        "terminate_child" => {
            arity("terminate_child SUPERVISOR CHILD", 2, 2)?;
            Command::TerminateChild(Target::parse(args[0]), args[1].to_owned())
        }
        "restart_child" => {
            arity("restart_child SUPERVISOR ID", 2, 2)?;
            Command::RestartChild(Target::parse(args[0]), args[1].to_owned())
        }
        "delete_child" => {
            arity("delete_child SUPERVISOR ID", 2, 2)?;
            Command::DeleteChild(Target::parse(args[0]), args[1].to_owned())
        }
        "stop" => {
            arity("stop SUPERVISOR [REASON]", 1, 2)?;
            let reason = args.get(1).copied().unwrap_or("normal");
            Command::Stop(Target::parse(args[0]), reason.to_owned())
        }
        "restart_app" => {
            arity("restart_app", 0, 0)?;
            Command::RestartApp
        }
        "sleep" => {
            arity("sleep MS", 1, 1)?;
            let ms = args[0]
                .parse()
                .map_err(|_| format!("expected a number of milliseconds, found `{}`", args[0]))?;
            Command::Sleep(ms)
        }
        "settle" => {
            arity("settle", 0, 0)?;
            Command::Settle
        }
        "dump" => {
            arity("dump", 0, 0)?;
            Command::Dump
        }
        "expect" => Command::Expect(parse_expectation(&words[1..])?),
        other => return Err(format!("unknown command `{other}`, expected {COMMANDS}")),
    };
    Ok(command)
}

fn parse_expectation(words: &[Word]) -> Result<Expectation, String> {
    let args: Vec<&str> = words.iter().map(|word| word.text.as_str()).collect();
    let Some((&what, rest)) = args.split_first() else {
        return Err(format!(
            "expected `expect WHAT ...` with WHAT one of {EXPECTATIONS}"
        ));
    };
    let exactly = |usage: &str, n: usize| -> Result<(), String> {
        if rest.len() == n {
            Ok(())
        } else {
            Err(format!("expected `expect {usage}`"))
        }
    };
    let number = |word: &str| -> Result<u64, String> {
        word.parse()
            .map_err(|_| format!("expected a number, found `{word}`"))
    };
    Ok(match what {
        "alive" => {
            exactly("alive TARGET", 1)?;
            Expectation::Alive(Target::parse(rest[0]))
        }
        "dead" => {
            exactly("dead TARGET", 1)?;
            Expectation::Dead(Target::parse(rest[0]))
        }
        "restarted" => {
            exactly("restarted TARGET N", 2)?;
            let n = u32::try_from(number(rest[1])?)
                .map_err(|_| "restart count too large".to_owned())?;
            Expectation::Restarted(Target::parse(rest[0]), n)
        }
        "count" => {
            exactly("count TARGET N", 2)?;
            let n = usize::try_from(number(rest[1])?).map_err(|_| "count too large".to_owned())?;
            Expectation::Count(Target::parse(rest[0]), n)
        }
        "lookup" => {
            exactly("lookup NAME none|some", 2)?;
            let found = match rest[1] {
                "some" => true,
                "none" => false,
                other => return Err(format!("expected `none` or `some`, found `{other}`")),
            };
            Expectation::Lookup(rest[0].to_owned(), found)
        }
        "specs" => {
            exactly("specs TARGET N", 2)?;
            let n = usize::try_from(number(rest[1])?).map_err(|_| "count too large".to_owned())?;
            Expectation::Specs(Target::parse(rest[0]), n)
        }
        "get" => {
            exactly("get NAME KEY VALUE|nil", 3)?;
            let value = &words[3];
            let value = (value.is_quoted || value.text != "nil").then(|| value.text.clone());
            Expectation::Get(rest[0].to_owned(), rest[1].to_owned(), value)
        }
        "exited" => {
            exactly("exited TARGET REASON", 2)?;
            Expectation::Exited(Target::parse(rest[0]), rest[1].to_owned())
        }
        "exit_order" => {
            if rest.len() < 2 {
                return Err("expected `expect exit_order TARGET TARGET...`".to_owned());
            }
            Expectation::ExitOrder(rest.iter().map(|word| Target::parse(word)).collect())
        }
        other => {
            return Err(format!(
                "unknown expectation `{other}`, expected {EXPECTATIONS}"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command_and_skips_comments() {
        let script = "\
# the chapter
create shopping
put shopping milk \"2 litres\"   # quoted
get shopping milk
delete shopping milk
kill bucket:shopping
kill KV.Registry shutdown
kill <0.42.0> boom
kill KV.Supervisor/KV.BucketSupervisor
sleep 10
settle
expect alive KV.Registry
expect dead bucket:shopping
expect restarted KV.Registry 1
expect count KV.BucketSupervisor 0
expect lookup shopping none
expect get shopping milk \"2 litres\"
dump
";
        let lines = parse(script).unwrap();
        assert_eq!(lines.len(), 17);
        assert_eq!(lines[0].number, 2);
        assert_eq!(
            lines[1].command,
            Command::Put("shopping".into(), "milk".into(), "2 litres".into())
        );
        assert_eq!(
            lines[4].command,
            Command::Kill(Target::Bucket("shopping".into()), "kill".into())
        );
        assert_eq!(
            lines[6].command,
            Command::Kill(Target::Pid(42), "boom".into())
        );
        assert_eq!(
            lines[7].command,
            Command::Kill(
                Target::Path(vec!["KV.Supervisor".into(), "KV.BucketSupervisor".into()]),
                "kill".into()
            )
        );
        assert_eq!(
            lines[12].command,
            Command::Expect(Expectation::Restarted(
                Target::Name("KV.Registry".into()),
                1
            ))
        );
        assert_eq!(
            lines[14].command,
            Command::Expect(Expectation::Lookup("shopping".into(), false))
        );
    }

    #[test]
    fn a_bare_nil_expects_a_missing_key_and_a_quoted_one_the_string() {
        let lines = parse("expect get s milk nil\nexpect get s milk \"nil\"\n").unwrap();
        assert_eq!(
            lines[0].command,
            Command::Expect(Expectation::Get("s".into(), "milk".into(), None))
        );
        assert_eq!(
            lines[1].command,
            Command::Expect(Expectation::Get(
                "s".into(),
                "milk".into(),
                Some("nil".into())
            ))
        );
    }

    #[test]
    fn parses_the_supervisor_calls_and_the_exit_expectations() {
        let script = "\
terminate_child Shutdown.Supervisor slow
terminate_child KV.BucketSupervisor bucket:shopping
restart_child Shutdown.Supervisor slow
delete_child Shutdown.Supervisor slow
stop Shutdown.Supervisor
stop Shutdown.Supervisor shutdown
restart_app
expect specs Shutdown.Supervisor 4
expect exited Shutdown.Slow shutdown
expect exit_order Shutdown.Stubborn <0.3.0>
";
        let commands: Vec<Command> = parse(script)
            .unwrap()
            .into_iter()
            .map(|line| line.command)
            .collect();
        let supervisor = || Target::Name("Shutdown.Supervisor".into());
        assert_eq!(
            commands,
            [
                Command::TerminateChild(supervisor(), "slow".into()),
                Command::TerminateChild(
                    Target::Name("KV.BucketSupervisor".into()),
                    "bucket:shopping".into()
                ),
                Command::RestartChild(supervisor(), "slow".into()),
                Command::DeleteChild(supervisor(), "slow".into()),
                Command::Stop(supervisor(), "normal".into()),
                Command::Stop(supervisor(), "shutdown".into()),
                Command::RestartApp,
                Command::Expect(Expectation::Specs(supervisor(), 4)),
                Command::Expect(Expectation::Exited(
                    Target::Name("Shutdown.Slow".into()),
                    "shutdown".into()
                )),
                Command::Expect(Expectation::ExitOrder(vec![
                    Target::Name("Shutdown.Stubborn".into()),
                    Target::Pid(3)
                ])),
            ]
        );
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line_number() {
        let cases = [
            ("create\n", 1, "expected `create NAME`"),
            ("\n\nfly away\n", 3, "unknown command `fly`"),
            (
                "sleep soon\n",
                1,
                "expected a number of milliseconds, found `soon`",
            ),
            (
                "expect lookup a maybe\n",
                1,
                "expected `none` or `some`, found `maybe`",
            ),
            ("expect\n", 1, "expected `expect WHAT"),
            ("expect happy x\n", 1, "unknown expectation `happy`"),
            ("put a \"b c\n", 1, "unterminated quoted word"),
            (
                "expect count X many\n",
                1,
                "expected a number, found `many`",
            ),
            ("stop\n", 1, "expected `stop SUPERVISOR [REASON]`"),
            ("restart_app now\n", 1, "expected `restart_app`"),
            (
                "terminate_child Sup\n",
                1,
                "expected `terminate_child SUPERVISOR CHILD`",
            ),
            (
                "expect exit_order A\n",
                1,
                "expected `expect exit_order TARGET TARGET...`",
            ),
        ];
        for (script, line, message) in cases {
            let error = parse(script).unwrap_err();
            assert_eq!(error.line, line, "{script:?}");
            assert!(
                error.message.starts_with(message),
                "{script:?}: {}",
                error.message
            );
        }
    }
}
