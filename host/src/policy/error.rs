//! Errors in rules and policy files.

use std::fmt;

/// A rule that could not be parsed: the rule as written, where the problem
/// is, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The rule as written.
    pub rule: String,
    /// The 1-based column (in characters) of the problem within the rule.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid rule `{}` at column {}: {}",
            self.rule, self.column, self.message
        )
    }
}

impl RuleError {
    /// An error at byte `offset` of `rule`.
    pub(crate) fn at(rule: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(rule.len());
        let column = rule.char_indices().take_while(|(i, _)| *i < offset).count() + 1;
        RuleError {
            rule: rule.to_string(),
            column,
            message: message.into(),
        }
    }
}
