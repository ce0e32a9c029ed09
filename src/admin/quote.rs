//! POSIX shell quoting for `psc decrypt-env`.
//!
//! A value goes between single quotes, where every shell of the POSIX
//! family (bash, dash, zsh, ksh, busybox sh) treats every character
//! literally, newlines, `$`, backticks and backslashes included. The only
//! character that cannot appear inside is the single quote itself: it
//! becomes `'\''` (close the quotes, an escaped quote, reopen). zsh's
//! RC_QUOTES option (`''` inside quotes) cannot misread this: the output
//! never holds `''` inside a quoted string. Only NUL cannot be carried,
//! as no environment variable can hold it.

use std::fmt::Write as _;

use zeroize::Zeroizing;

/// `value` as one single-quoted shell word.
#[must_use]
pub fn quote(value: &str) -> Zeroizing<String> {
    let mut quoted = Zeroizing::new(String::with_capacity(value.len() + 2));
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// Whether a shell can assign to this variable name (`[A-Za-z_][A-Za-z0-9_]*`).
/// The scan accepts `^\w+$`, which also allows a leading digit.
#[must_use]
pub fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One line of `decrypt-env` output: `export NAME='value'`.
pub fn push_export(out: &mut Zeroizing<String>, name: &str, value: &str) {
    let quoted = quote(value);
    // Writing to a String cannot fail.
    let _ = writeln!(out, "export {name}={}", quoted.as_str());
}

/// Undo [`quote`]'s quoting the way a POSIX shell reads one word made of
/// single-quoted parts and backslash-escaped characters. For tests.
#[cfg(test)]
fn unquote(word: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    other => out.push(other),
                }
            },
            '\\' => out.push(chars.next()?),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes() {
        assert_eq!(quote("plain").as_str(), "'plain'");
        assert_eq!(quote("it's").as_str(), r"'it'\''s'");
        assert_eq!(quote("'").as_str(), r"''\'''");
        assert_eq!(
            quote("$(x) `y` ${z} \\ \"q\"\n").as_str(),
            "'$(x) `y` ${z} \\ \"q\"\n'"
        );
        let mut out = Zeroizing::new(String::new());
        push_export(&mut out, "A", "a'b");
        push_export(&mut out, "B", "x\ny\n");
        assert_eq!(out.as_str(), "export A='a'\\''b'\nexport B='x\ny\n'\n");
    }

    /// zsh with RC_QUOTES reads `''` inside single quotes as one quote: a
    /// closing quote must never be followed by another.
    fn closing_quote_never_followed_by_quote(quoted: &str) -> bool {
        let mut inside = false;
        let mut chars = quoted.chars().peekable();
        while let Some(c) = chars.next() {
            if inside {
                if c == '\'' {
                    inside = false;
                    if chars.peek() == Some(&'\'') {
                        return false;
                    }
                }
            } else if c == '\\' {
                chars.next();
            } else if c == '\'' {
                inside = true;
            }
        }
        true
    }

    #[test]
    fn shell_names() {
        for ok in ["A", "_", "db_url", "X1", "_1"] {
            assert!(is_shell_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "é"] {
            assert!(!is_shell_name(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn unquote_restores_any_value(value in "\\PC*|[\\x00-\\x7f]*|['\\\\$`\"\n]*") {
            let quoted = quote(&value);
            prop_assert!(closing_quote_never_followed_by_quote(&quoted), "{:?}", quoted.as_str());
            prop_assert_eq!(unquote(&quoted), Some(value));
        }
    }

    /// The real thing: `sh` (dash on Debian) reads the quoted words back.
    #[test]
    fn sh_restores_generated_values() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let strategy = "[^\\x00]{1,40}|['\\\\$`\"\n\t !*?~{}]{1,20}";
        let values: Vec<String> = (0..200)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect();
        let mut script = Zeroizing::new(String::new());
        for (i, value) in values.iter().enumerate() {
            push_export(&mut script, &format!("V{i}"), value);
        }
        script.push_str("env -0\n");
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("sh");
        assert!(output.status.success());
        let mut seen = std::collections::HashMap::new();
        for entry in output.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let at = entry.iter().position(|b| *b == b'=').unwrap();
            seen.insert(entry[..at].to_vec(), entry[at + 1..].to_vec());
        }
        for (i, value) in values.iter().enumerate() {
            assert_eq!(
                seen.get(format!("V{i}").as_bytes()).map(Vec::as_slice),
                Some(value.as_bytes()),
                "V{i} = {value:?}"
            );
        }
    }
}
