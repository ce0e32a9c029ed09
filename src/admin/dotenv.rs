//! One strict dotenv dialect, for `psc import-env`. Pure: no I/O. Reads
//! values (into [`SecretValue`]s) and never shows one: errors name the line.
//!
//! ```text
//! # a comment, and blank lines
//! KEY=unquoted value, verbatim to the end of the line
//! export KEY2='literal: $HOME, "quotes", \n stay as written'
//! KEY3="escapes: \n newline, \" quote, \\ backslash"
//! ```
//!
//! Quoted values may span lines. Refused, each naming its line: an invalid
//! name, a duplicate key, an empty value (Parameter Store refuses them),
//! `$NAME` or `${NAME}` outside single quotes (no interpolation here), an
//! unknown escape, an unclosed quote, text after a closing quote.

use crate::secret::SecretValue;

/// One `KEY=value` of the file.
#[derive(Debug)]
pub struct Entry {
    /// The variable's name, case kept.
    pub key: String,
    /// Its value.
    pub value: SecretValue,
    /// The line it starts on (1-based).
    pub line: usize,
}

/// Parse a whole file.
///
/// # Errors
/// Every line that breaks the dialect, in one message (`line N: why`).
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut entries: Vec<Entry> = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let line = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .map_or(trimmed, str::trim_start);
        let Some((key, rest)) = body.split_once('=') else {
            problems.push(format!("line {number}: not KEY=VALUE"));
            continue;
        };
        if !is_name(key) {
            problems.push(format!(
                "line {number}: {} is not a variable name (letters, digits and _, not starting with a digit)",
                crate::error::escape_controls(key)
            ));
            continue;
        }
        let value = match rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                // The value runs to the closing quote, over lines if need be.
                let mut text = rest[1..].to_owned();
                let mut closed = None;
                loop {
                    if let Some(end) = closing(&text, quote) {
                        closed = Some(end);
                        break;
                    }
                    if i >= lines.len() {
                        break;
                    }
                    text.push('\n');
                    text.push_str(lines[i].strip_suffix('\r').unwrap_or(lines[i]));
                    i += 1;
                }
                let Some(end) = closed else {
                    problems.push(format!("line {number}: {quote} is never closed"));
                    continue;
                };
                let after = text[end + 1..].trim();
                if !after.is_empty() && !after.starts_with('#') {
                    problems.push(format!("line {number}: text after the closing {quote}"));
                    continue;
                }
                let inner = &text[..end];
                if quote == '\'' {
                    Ok(inner.to_owned())
                } else {
                    unescape(inner)
                }
            }
            _ => {
                if interpolates(rest) {
                    Err("$NAME is not expanded here: write the value, or use single quotes for a literal $".to_owned())
                } else {
                    Ok(rest.to_owned())
                }
            }
        };
        match value {
            Ok(value) if value.is_empty() => problems.push(format!(
                "line {number}: {key} is empty (Parameter Store refuses empty values)"
            )),
            Ok(value) => {
                if let Some(first) = entries.iter().find(|e| e.key == key) {
                    problems.push(format!(
                        "line {number}: {key} again (first on line {})",
                        first.line
                    ));
                } else {
                    entries.push(Entry {
                        key: key.to_owned(),
                        value: SecretValue::new(value),
                        line: number,
                    });
                }
            }
            Err(why) => problems.push(format!("line {number}: {why}")),
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems.join("; "))
    }
}

fn is_name(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The index of the quote that closes `text` (a `"` after a backslash does
/// not close a double-quoted value).
fn closing(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if quote == '"' && escaped {
            escaped = false;
        } else if quote == '"' && c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

/// Whether `$NAME` or `${...}` appears: what another dotenv would expand.
fn interpolates(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1] == b'{' || w[1] == b'_' || w[1].is_ascii_alphabetic()))
}

fn unescape(inner: &str) -> Result<String, String> {
    if interpolates(inner) {
        return Err(
            "$NAME is not expanded here: write the value, or use single quotes for a literal $"
                .to_owned(),
        );
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                return Err(format!(
                    "unknown escape \\{} (only \\n \\\" \\\\)",
                    other.escape_debug()
                ));
            }
            None => return Err("a backslash at the end".to_owned()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value.expose().to_owned()))
            .collect()
    }

    #[test]
    fn every_form_of_the_dialect() {
        let text = "# comment\n\n  # indented comment\nPLAIN=a b # not a comment\nexport EXPORTED=x\nSINGLE='$HOME \"q\" \\n'\nDOUBLE=\"l1\\nl2 \\\"q\\\" \\\\\"\nMULTI=\"-----BEGIN KEY-----\nabc\n-----END KEY-----\"\nCRLF=v\r\nlower_Case=keep\nQUOTED_COMMENT='v' # trailing\nEQUALS=a=b=c\n";
        assert_eq!(
            pairs(text),
            [
                ("PLAIN", "a b # not a comment"),
                ("EXPORTED", "x"),
                ("SINGLE", "$HOME \"q\" \\n"),
                ("DOUBLE", "l1\nl2 \"q\" \\"),
                ("MULTI", "-----BEGIN KEY-----\nabc\n-----END KEY-----"),
                ("CRLF", "v"),
                ("lower_Case", "keep"),
                ("QUOTED_COMMENT", "v"),
                ("EQUALS", "a=b=c"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn every_bad_line_is_named() {
        for (text, expected) in [
            ("A=1\nA=2\n", "line 2: A again (first on line 1)"),
            ("1A=x", "line 1: 1A is not a variable name"),
            ("MY-VAR=x", "line 1: MY-VAR is not a variable name"),
            ("A=$HOME", "line 1: $NAME is not expanded"),
            ("A=\"${HOME}\"", "line 1: $NAME is not expanded"),
            ("A=", "line 1: A is empty"),
            ("A=''", "line 1: A is empty"),
            ("A='open", "line 1: ' is never closed"),
            ("A=\"x\\t\"", "line 1: unknown escape \\t"),
            ("A='x' y", "line 1: text after the closing '"),
            ("just words", "line 1: not KEY=VALUE"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
        // Every problem at once, so one run shows them all.
        assert_eq!(
            parse("A=\nB=ok\nC-D=x\n").unwrap_err(),
            "line 1: A is empty (Parameter Store refuses empty values); line 3: C-D is not a variable name (letters, digits and _, not starting with a digit)"
        );
    }
}
