//! `SECRET_TEMPLATE` values: text with `{{ <reference> }}` placeholders,
//! `{{ <reference> | url }}` to percent-encode, `{{ "{{" }}` for a literal
//! `{{`. Parsing is pure (no I/O, no values); [`Template::render`] is called
//! by the values module with each placeholder's value.

use crate::reference::Reference;
use crate::secret::SecretValue;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value { reference: Reference, url: bool },
}

impl Template {
    /// Parse a template.
    ///
    /// # Errors
    /// An unclosed `{{`, an empty placeholder, an unknown function, an
    /// invalid reference, or no placeholder at all.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            literal.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err("a '{{' is never closed by '}}'".to_owned());
            };
            let inside = after[..close].trim();
            rest = &after[close + 2..];
            if inside == "\"{{\"" {
                literal.push_str("{{");
                continue;
            }
            let (reference, function) = match inside.split_once('|') {
                Some((reference, function)) => (reference.trim(), Some(function.trim())),
                None => (inside, None),
            };
            let url = match function {
                None => false,
                Some("url") => true,
                Some(other) => {
                    return Err(format!(
                        "unknown function '{}' (the one function is url)",
                        crate::error::escape_controls(other)
                    ));
                }
            };
            if reference.is_empty() {
                return Err("an empty placeholder '{{ }}'".to_owned());
            }
            let reference =
                Reference::parse(reference).map_err(|e| format!("{{{{ {reference} }}}}: {e}"))?;
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Value { reference, url });
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Value { .. })) {
            return Err("no {{ reference }} in it".to_owned());
        }
        Ok(Self { parts })
    }

    /// The references of the placeholders, in order (one per placeholder).
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.parts.iter().filter_map(|p| match p {
            Part::Value { reference, .. } => Some(reference),
            Part::Text(_) => None,
        })
    }

    /// The text with each placeholder's value in place, from `value` (called
    /// once per placeholder, in order).
    ///
    /// # Errors
    /// The first placeholder whose value is missing.
    pub fn render<E>(
        &self,
        mut value: impl FnMut(&Reference) -> Result<SecretValue, E>,
    ) -> Result<SecretValue, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value { reference, url } => {
                    let value = value(reference)?;
                    if *url {
                        percent_encode(value.expose(), &mut out);
                    } else {
                        out.push_str(value.expose());
                    }
                }
            }
        }
        Ok(SecretValue::new(out))
    }
}

/// Every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`)
/// as `%XX`.
fn percent_encode(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, values: &[(&str, &str)]) -> String {
        Template::parse(text)
            .unwrap()
            .render(|r| {
                values
                    .iter()
                    .find(|(k, _)| *k == r.as_str())
                    .map(|(_, v)| SecretValue::new((*v).to_owned()))
                    .ok_or(())
            })
            .unwrap()
            .expose()
            .to_owned()
    }

    #[test]
    fn placeholders_escapes_and_url_encoding() {
        assert_eq!(
            render(
                "postgres://app:{{ /app/pw | url }}@db:5432/app",
                &[("/app/pw", "p@ss:w/rd%")]
            ),
            "postgres://app:p%40ss%3Aw%2Frd%25@db:5432/app"
        );
        assert_eq!(
            render(
                "-Dkey={{/app/api#key}} {{ \"{{\" }}x}} {{/app/api#key}}",
                &[("/app/api#key", "K")]
            ),
            "-Dkey=K {{x}} K"
        );
        assert_eq!(
            render("{{ /a | url }}", &[("/a", "é ~-._")]),
            "%C3%A9%20~-._"
        );
        let t = Template::parse("{{ /a }}{{ /b:3 }}{{ /a }}").unwrap();
        let refs: Vec<&str> = t.references().map(Reference::as_str).collect();
        assert_eq!(refs, ["/a", "/b:3", "/a"]);
    }

    #[test]
    fn malformed_templates_are_refused() {
        for (text, expected) in [
            ("x {{ /a", "never closed"),
            ("x {{ }}", "empty placeholder"),
            ("x {{ | url }}", "empty placeholder"),
            ("{{ /a | upper }}", "unknown function 'upper'"),
            ("{{ /a b }}", "whitespace"),
            ("no placeholder", "no {{ reference }}"),
            ("only {{ \"{{\" }}", "no {{ reference }}"),
        ] {
            let error = Template::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
