//! Erlang terms as the contract and people see them: pids, exit reasons, names, and any term
//! as text in the node's own syntax (Elixir's when the node runs Elixir, else Erlang's).

use std::fmt::Write as _;

use erl_dist::term::{Atom, Pid as ErlPid, Term, Tuple};

use crate::contract::{ExitReason, Pid};

/// The syntax terms are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// `%{a: 1}`, `:ok`, `KV.Bucket`, `#PID<0.1.0>`.
    Elixir,
    /// `#{a => 1}`, `ok`, `'Elixir.KV.Bucket'`, `<0.1.0>`.
    Erlang,
}

/// The longest text a term is written as; longer is cut with `…`.
pub const MAX_TERM_TEXT: usize = 4_000;

/// The contract's pid for a pid of the node: `<0.ID.SERIAL>` is `SERIAL << 32 | ID`.
pub fn pid(pid: &ErlPid) -> Pid {
    Pid(u64::from(pid.serial) << 32 | u64::from(pid.id))
}

/// An atom's name as a module or registered name reads: `Elixir.KV.Registry` is
/// `KV.Registry`, others as they are.
pub fn module_name(name: &str) -> &str {
    name.strip_prefix("Elixir.").unwrap_or(name)
}

/// `{M, F, A}` as `M.f/A` (Elixir) or `m:f/A` (Erlang).
pub fn mfa(term: &Term, syntax: Syntax) -> Option<String> {
    let Term::Tuple(tuple) = term else {
        return None;
    };
    let [Term::Atom(module), Term::Atom(function), arity] = tuple.elements.as_slice() else {
        return None;
    };
    let arity = integer(arity)?;
    Some(match syntax {
        Syntax::Elixir if module.name.starts_with("Elixir.") => {
            format!("{}.{}/{arity}", module_name(&module.name), function.name)
        }
        Syntax::Elixir => format!(":{}.{}/{arity}", module.name, function.name),
        Syntax::Erlang => format!("{}:{}/{arity}", module.name, function.name),
    })
}

/// An integer term's value.
pub fn integer(term: &Term) -> Option<i64> {
    match term {
        Term::FixInteger(value) => Some(i64::from(value.value)),
        Term::BigInteger(value) => value.value.to_string().parse().ok(),
        _ => None,
    }
}

/// An atom term's name.
pub fn atom(term: &Term) -> Option<&str> {
    match term {
        Term::Atom(atom) => Some(&atom.name),
        _ => None,
    }
}

/// A list term's elements (the empty list included).
pub fn list(term: &Term) -> Option<&[Term]> {
    match term {
        Term::List(list) => Some(&list.elements),
        _ => None,
    }
}

/// A tuple term's elements.
pub fn tuple(term: &Term) -> Option<&[Term]> {
    match term {
        Term::Tuple(tuple) => Some(&tuple.elements),
        _ => None,
    }
}

/// `{ok, Value}`'s value.
pub fn ok(term: &Term) -> Option<&Term> {
    match tuple(term)? {
        [Term::Atom(tag), value] if tag.name == "ok" => Some(value),
        _ => None,
    }
}

/// A UTF-8 binary's text.
pub fn text(term: &Term) -> Option<String> {
    match term {
        Term::Binary(binary) => String::from_utf8(binary.bytes.clone()).ok(),
        Term::ByteList(bytes) => String::from_utf8(bytes.bytes.clone()).ok(),
        Term::List(list) if list.is_nil() => Some(String::new()),
        _ => None,
    }
}

/// A tuple term.
pub fn tuple_of(elements: Vec<Term>) -> Term {
    Tuple::from(elements).into()
}

/// A binary term holding `text`.
pub fn binary(text: &str) -> Term {
    erl_dist::term::Binary::from(text.as_bytes()).into()
}

/// The exit reason an exit signal or a `DOWN` carries, in the contract's terms.
pub fn exit_reason(term: &Term, syntax: Syntax) -> ExitReason {
    match term {
        Term::Atom(atom) => match atom.name.as_str() {
            "normal" => ExitReason::Normal,
            "shutdown" => ExitReason::Shutdown,
            "kill" => ExitReason::Kill,
            "killed" => ExitReason::Killed,
            "noproc" => ExitReason::NoProc,
            // A word, as the contract writes custom reasons (`boom`, not `:boom`).
            name => ExitReason::custom(module_name(name)),
        },
        Term::Tuple(tuple) => match tuple.elements.as_slice() {
            [Term::Atom(tag), inner] if tag.name == "shutdown" => {
                ExitReason::ShutdownWith(format(inner, syntax).into())
            }
            _ => ExitReason::custom(format(term, syntax)),
        },
        _ => ExitReason::custom(format(term, syntax)),
    }
}

/// The term an exit signal with `reason` carries: an atom for the named reasons and for a
/// custom word (`boom`, or Elixir's `:boom`), `{shutdown, Term}` for [`ExitReason::ShutdownWith`],
/// and a binary for any other text.
pub fn reason_term(reason: &ExitReason) -> Term {
    let word = |text: &str| -> Term {
        let text = text.trim();
        let text = text.strip_prefix(':').unwrap_or(text);
        if !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '@')
        {
            Atom::from(text).into()
        } else {
            binary(text)
        }
    };
    match reason {
        ExitReason::Normal => Atom::from("normal").into(),
        ExitReason::Shutdown => Atom::from("shutdown").into(),
        ExitReason::ShutdownWith(term) => tuple_of(vec![Atom::from("shutdown").into(), word(term)]),
        ExitReason::Kill => Atom::from("kill").into(),
        ExitReason::Killed => Atom::from("killed").into(),
        ExitReason::NoProc => Atom::from("noproc").into(),
        ExitReason::Panic(message) => tuple_of(vec![Atom::from("panic").into(), binary(message)]),
        ExitReason::Custom(text) => word(text),
    }
}

/// `term` as text in `syntax`, cut at [`MAX_TERM_TEXT`].
pub fn format(term: &Term, syntax: Syntax) -> String {
    let mut out = String::new();
    write_term(&mut out, term, syntax);
    if out.len() > MAX_TERM_TEXT {
        let mut cut = MAX_TERM_TEXT;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn write_term(out: &mut String, term: &Term, syntax: Syntax) {
    if out.len() > MAX_TERM_TEXT {
        return;
    }
    match term {
        Term::Atom(atom) => write_atom(out, &atom.name, syntax),
        Term::FixInteger(value) => {
            let _ = write!(out, "{}", value.value);
        }
        Term::BigInteger(value) => {
            let _ = write!(out, "{}", value.value);
        }
        Term::Float(value) => {
            let _ = write!(out, "{:?}", value.value);
        }
        Term::Pid(pid) => write_pid(out, pid, syntax),
        Term::Port(port) => {
            let _ = write!(out, "#Port<0.{}>", port.id);
        }
        Term::Reference(reference) => {
            let ids: Vec<String> = reference.id.iter().rev().map(u32::to_string).collect();
            let _ = write!(out, "#Reference<0.{}>", ids.join("."));
        }
        Term::ExternalFun(fun) => {
            let _ = match syntax {
                Syntax::Elixir => write!(
                    out,
                    "&{}.{}/{}",
                    elixir_module(&fun.module.name),
                    fun.function.name,
                    fun.arity
                ),
                Syntax::Erlang => write!(
                    out,
                    "fun {}:{}/{}",
                    fun.module.name, fun.function.name, fun.arity
                ),
            };
        }
        Term::InternalFun(_) => out.push_str("#Function<...>"),
        Term::Binary(binary) => write_binary(out, &binary.bytes, syntax),
        Term::BitBinary(binary) => {
            out.push_str("<<");
            for (i, byte) in binary.bytes.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{byte}");
            }
            let _ = write!(out, "::size({})>>", binary.tail_bits_size);
        }
        Term::ByteList(bytes) => {
            let elements: Vec<Term> = bytes
                .bytes
                .iter()
                .map(|b| Term::from(erl_dist::term::FixInteger::from(i32::from(*b))))
                .collect();
            write_list(out, &elements, None, syntax);
        }
        Term::List(list) => write_list(out, &list.elements, None, syntax),
        Term::ImproperList(list) => write_list(out, &list.elements, Some(&list.last), syntax),
        Term::Tuple(tuple) => {
            out.push('{');
            write_seq(out, &tuple.elements, syntax);
            out.push('}');
        }
        Term::Map(map) => write_map(out, &map.map, syntax),
    }
}

fn write_seq(out: &mut String, elements: &[Term], syntax: Syntax) {
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_term(out, element, syntax);
        if out.len() > MAX_TERM_TEXT {
            return;
        }
    }
}

fn write_pid(out: &mut String, pid: &ErlPid, syntax: Syntax) {
    let _ = match syntax {
        Syntax::Elixir => write!(out, "#PID<0.{}.{}>", pid.id, pid.serial),
        Syntax::Erlang => write!(out, "<0.{}.{}>", pid.id, pid.serial),
    };
}

fn elixir_module(name: &str) -> String {
    match name.strip_prefix("Elixir.") {
        Some(module) => module.to_owned(),
        None => format!(":{name}"),
    }
}

fn is_plain_atom(name: &str, syntax: Syntax) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let first_ok = match syntax {
        Syntax::Erlang => first.is_lowercase(),
        Syntax::Elixir => first.is_alphabetic() || first == '_',
    };
    first_ok
        && chars.all(|c| {
            c.is_alphanumeric() || c == '_' || c == '@' || (syntax == Syntax::Elixir && c == '?')
        })
}

fn write_atom(out: &mut String, name: &str, syntax: Syntax) {
    match syntax {
        Syntax::Elixir => match name {
            "nil" | "true" | "false" => out.push_str(name),
            _ if name.starts_with("Elixir.") => out.push_str(module_name(name)),
            _ if is_plain_atom(name, syntax) => {
                out.push(':');
                out.push_str(name);
            }
            _ => {
                let _ = write!(out, ":{name:?}");
            }
        },
        Syntax::Erlang => {
            if is_plain_atom(name, syntax) {
                out.push_str(name);
            } else {
                out.push('\'');
                out.push_str(&name.replace('\'', "\\'"));
                out.push('\'');
            }
        }
    }
}

fn printable(text: &str) -> bool {
    text.chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\t')
}

fn write_binary(out: &mut String, bytes: &[u8], syntax: Syntax) {
    match (std::str::from_utf8(bytes), syntax) {
        (Ok(text), Syntax::Elixir) if printable(text) => {
            let _ = write!(out, "{text:?}");
        }
        (Ok(text), Syntax::Erlang) if printable(text) => {
            let _ = write!(out, "<<{text:?}/utf8>>");
        }
        _ => {
            out.push_str("<<");
            for (i, byte) in bytes.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{byte}");
                if out.len() > MAX_TERM_TEXT {
                    return;
                }
            }
            out.push_str(">>");
        }
    }
}

fn write_list(out: &mut String, elements: &[Term], tail: Option<&Term>, syntax: Syntax) {
    // A charlist: printable characters only.
    if tail.is_none() && !elements.is_empty() {
        let chars: Option<String> = elements
            .iter()
            .map(|element| {
                integer(element)
                    .and_then(|c| u32::try_from(c).ok())
                    .and_then(char::from_u32)
                    .filter(|c| !c.is_control() || *c == '\n')
            })
            .collect();
        if let Some(text) = chars {
            let quoted = format!("{text:?}");
            match syntax {
                Syntax::Elixir => {
                    let _ = write!(out, "'{}'", &quoted[1..quoted.len() - 1]);
                }
                Syntax::Erlang => out.push_str(&quoted),
            }
            return;
        }
    }
    // An Elixir keyword list: `[a: 1, b: 2]`.
    if syntax == Syntax::Elixir && tail.is_none() && !elements.is_empty() {
        let pairs: Option<Vec<(&str, &Term)>> = elements
            .iter()
            .map(|element| match tuple(element)? {
                [Term::Atom(key), value] if is_plain_atom(&key.name, syntax) => {
                    Some((key.name.as_str(), value))
                }
                _ => None,
            })
            .collect();
        if let Some(pairs) = pairs {
            out.push('[');
            write_pairs(out, &pairs, syntax);
            out.push(']');
            return;
        }
    }
    out.push('[');
    write_seq(out, elements, syntax);
    if let Some(tail) = tail {
        out.push_str(" | ");
        write_term(out, tail, syntax);
    }
    out.push(']');
}

fn write_pairs(out: &mut String, pairs: &[(&str, &Term)], syntax: Syntax) {
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(key);
        out.push_str(": ");
        write_term(out, value, syntax);
        if out.len() > MAX_TERM_TEXT {
            return;
        }
    }
}

fn write_map(out: &mut String, map: &std::collections::HashMap<Term, Term>, syntax: Syntax) {
    // Sorted by key text, so the same map always reads the same.
    let mut entries: Vec<(String, &Term, &Term)> = map
        .iter()
        .map(|(key, value)| (format(key, syntax), key, value))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    match syntax {
        Syntax::Elixir => {
            let structure = map
                .get(&Term::from(Atom::from("__struct__")))
                .and_then(atom)
                .map(module_name);
            let atom_keys = entries
                .iter()
                .all(|(_, key, _)| atom(key).is_some_and(|k| is_plain_atom(k, syntax)));
            match structure {
                Some(name) => {
                    let _ = write!(out, "%{name}{{");
                }
                None => out.push_str("%{"),
            }
            let mut first = true;
            for (text, key, value) in &entries {
                if atom(key) == Some("__struct__") && structure.is_some() {
                    continue;
                }
                if !first {
                    out.push_str(", ");
                }
                first = false;
                if atom_keys {
                    let _ = write!(out, "{}: ", atom(key).unwrap_or_default());
                } else {
                    let _ = write!(out, "{text} => ");
                }
                write_term(out, value, syntax);
                if out.len() > MAX_TERM_TEXT {
                    return;
                }
            }
            out.push('}');
        }
        Syntax::Erlang => {
            out.push_str("#{");
            for (i, (text, _, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{text} => ");
                write_term(out, value, syntax);
                if out.len() > MAX_TERM_TEXT {
                    return;
                }
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use erl_dist::term::{FixInteger, List, Map};

    use super::*;

    fn a(name: &str) -> Term {
        Atom::from(name).into()
    }

    #[test]
    fn terms_read_in_the_node_syntax() {
        let mut map = HashMap::new();
        map.insert(binary("milk"), binary("3"));
        let state: Term = Map::from(map).into();
        assert_eq!(format(&state, Syntax::Elixir), r#"%{"milk" => "3"}"#);
        assert_eq!(
            format(&state, Syntax::Erlang),
            r#"#{<<"milk"/utf8>> => <<"3"/utf8>>}"#
        );
        let keyword: Term = List::from(vec![
            tuple_of(vec![a("name"), a("Elixir.KV.Registry")]),
            tuple_of(vec![a("restart"), a("temporary")]),
        ])
        .into();
        assert_eq!(
            format(&keyword, Syntax::Elixir),
            "[name: KV.Registry, restart: :temporary]"
        );
        assert_eq!(
            format(&keyword, Syntax::Erlang),
            "[{name, 'Elixir.KV.Registry'}, {restart, temporary}]"
        );
        let pid = ErlPid::new("kv@127.0.0.1", 112, 0, 1);
        assert_eq!(format(&pid.clone().into(), Syntax::Elixir), "#PID<0.112.0>");
        assert_eq!(format(&pid.into(), Syntax::Erlang), "<0.112.0>");
        assert_eq!(format(&a("nil"), Syntax::Elixir), "nil");
        assert_eq!(format(&a("Foo Bar"), Syntax::Erlang), "'Foo Bar'");
        let chars: Term = List::from(vec![
            Term::from(FixInteger::from(104)),
            Term::from(FixInteger::from(105)),
        ])
        .into();
        assert_eq!(format(&chars, Syntax::Elixir), "'hi'");
        assert_eq!(format(&chars, Syntax::Erlang), "\"hi\"");
    }

    #[test]
    fn exit_reasons_map_both_ways() {
        assert_eq!(
            exit_reason(&a("killed"), Syntax::Elixir),
            ExitReason::Killed
        );
        assert_eq!(
            exit_reason(&tuple_of(vec![a("shutdown"), a("bye")]), Syntax::Erlang),
            ExitReason::ShutdownWith("bye".into())
        );
        assert_eq!(
            exit_reason(&a("boom"), Syntax::Elixir),
            ExitReason::custom("boom")
        );
        assert_eq!(
            exit_reason(&a("boom"), Syntax::Erlang),
            ExitReason::custom("boom")
        );
        assert_eq!(reason_term(&ExitReason::Kill), a("kill"));
        assert_eq!(reason_term(&ExitReason::custom(":boom")), a("boom"));
        assert_eq!(
            reason_term(&ExitReason::ShutdownWith("bye".into())),
            tuple_of(vec![a("shutdown"), a("bye")])
        );
        assert_eq!(
            reason_term(&ExitReason::custom("two words")),
            binary("two words")
        );
    }

    #[test]
    fn pids_with_a_serial_keep_it() {
        let erl = ErlPid::new("kv@127.0.0.1", 7, 2, 1);
        assert_eq!(pid(&erl).to_string(), "<0.7.2>");
        assert_eq!("<0.7.2>".parse::<Pid>().unwrap(), pid(&erl));
        assert_eq!(
            mfa(
                &tuple_of(vec![
                    a("Elixir.KV.Registry"),
                    a("init"),
                    FixInteger::from(1).into()
                ]),
                Syntax::Elixir
            )
            .unwrap(),
            "KV.Registry.init/1"
        );
    }
}
