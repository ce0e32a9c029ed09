//! Scanning the environment: which variables are references, which reach
//! the child untouched. Pure: no I/O.
//!
//! A variable is a reference when its name is ASCII word characters
//! (`^\w+$`) and its value starts with `SECRET `. Everything else is kept
//! byte-for-byte, in order, including names and values that are not UTF-8.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::reference::{Reference, ReferenceError};

/// The marker that makes a value a reference.
pub const MARKER: &[u8] = b"SECRET ";
/// The marker of a reference delivered as a file (`VAR=<dir>/<VAR>`).
pub const FILE_MARKER: &[u8] = b"SECRET_FILE ";
/// The marker of a value composed of text and references.
pub const TEMPLATE_MARKER: &[u8] = b"SECRET_TEMPLATE ";

/// One variable of the environment, in its original position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// Passed to the child as it was.
    Plain(OsString, OsString),
    /// A `SECRET <reference>` (or `SECRET_FILE <reference>`) variable.
    Secret(SecretVar),
    /// A `SECRET_TEMPLATE <text>` variable.
    Template(TemplateVar),
    /// An entry without `=`: not a variable, but the child gets it as it
    /// was, as env(1) passes it.
    Bare(OsString),
}

/// A variable whose value is a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVar {
    /// The variable's name (ASCII word characters).
    pub name: String,
    /// The value as it was, for `--on-missing keep`.
    pub original: OsString,
    /// The parsed reference.
    pub reference: Reference,
    /// `SECRET_FILE`: the child gets a file's path, the file the value.
    pub file: bool,
}

/// A variable whose value is a template of text and references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVar {
    /// The variable's name (ASCII word characters).
    pub name: String,
    /// The value as it was, for `--on-missing keep`.
    pub original: OsString,
    /// The parsed template.
    pub template: crate::template::Template,
}

/// A variable whose value looks like a reference but is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidVar {
    /// The variable's name.
    pub name: String,
    /// What is wrong with the reference.
    pub error: ReferenceError,
}

/// The environment, split.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scan {
    /// All variables, in their original order.
    pub vars: Vec<Var>,
    /// Plain variables that look like a reference but are not one (a name
    /// outside `^\w+$`, or `SECRET` not followed by exactly one space at
    /// the start): passed through unchanged, worth a warning.
    pub near_misses: Vec<NearMiss>,
}

/// A variable that looks like a reference but is not taken as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    /// The variable's name, lossily decoded for the message.
    pub name: String,
    /// Why it is not a reference.
    pub why: &'static str,
}

impl Scan {
    /// The reference variables (`SECRET`, `SECRET_FILE`), in order.
    pub fn secrets(&self) -> impl Iterator<Item = &SecretVar> {
        self.vars.iter().filter_map(|var| match var {
            Var::Secret(secret) => Some(secret),
            _ => None,
        })
    }

    /// The template variables, in order.
    pub fn templates(&self) -> impl Iterator<Item = &TemplateVar> {
        self.vars.iter().filter_map(|var| match var {
            Var::Template(template) => Some(template),
            _ => None,
        })
    }

    /// Every reference to fetch: each reference variable's, then each
    /// placeholder of each template.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.secrets()
            .map(|s| &s.reference)
            .chain(self.templates().flat_map(|t| t.template.references()))
    }

    /// The names of the variables that need a fetch, in order.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().filter_map(|var| match var {
            Var::Secret(secret) => Some(secret.name.as_str()),
            Var::Template(template) => Some(template.name.as_str()),
            _ => None,
        })
    }

    /// Whether any variable needs a fetch.
    #[must_use]
    pub fn has_secrets(&self) -> bool {
        self.references().next().is_some()
    }
}

/// This process's environment exactly as the kernel handed it over: every
/// entry in order, duplicates and entries without `=` included
/// (`std::env::vars_os` skips the latter).
#[must_use]
pub fn environ() -> Vec<OsString> {
    use std::os::unix::ffi::OsStringExt;
    unsafe extern "C" {
        static environ: *const *const std::ffi::c_char;
    }
    let mut entries = Vec::new();
    // SAFETY: `environ` is the C library's NULL-terminated array of
    // NUL-terminated strings; read before any thread could change it.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let bytes = std::ffi::CStr::from_ptr(*entry).to_bytes();
            entries.push(OsString::from_vec(bytes.to_vec()));
            entry = entry.add(1);
        }
    }
    entries
}

/// Split raw environment entries (`NAME=value`) into plain variables and
/// references. An entry splits at its first `=` after the first byte, as
/// `std::env::vars_os` splits it; one without `=` is kept as it is.
///
/// # Errors
/// As [`scan`].
pub fn scan_environ<I>(entries: I) -> Result<Scan, Vec<InvalidVar>>
where
    I: IntoIterator<Item = OsString>,
{
    use std::os::unix::ffi::OsStringExt;
    scan_entries(entries.into_iter().map(|entry| {
        let bytes = entry.into_vec();
        match bytes.iter().skip(1).position(|&b| b == b'=') {
            Some(at) => {
                let mut name = bytes;
                let value = name.split_off(at + 1);
                name.truncate(at + 1);
                Ok((
                    OsString::from_vec(name),
                    OsString::from_vec(value[1..].to_vec()),
                ))
            }
            None => Err(OsString::from_vec(bytes)),
        }
    }))
}

/// Split an environment into plain variables and references.
///
/// # Errors
/// Every variable that carries the marker but no valid reference, so one
/// message can name them all.
pub fn scan<I>(vars: I) -> Result<Scan, Vec<InvalidVar>>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    scan_entries(vars.into_iter().map(Ok))
}

fn scan_entries<I>(entries: I) -> Result<Scan, Vec<InvalidVar>>
where
    I: Iterator<Item = Result<(OsString, OsString), OsString>>,
{
    let mut scan = Scan::default();
    let mut invalid = Vec::new();
    for entry in entries {
        let (name, value) = match entry {
            Ok(pair) => pair,
            Err(bare) => {
                scan.vars.push(Var::Bare(bare));
                continue;
            }
        };
        let Some((var_name, marker)) = reference_name(&name, &value) else {
            if let Some(why) = near_miss(&value) {
                scan.near_misses.push(NearMiss {
                    name: name.to_string_lossy().into_owned(),
                    why,
                });
            }
            scan.vars.push(Var::Plain(name, value));
            continue;
        };
        let Ok(text) = std::str::from_utf8(&value.as_bytes()[marker.len()..]) else {
            invalid.push(InvalidVar {
                name: var_name,
                error: ReferenceError::new("reference is not valid UTF-8"),
            });
            continue;
        };
        if marker == TEMPLATE_MARKER {
            match crate::template::Template::parse(text) {
                Ok(template) => scan.vars.push(Var::Template(TemplateVar {
                    name: var_name,
                    original: value,
                    template,
                })),
                Err(why) => invalid.push(InvalidVar {
                    name: var_name,
                    error: ReferenceError::new(format!("template: {why}")),
                }),
            }
            continue;
        }
        match Reference::parse(text) {
            Ok(reference) => scan.vars.push(Var::Secret(SecretVar {
                name: var_name,
                original: value,
                reference,
                file: marker == FILE_MARKER,
            })),
            Err(error) => invalid.push(InvalidVar {
                name: var_name,
                error,
            }),
        }
    }
    if invalid.is_empty() {
        Ok(scan)
    } else {
        Err(invalid)
    }
}

/// Why a plain variable looks like a reference, if it does: the marker
/// after blanks (Unicode ones and zero-width characters included), in
/// another case, or followed by another blank or a `:`.
fn near_miss(value: &OsStr) -> Option<&'static str> {
    let bytes = value.as_bytes();
    if [MARKER, FILE_MARKER, TEMPLATE_MARKER]
        .iter()
        .any(|m| bytes.starts_with(m))
    {
        return Some("a reference variable's name is letters, digits and _ only");
    }
    // Only the start matters, and it must be text to look like the marker.
    let head = &bytes[..bytes.len().min(64)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default(),
    };
    let blank = |c: char| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
    };
    let trimmed = text.trim_start_matches(blank);
    let word = trimmed.get(..6)?;
    let next = trimmed[6..].chars().next()?;
    if !word.eq_ignore_ascii_case("SECRET") || !(blank(next) || next == ':') {
        return None;
    }
    Some(if word == "SECRET" {
        "a reference starts with exactly 'SECRET ' (one space, nothing before it)"
    } else {
        "the marker is 'SECRET' in capitals, then one space"
    })
}

/// The variable's name and marker when it is a reference variable: name
/// `^\w+$` and value starting with one of the markers.
fn reference_name(name: &OsStr, value: &OsStr) -> Option<(String, &'static [u8])> {
    let bytes = name.as_bytes();
    let word = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let marker = [MARKER, FILE_MARKER, TEMPLATE_MARKER]
        .into_iter()
        .find(|m| value.as_bytes().starts_with(m))?;
    // ASCII, so this cannot fail.
    word.then(|| name.to_str().map(|n| (n.to_owned(), marker)))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn env(pairs: &[(&[u8], &[u8])]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    OsString::from_vec(k.to_vec()),
                    OsString::from_vec(v.to_vec()),
                )
            })
            .collect()
    }

    #[test]
    fn splits_references_from_plain_values() {
        let input = env(&[
            (b"LOG_LEVEL", b"debug"),
            (b"DB_URL", b"SECRET staging.myservice.db_url"),
            (b"NOT-WORD", b"SECRET x"),
            (b"NOSPACE", b"SECRETx"),
            (b"LOWER", b"secret x"),
            (b"RAW", b"\xff\xfe SECRET x"),
            (b"\xffNAME", b"SECRET x"),
            (b"EMPTY", b""),
        ]);
        let scan = scan(input.clone()).unwrap();
        let secrets: Vec<_> = scan
            .secrets()
            .map(|s| (s.name.as_str(), s.reference.as_str()))
            .collect();
        assert_eq!(secrets, [("DB_URL", "staging.myservice.db_url")]);
        let plain: Vec<_> = scan
            .vars
            .iter()
            .filter_map(|v| match v {
                Var::Plain(k, v) => Some((k.clone(), v.clone())),
                Var::Secret(_) | Var::Template(_) | Var::Bare(_) => None,
            })
            .collect();
        let mut expected = input;
        expected.remove(1);
        assert_eq!(plain, expected);
    }

    #[test]
    fn near_misses_are_named() {
        let input = env(&[
            ("NBSP".as_bytes(), "SECRET\u{a0}/x".as_bytes()),
            (b"VT", b"SECRET\x0b/x"),
            ("EM".as_bytes(), "SECRET\u{2003}/x".as_bytes()),
            ("ZWSP".as_bytes(), "SECRET\u{200b}/x".as_bytes()),
            ("LEADING".as_bytes(), "\u{a0}SECRET /x".as_bytes()),
            (b"LOWER", b"secret /x"),
            (b"TITLE", b"Secret /x"),
            (b"COLON", b"SECRET:/x"),
            (b"TAB", b"SECRET\t/x"),
            (b"FINE1", b"SECRETARY"),
            (b"FINE2", b"secretive people"),
            (b"FINE3", b"SECRET_FILE"),
            (b"FINE4", b"my SECRET x"),
            (b"FINE5", b"\xffSECRET x"),
        ]);
        let scan = scan(input).unwrap();
        assert!(!scan.has_secrets());
        let named: Vec<_> = scan.near_misses.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            named,
            [
                "NBSP", "VT", "EM", "ZWSP", "LEADING", "LOWER", "TITLE", "COLON", "TAB"
            ]
        );
        assert!(scan.near_misses[5].why.contains("capitals"));
    }

    #[test]
    fn raw_entries_keep_their_order_and_entries_without_equals() {
        let entries: Vec<OsString> = [&b"B=2"[..], b"JUNK", b"A=SECRET /a", b"=x=y", b"B=3"]
            .iter()
            .map(|e| OsString::from_vec(e.to_vec()))
            .collect();
        let scan = scan_environ(entries).unwrap();
        let shapes: Vec<String> = scan
            .vars
            .iter()
            .map(|v| match v {
                Var::Plain(k, v) => format!("{}={}", k.to_string_lossy(), v.to_string_lossy()),
                Var::Secret(s) => format!("{}->{}", s.name, s.reference.as_str()),
                Var::Bare(e) => format!("bare {}", e.to_string_lossy()),
                Var::Template(t) => format!("{}->template", t.name),
            })
            .collect();
        assert_eq!(shapes, ["B=2", "bare JUNK", "A->/a", "=x=y", "B=3"]);
    }

    #[test]
    fn reports_every_invalid_reference() {
        let input = env(&[
            (b"A", b"SECRET "),
            (b"B", b"SECRET ok.name"),
            (b"C", b"SECRET bad name"),
            (b"D", b"SECRET \xff"),
        ]);
        let invalid = scan(input).unwrap_err();
        let names: Vec<_> = invalid.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["A", "C", "D"]);
        assert_eq!(invalid[0].error.to_string(), "empty reference");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStringExt;

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Arbitrary bytes: non-UTF-8, '=', NUL-free as in a real environ.
            proptest::collection::vec(1u8..=255, 0..64),
            // Reference-shaped values, valid and not.
            "SECRET [ -~]{0,40}".prop_map(String::into_bytes),
            "SECRET  ?/[a-z0-9_./-]{1,30}(:[a-z0-9]{0,4})?(#[a-z]{0,5})? ?"
                .prop_map(String::into_bytes),
            // Very long values.
            proptest::collection::vec(1u8..=255, 4000..9000),
        ]
    }

    fn names() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[A-Za-z0-9_]{1,12}".prop_map(String::into_bytes),
            proptest::collection::vec(1u8..=255, 1..16)
                .prop_filter("no '='", |n| !n.contains(&b'=')),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Scanning never panics; plain variables come out byte-exact and in
        /// order; a variable is a reference exactly when the rule says so.
        #[test]
        fn scan_preserves_everything_it_does_not_resolve(
            pairs in proptest::collection::vec((names(), bytes()), 0..24)
        ) {
            let env: Vec<(OsString, OsString)> = pairs
                .iter()
                .map(|(k, v)| (OsString::from_vec(k.clone()), OsString::from_vec(v.clone())))
                .collect();
            match scan(env.clone()) {
                Ok(scan) => {
                    prop_assert_eq!(scan.vars.len(), env.len());
                    for (var, (name, value)) in scan.vars.iter().zip(&env) {
                        let is_reference = reference_name(name, value).is_some();
                        match var {
                            Var::Plain(k, v) => {
                                prop_assert!(!is_reference);
                                prop_assert_eq!(k, name);
                                prop_assert_eq!(v, value);
                            }
                            Var::Bare(_) => prop_assert!(false, "pairs have no bare entries"),
                            Var::Secret(secret) => {
                                prop_assert!(is_reference);
                                prop_assert_eq!(secret.name.as_bytes(), name.as_bytes());
                                prop_assert_eq!(&secret.original, value);
                            }
                            Var::Template(template) => {
                                prop_assert!(is_reference);
                                prop_assert_eq!(template.name.as_bytes(), name.as_bytes());
                                prop_assert_eq!(&template.original, value);
                            }
                        }
                    }
                }
                Err(invalid) => {
                    prop_assert!(!invalid.is_empty());
                    for bad in invalid {
                        prop_assert!(env.iter().any(|(k, v)| k.as_bytes() == bad.name.as_bytes()
                            && v.as_bytes().starts_with(MARKER)));
                    }
                }
            }
        }

        /// Parsing never panics; what parses re-parses to the same thing,
        /// and what is sent to AWS stays within SSM's alphabets.
        #[test]
        fn parse_is_total_and_stable(text in prop_oneof![
            "[ -~]{0,80}",
            "\\PC{0,40}",
            " ?(arn:aws:ssm:[a-z0-9-]{0,12}:[0-9]{10,13}:parameter)?/?[a-zA-Z0-9_./-]{0,40}(:[a-zA-Z0-9_.-]{0,6})?(#.{0,6})? ?",
            "/aws/reference/secretsmanager/[a-zA-Z0-9/_+=.@-]{0,20}(:[A-Z]{0,10})?(#[a-z]{0,4})?",
        ]) {
            if let Ok(reference) = crate::reference::Reference::parse(&text) {
                let again = crate::reference::Reference::parse(reference.as_str()).unwrap();
                prop_assert_eq!(&again, &reference);
                let sent = reference.request_name();
                prop_assert!(!sent.is_empty() && sent.len() <= 2048);
                prop_assert!(sent.chars().all(|c| c.is_ascii_alphanumeric()
                    || "_.-/:+=@".contains(c)), "{}", sent);
                prop_assert!(!reference.identity().is_empty());
            }
        }
    }
}
