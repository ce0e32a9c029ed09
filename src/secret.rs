//! `SecretValue`: the only type that holds a decrypted value.
//!
//! It has a redacted `Debug`, no `Display` and no `Clone`, and its bytes are
//! wiped when it is dropped, so a value cannot reach a log line or an error
//! message by accident. Only code that builds the child's environment (or a
//! `psc` command whose job is to print a value) calls [`SecretValue::expose`].

use std::fmt;

/// A decrypted parameter value.
pub struct SecretValue(String);

impl SecretValue {
    /// Wrap a value received from Parameter Store.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value itself. Call it only where the value is handed to its
    /// consumer: the child's environment, or `psc get`'s stdout.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes: safe to compare, never logged.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(** redacted **)")
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::SecretValue;

    #[test]
    fn debug_is_redacted() {
        let secret = SecretValue::new("hunter2-sentinel".to_owned());
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(secret.expose(), "hunter2-sentinel");
    }
}
