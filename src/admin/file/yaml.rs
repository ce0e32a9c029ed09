//! The little YAML that psyml files use: reading a document into a tree
//! that keeps each scalar's style and line, telling what a plain scalar
//! means to YAML 1.1 (psyml reads its files with PyYAML, a YAML 1.1
//! loader), and writing scalars back so that both PyYAML and psc read
//! them as the same text. Pure: no I/O, no calls.
//!
//! The parser is saphyr-parser (YAML 1.2, safe Rust). Its events carry the
//! scalar's text *and* style, which a serde deserializer would hide: a
//! plain `yes` is a boolean to PyYAML but the text `"yes"` to a YAML 1.2
//! reader, and psc refuses such values instead of guessing (psyml would
//! store Python's `str(True)`, `True`).

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

/// A node of the document, with the line (1-based) where it starts.
#[derive(Debug)]
pub enum Node<'a> {
    /// A scalar: its text after unquoting, its style and its tag, if any.
    Scalar {
        /// The text (for quoted and block scalars, after unescaping).
        text: Cow<'a, str>,
        /// Plain, quoted or block.
        style: ScalarStyle,
        /// An explicit tag (`!!str`, `!!int`, `!custom`).
        tag: Option<Cow<'a, Tag>>,
        /// Line of the scalar.
        line: usize,
    },
    /// A sequence.
    Seq {
        /// The items.
        items: Vec<Node<'a>>,
        /// Line of the sequence.
        line: usize,
    },
    /// A mapping, in document order.
    Map {
        /// Key and value pairs.
        entries: Vec<(Node<'a>, Node<'a>)>,
        /// Line of the mapping.
        line: usize,
    },
    /// An alias (`*name`): psyml files have no use for them, so they are
    /// refused where a value is read.
    Alias {
        /// Line of the alias.
        line: usize,
    },
}

impl Node<'_> {
    /// The line where the node starts.
    pub fn line(&self) -> usize {
        match self {
            Self::Scalar { line, .. }
            | Self::Seq { line, .. }
            | Self::Map { line, .. }
            | Self::Alias { line } => *line,
        }
    }
}

/// A document that is not YAML. The message never quotes the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Line (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Read the one document of `text`.
///
/// # Errors
/// Invalid YAML, no document, or more than one.
pub fn parse(text: &str) -> Result<Node<'_>, SyntaxError> {
    let mut events = Parser::new_from_str(text).map(|item| {
        item.map(|(event, span)| (event, span.start.line()))
            .map_err(|e| SyntaxError {
                line: e.marker().line(),
                // The scanner's one message that quotes the input names a
                // single character; drop it, it could be part of a value.
                message: e
                    .info()
                    .split_once(": `")
                    .map_or(e.info(), |(what, _)| what)
                    .to_owned(),
            })
    });
    let mut next = move || {
        events.next().unwrap_or(Err(SyntaxError {
            line: 0,
            message: "unexpected end of input".into(),
        }))
    };
    let mut root = None;
    loop {
        let (event, line) = next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                if root.is_some() {
                    return Err(SyntaxError {
                        line,
                        message: "more than one YAML document".into(),
                    });
                }
                let (event, line) = next()?;
                root = Some(node(event, line, &mut next)?);
            }
            _ => {
                return Err(SyntaxError {
                    line,
                    message: "unexpected YAML event".into(),
                });
            }
        }
    }
    root.ok_or(SyntaxError {
        line: 1,
        message: "the file is empty".into(),
    })
}

fn node<'a>(
    event: Event<'a>,
    line: usize,
    next: &mut impl FnMut() -> Result<(Event<'a>, usize), SyntaxError>,
) -> Result<Node<'a>, SyntaxError> {
    Ok(match event {
        Event::Scalar(text, style, _anchor, tag) => Node::Scalar {
            text,
            style,
            tag,
            line,
        },
        Event::Alias(_) => Node::Alias { line },
        Event::SequenceStart(_, _) => {
            let mut items = Vec::new();
            loop {
                let (event, at) = next()?;
                if matches!(event, Event::SequenceEnd) {
                    break;
                }
                items.push(node(event, at, next)?);
            }
            Node::Seq { items, line }
        }
        Event::MappingStart(_, _) => {
            let mut entries = Vec::new();
            loop {
                let (event, at) = next()?;
                if matches!(event, Event::MappingEnd) {
                    break;
                }
                let key = node(event, at, next)?;
                let (event, at) = next()?;
                let value = node(event, at, next)?;
                entries.push((key, value));
            }
            Node::Map { entries, line }
        }
        _ => {
            return Err(SyntaxError {
                line,
                message: "unexpected YAML event".into(),
            });
        }
    })
}

/// What YAML 1.1 (PyYAML's resolver) reads a plain scalar as, when it is
/// not a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yaml11 {
    /// `yes`, `no`, `on`, `off`, `true`, `false` in their three cases.
    Bool,
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// An integer written as Python's `str()` writes it back (`2`, `-7`).
    CanonicalInt,
    /// Any other integer: octal `0755`, hex, binary, sexagesimal, a `+`
    /// sign, `_` separators, `-0`.
    OtherInt,
    /// A float (`1.10`, `.5`, `1e3` is not one but `1.0e+3` is, `.inf`).
    Float,
    /// A date or timestamp (`2024-01-31`).
    Timestamp,
    /// `<<` or `=`, keys with a meaning of their own.
    Special,
}

impl Yaml11 {
    /// What the scalar is, for messages.
    #[must_use]
    pub fn what(self) -> &'static str {
        match self {
            Self::Bool => "a boolean (psyml would store True or False)",
            Self::Null => "null (psyml would store None)",
            Self::CanonicalInt => "an integer",
            Self::OtherInt => {
                "an integer written another way (octal, hex, binary, a sign, '_' or ':'), which psyml would store in decimal"
            }
            Self::Float => {
                "a floating-point number (psyml would store Python's float, trailing zeros dropped)"
            }
            Self::Timestamp => "a date",
            Self::Special => "a YAML merge or value key",
        }
    }
}

/// How YAML 1.1 (PyYAML's implicit resolvers) reads this plain scalar;
/// `None` for a string.
#[must_use]
pub fn yaml11(text: &str) -> Option<Yaml11> {
    const BOOLS: [&str; 18] = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ];
    if BOOLS.contains(&text) {
        return Some(Yaml11::Bool);
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Yaml11::Null);
    }
    if matches!(text, "<<" | "=") {
        return Some(Yaml11::Special);
    }
    if is_int(text) {
        let canonical = text.strip_prefix('-').unwrap_or(text);
        let plain_decimal = canonical == "0" && !text.starts_with('-')
            || canonical.starts_with(|c: char| matches!(c, '1'..='9'))
                && canonical.bytes().all(|b| b.is_ascii_digit());
        return Some(if plain_decimal {
            Yaml11::CanonicalInt
        } else {
            Yaml11::OtherInt
        });
    }
    if is_float(text) {
        return Some(Yaml11::Float);
    }
    if is_timestamp(text) {
        return Some(Yaml11::Timestamp);
    }
    None
}

/// A cursor over ASCII bytes for the resolver's patterns.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            at: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }
    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn eat_any(&mut self, set: &[u8]) -> bool {
        match self.peek() {
            Some(b) if set.contains(&b) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }
    fn sign(&mut self) {
        let _ = self.eat_any(b"+-");
    }
    /// Bytes matching `ok`, as many as there are; returns how many.
    fn many(&mut self, ok: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.peek().is_some_and(&ok) {
            self.at += 1;
        }
        self.at - start
    }
    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// `(:[0-5]?[0-9])+` at the cursor; whether at least one was eaten.
fn sexagesimal_parts(c: &mut Cursor<'_>) -> bool {
    let mut parts = 0;
    loop {
        let save = c.at;
        if !c.eat(b':') {
            break;
        }
        let first = c.peek();
        let second = c.bytes.get(c.at + 1).copied();
        match (first, second) {
            (Some(b'0'..=b'5'), Some(b)) if b.is_ascii_digit() => c.at += 2,
            (Some(a), _) if a.is_ascii_digit() => c.at += 1,
            _ => {
                c.at = save;
                break;
            }
        }
        parts += 1;
    }
    parts > 0
}

/// PyYAML's int: `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*)
/// | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`.
fn is_int(text: &str) -> bool {
    let alternatives: [&dyn Fn(&mut Cursor<'_>) -> bool; 5] = [
        &|c| c.eat(b'0') && c.eat(b'b') && c.many(|b| matches!(b, b'0' | b'1' | b'_')) > 0,
        &|c| c.eat(b'0') && c.many(|b| matches!(b, b'0'..=b'7' | b'_')) > 0,
        &|c| {
            c.eat(b'0')
                || c.eat_any(b"123456789") && {
                    c.many(digit_or_underscore);
                    true
                }
        },
        &|c| c.eat(b'0') && c.eat(b'x') && c.many(|b| b.is_ascii_hexdigit() || b == b'_') > 0,
        &|c| {
            c.eat_any(b"123456789") && {
                c.many(digit_or_underscore);
                sexagesimal_parts(c)
            }
        },
    ];
    alternatives.iter().any(|alternative| {
        let mut c = Cursor::new(text);
        c.sign();
        alternative(&mut c) && c.done()
    })
}

/// `([eE][-+][0-9]+)?` at the cursor.
fn exponent(c: &mut Cursor<'_>) {
    let save = c.at;
    if c.eat_any(b"eE") && c.eat_any(b"+-") && c.many(|b| b.is_ascii_digit()) > 0 {
        return;
    }
    c.at = save;
}

/// PyYAML's float: `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?
/// | \.[0-9_]+([eE][-+][0-9]+)? | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
/// | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`.
fn is_float(text: &str) -> bool {
    let alternatives: [&dyn Fn(&mut Cursor<'_>) -> bool; 5] = [
        &|c| {
            c.sign();
            c.eat_any(b"0123456789")
                && {
                    c.many(digit_or_underscore);
                    c.eat(b'.')
                }
                && {
                    c.many(digit_or_underscore);
                    exponent(c);
                    true
                }
        },
        &|c| {
            c.eat(b'.') && c.many(digit_or_underscore) > 0 && {
                exponent(c);
                true
            }
        },
        &|c| {
            c.sign();
            c.eat_any(b"0123456789")
                && {
                    c.many(digit_or_underscore);
                    sexagesimal_parts(c)
                }
                && c.eat(b'.')
                && {
                    c.many(digit_or_underscore);
                    true
                }
        },
        &|c| {
            c.sign();
            c.eat(b'.') && matches!(c.rest(), b"inf" | b"Inf" | b"INF") && {
                c.at = c.bytes.len();
                true
            }
        },
        &|c| {
            c.eat(b'.') && matches!(c.rest(), b"nan" | b"NaN" | b"NAN") && {
                c.at = c.bytes.len();
                true
            }
        },
    ];
    alternatives.iter().any(|alternative| {
        let mut c = Cursor::new(text);
        alternative(&mut c) && c.done()
    })
}

/// PyYAML's timestamp: `YYYY-MM-DD`, or `YYYY-M-D` followed by a time
/// (`T` or blanks, `h:mm:ss`, optional fraction and zone).
fn is_timestamp(text: &str) -> bool {
    let digits = |c: &mut Cursor<'_>, min: usize, max: usize| {
        let start = c.at;
        while c.at - start < max && c.peek().is_some_and(|b| b.is_ascii_digit()) {
            c.at += 1;
        }
        c.at - start >= min
    };
    let mut c = Cursor::new(text);
    if !(digits(&mut c, 4, 4) && c.eat(b'-')) {
        return false;
    }
    let date_start = c.at;
    if digits(&mut c, 2, 2) && c.eat(b'-') && digits(&mut c, 2, 2) && c.done() {
        return true;
    }
    c.at = date_start;
    if !(digits(&mut c, 1, 2) && c.eat(b'-') && digits(&mut c, 1, 2)) {
        return false;
    }
    if !(c.eat_any(b"Tt") || c.many(|b| b == b' ' || b == b'\t') > 0) {
        return false;
    }
    if !(digits(&mut c, 1, 2)
        && c.eat(b':')
        && digits(&mut c, 2, 2)
        && c.eat(b':')
        && digits(&mut c, 2, 2))
    {
        return false;
    }
    if c.eat(b'.') {
        c.many(|b| b.is_ascii_digit());
    }
    if c.done() {
        return true;
    }
    c.many(|b| b == b' ' || b == b'\t');
    if c.eat(b'Z') {
        return c.done();
    }
    if !(c.eat_any(b"+-") && digits(&mut c, 1, 2)) {
        return false;
    }
    if c.eat(b':') && !digits(&mut c, 2, 2) {
        return false;
    }
    c.done()
}

/// Characters YAML can carry unescaped (PyYAML's printable set, less the
/// byte-order mark and the line breaks YAML 1.1 knows besides `\n`).
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

/// Whether `text` can be written as a plain scalar that PyYAML and psc
/// both read back as the same string.
fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let last = text.chars().next_back().unwrap_or(first);
    if yaml11(text).is_some()
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || first == ' '
        || last == ' '
        || last == ':'
        || text.starts_with("...")
        || text.contains(": ")
        || text.contains(" #")
        // A YAML 1.2 reader would take these as numbers too; quoting
        // them costs nothing.
        || text.parse::<f64>().is_ok()
    {
        return false;
    }
    text.chars().all(|c| c != '\t' && printable(c))
}

/// `text` as a YAML scalar: plain when that reads back the same in YAML
/// 1.1 and 1.2, single-quoted when only quotes are needed, double-quoted
/// with escapes when it holds a line break or a character YAML cannot
/// carry as it is.
#[must_use]
pub fn scalar(text: &str) -> String {
    if plain_is_safe(text) {
        return text.to_owned();
    }
    if text.chars().all(printable) {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('\'');
        out.push_str(&text.replace('\'', "''"));
        out.push('\'');
        return out;
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_reads_what_pyyaml_reads() {
        for (text, kind) in [
            ("yes", Some(Yaml11::Bool)),
            ("Off", Some(Yaml11::Bool)),
            ("null", Some(Yaml11::Null)),
            ("~", Some(Yaml11::Null)),
            ("", Some(Yaml11::Null)),
            ("2", Some(Yaml11::CanonicalInt)),
            ("-17", Some(Yaml11::CanonicalInt)),
            ("0", Some(Yaml11::CanonicalInt)),
            ("-0", Some(Yaml11::OtherInt)),
            ("0755", Some(Yaml11::OtherInt)),
            ("+5", Some(Yaml11::OtherInt)),
            ("1_000", Some(Yaml11::OtherInt)),
            ("0x1F", Some(Yaml11::OtherInt)),
            ("0b101", Some(Yaml11::OtherInt)),
            ("1:20", Some(Yaml11::OtherInt)),
            ("1.10", Some(Yaml11::Float)),
            ("1.", Some(Yaml11::Float)),
            (".5", Some(Yaml11::Float)),
            ("1.0e+3", Some(Yaml11::Float)),
            ("-.inf", Some(Yaml11::Float)),
            (".NaN", Some(Yaml11::Float)),
            ("1:20.5", Some(Yaml11::Float)),
            ("2024-01-31", Some(Yaml11::Timestamp)),
            ("2024-1-3T10:00:00Z", Some(Yaml11::Timestamp)),
            ("2024-01-31 10:00:00.5 +01:00", Some(Yaml11::Timestamp)),
            ("<<", Some(Yaml11::Special)),
            ("=", Some(Yaml11::Special)),
            ("1e3", None),
            ("1.2.3", None),
            ("0x", None),
            ("08", None),
            ("y", None),
            ("n", None),
            ("yes please", None),
            ("2024-1-3", None),
            ("12:60", None),
            ("v1.10", None),
            ("5a5468-786448467a59-326436", None),
        ] {
            assert_eq!(yaml11(text), kind, "{text:?}");
        }
    }

    #[test]
    fn scalars_read_back_the_same() {
        for text in [
            "plain",
            "with space",
            "yes",
            "2",
            "1e3",
            "0755",
            "",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "#x",
            "- x",
            "it's",
            "line\nbreak\n",
            "tab\there",
            "caf\u{e9}",
            "\u{1}\u{7f}\u{85}\u{2028}\u{feff}",
            "\"quoted\" \\ back",
            "x:",
            "...",
            "---",
        ] {
            let written = format!("k: {}\n", scalar(text));
            let root = parse(&written).unwrap();
            let Node::Map { entries, .. } = root else {
                panic!("{written}")
            };
            let Node::Scalar {
                text: read, style, ..
            } = &entries[0].1
            else {
                panic!("{written}")
            };
            assert_eq!(read, text, "{written}");
            if *style == ScalarStyle::Plain {
                assert_eq!(yaml11(read), None, "{written}");
            }
        }
        assert_eq!(scalar("plain"), "plain");
        assert_eq!(scalar("it's 2"), "it's 2");
        assert_eq!(scalar("2"), "'2'");
        assert_eq!(scalar("'q"), "'''q'");
        assert_eq!(scalar("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn syntax_errors_name_the_line_and_never_the_text() {
        let error = parse("a: 1\nb: [secret-sentinel\n").unwrap_err();
        assert!(error.line >= 2, "{error:?}");
        assert!(!error.message.contains("sentinel"), "{error:?}");
        assert_eq!(
            parse("a: 1\n---\nb: 2\n").unwrap_err().message,
            "more than one YAML document"
        );
        assert_eq!(parse("").unwrap_err().message, "the file is empty");
        assert_eq!(
            parse("# only a comment\n").unwrap_err().message,
            "the file is empty"
        );
    }
}
