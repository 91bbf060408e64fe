//! The error of reading a tree file: where (line and column, counted from the spans the
//! toml crate keeps) and what was expected; for a file, which file.

use std::ops::Range;
use std::path::PathBuf;

/// Reading a tree file failed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The text is not TOML, or not a valid tree.
    #[error("line {line}, column {column}: {message}")]
    Invalid {
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read but its contents are invalid.
    #[error("{}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (an [`Invalid`](TreeError::Invalid)).
        source: Box<TreeError>,
    },
}

impl TreeError {
    /// The line and column of the problem, if the error is about the contents.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Self::Invalid { line, column, .. } => Some((*line, *column)),
            Self::Read { .. } => None,
            Self::File { source, .. } => source.position(),
        }
    }
}

/// An [`Invalid`](TreeError::Invalid) error at the start of `span` in `text`.
pub(super) fn invalid(text: &str, span: Range<usize>, message: impl Into<String>) -> TreeError {
    let (line, column) = line_column(text, span.start);
    TreeError::Invalid {
        line,
        column,
        message: message.into(),
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one_in_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
