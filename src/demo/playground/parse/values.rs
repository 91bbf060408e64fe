//! The typed value readers of [`Reader`]: strings, booleans, bounded integers, shutdowns,
//! reasons, each with an error that names the key and what was expected; and how a worker's
//! `state` values are shown.

use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use crate::demo::playground::error::{TreeError, invalid};
use crate::runtime::{ExitReason, Shutdown};

use super::{Reader, Table, Value};

impl Reader<'_> {
    pub(super) fn shutdown(&self, value: &Value<'_>) -> Result<Shutdown, TreeError> {
        let expected = "expected brutal_kill, infinity or a number of milliseconds";
        match value.get_ref() {
            DeValue::String(word) => match word.as_ref() {
                "brutal_kill" => Ok(Shutdown::BrutalKill),
                "infinity" => Ok(Shutdown::Infinity),
                other => Err(self.error(
                    value.span(),
                    format!("unknown shutdown \"{other}\", {expected}"),
                )),
            },
            DeValue::Integer(_) => {
                let ms = self.integer(value, "shutdown", 0)?;
                Ok(Shutdown::timeout_ms(ms))
            }
            other => Err(self.error(
                value.span(),
                format!("{expected} for \"shutdown\", found {}", other.type_str()),
            )),
        }
    }

    pub(super) fn reason(
        &self,
        table: &Table<'_>,
        key: &str,
    ) -> Result<Option<ExitReason>, TreeError> {
        let Some((text, span)) = self.string(table, key)? else {
            return Ok(None);
        };
        if text.trim().is_empty() {
            return Err(self.error(
                span,
                format!(
                    "\"{key}\" must not be empty, expected a reason such as normal, shutdown, \
                     kill, shutdown:TERM or any word"
                ),
            ));
        }
        Ok(Some(ExitReason::parse(&text)))
    }

    pub(super) fn string(
        &self,
        table: &Table<'_>,
        key: &str,
    ) -> Result<Option<(String, Range<usize>)>, TreeError> {
        let Some(value) = table.get(key) else {
            return Ok(None);
        };
        let (text, span) = self.expect_str(value, key)?;
        Ok(Some((text.to_owned(), span)))
    }

    pub(super) fn expect_str<'v>(
        &self,
        value: &'v Value<'_>,
        key: &str,
    ) -> Result<(&'v str, Range<usize>), TreeError> {
        match value.get_ref().as_str() {
            Some(text) => Ok((text, value.span())),
            None => Err(self.error(
                value.span(),
                format!(
                    "expected a string for \"{key}\", found {}",
                    value.get_ref().type_str()
                ),
            )),
        }
    }

    pub(super) fn bool(&self, table: &Table<'_>, key: &str) -> Result<Option<bool>, TreeError> {
        let Some(value) = table.get(key) else {
            return Ok(None);
        };
        match value.get_ref().as_bool() {
            Some(flag) => Ok(Some(flag)),
            None => Err(self.error(
                value.span(),
                format!(
                    "expected true or false for \"{key}\", found {}",
                    value.get_ref().type_str()
                ),
            )),
        }
    }

    pub(super) fn uint(
        &self,
        table: &Table<'_>,
        key: &str,
        min: u64,
    ) -> Result<Option<(u64, Range<usize>)>, TreeError> {
        let Some(value) = table.get(key) else {
            return Ok(None);
        };
        Ok(Some((self.integer(value, key, min)?, value.span())))
    }

    pub(super) fn u32(
        &self,
        table: &Table<'_>,
        key: &str,
        min: u64,
    ) -> Result<Option<u32>, TreeError> {
        let Some((number, span)) = self.uint(table, key, min)? else {
            return Ok(None);
        };
        u32::try_from(number)
            .map(Some)
            .map_err(|_| self.error(span, format!("\"{key}\" is too large, found {number}")))
    }

    /// An integer at least `min`.
    pub(super) fn integer(&self, value: &Value<'_>, key: &str, min: u64) -> Result<u64, TreeError> {
        let expected = if min == 0 {
            "a non-negative integer".to_owned()
        } else {
            format!("an integer of at least {min}")
        };
        let Some(integer) = value.get_ref().as_integer() else {
            return Err(self.error(
                value.span(),
                format!(
                    "expected {expected} for \"{key}\", found {}",
                    value.get_ref().type_str()
                ),
            ));
        };
        let parsed = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
        match parsed.map(u64::try_from) {
            Some(Ok(number)) if number >= min => Ok(number),
            Some(Err(_)) if parsed.is_some_and(|n| n > 0) => Err(self.error(
                value.span(),
                format!("\"{key}\" is too large, found {integer}"),
            )),
            _ => {
                let message = if key == "count" {
                    format!("count must be at least {min}, found {integer}")
                } else {
                    format!("expected {expected} for \"{key}\", found {integer}")
                };
                Err(self.error(value.span(), message))
            }
        }
    }

    /// An error pointing at `key` in `table`.
    pub(super) fn key_error(
        &self,
        table: &Table<'_>,
        key: &str,
        message: impl Into<String>,
    ) -> TreeError {
        let span = table.get_key_value(key).map_or(0..0, |(key, _)| key.span());
        self.error(span, message)
    }

    pub(super) fn error(&self, span: Range<usize>, message: impl Into<String>) -> TreeError {
        invalid(self.text, span, message)
    }
}

/// A table's entries in file order.
pub(super) fn entries<'a, 'i>(
    table: &'a Table<'i>,
) -> Vec<(&'a Spanned<std::borrow::Cow<'i, str>>, &'a Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// A state value as text: strings without quotes at the top, everything else as TOML.
pub(super) fn render(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => text.to_string(),
        other => render_nested(other),
    }
}

fn render_nested(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("{text:?}"),
        DeValue::Integer(integer) => integer.to_string(),
        DeValue::Float(float) => float.to_string(),
        DeValue::Boolean(flag) => flag.to_string(),
        DeValue::Datetime(datetime) => datetime.to_string(),
        DeValue::Array(array) => {
            let items: Vec<String> = array
                .iter()
                .map(|item| render_nested(item.get_ref()))
                .collect();
            format!("[{}]", items.join(", "))
        }
        DeValue::Table(table) => {
            let items: Vec<String> = entries(table)
                .into_iter()
                .map(|(key, value)| {
                    format!("{} = {}", key.get_ref(), render_nested(value.get_ref()))
                })
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use toml::de::DeTable;

    use super::*;

    #[test]
    fn state_values_render_as_toml_with_bare_top_level_strings() {
        let text = "s = { a = \"x\", n = 0x10, l = [1, \"y\"], t = { b = true } }";
        let document = DeTable::parse(text).unwrap();
        let state = document
            .get_ref()
            .get("s")
            .unwrap()
            .get_ref()
            .as_table()
            .unwrap();
        let rendered: Vec<(String, String)> = entries(state)
            .into_iter()
            .map(|(k, v)| (k.get_ref().to_string(), render(v.get_ref())))
            .collect();
        assert_eq!(
            rendered,
            [
                ("a".to_owned(), "x".to_owned()),
                ("n".to_owned(), "0x10".to_owned()),
                ("l".to_owned(), "[1, \"y\"]".to_owned()),
                ("t".to_owned(), "{ b = true }".to_owned()),
            ]
        );
    }
}
