//! The one error type the binary makes itself: a usage error.
//!
//! Everything a person typed wrong (a flag, a channel name, a multiaddress,
//! a config file) becomes a [`UsageError`]; `main` prints it on one line and
//! exits with code 2, like clap's own errors. Every other failure is a
//! runtime error and exits with code 1.

use std::fmt;

/// Something the user gave (flag, argument, environment variable, config
/// file) is invalid. The message says what is wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl UsageError {
    /// A usage error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns early from a function with a [`UsageError`] built from a format
/// string.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::error::UsageError::new(format!($($arg)*)).into())
    };
}
pub(crate) use usage;

/// The exit code for an error: 2 when it is (or wraps) a [`UsageError`],
/// 1 otherwise.
pub(crate) fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}

/// The error as one line: the context chain joined by `": "`, with any line
/// breaks inside messages folded into spaces.
pub(crate) fn one_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn usage_errors_exit_2_even_under_context() {
        let err = anyhow::Error::from(UsageError::new("bad flag"));
        assert_eq!(exit_code(&err), 2);
        let wrapped = Err::<(), _>(err).context("reading flags").unwrap_err();
        assert_eq!(exit_code(&wrapped), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("disk full")), 1);
    }

    #[test]
    fn errors_print_on_one_line_with_their_context() {
        let err = Err::<(), _>(anyhow::anyhow!("no such file\nreally"))
            .context("cannot open the store")
            .unwrap_err();
        assert_eq!(one_line(&err), "cannot open the store: no such file really");
    }
}
