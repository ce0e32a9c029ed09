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

/// One variable of the environment, in its original position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// Passed to the child as it was.
    Plain(OsString, OsString),
    /// A `SECRET <reference>` variable.
    Secret(SecretVar),
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
}

impl Scan {
    /// The reference variables, in order.
    pub fn secrets(&self) -> impl Iterator<Item = &SecretVar> {
        self.vars.iter().filter_map(|var| match var {
            Var::Secret(secret) => Some(secret),
            Var::Plain(..) => None,
        })
    }

    /// Whether any variable is a reference.
    #[must_use]
    pub fn has_secrets(&self) -> bool {
        self.secrets().next().is_some()
    }
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
    let mut scan = Scan::default();
    let mut invalid = Vec::new();
    for (name, value) in vars {
        let Some(var_name) = reference_name(&name, &value) else {
            scan.vars.push(Var::Plain(name, value));
            continue;
        };
        let text = &value.as_bytes()[MARKER.len()..];
        let parsed = match std::str::from_utf8(text) {
            Ok(text) => Reference::parse(text),
            Err(_) => Err(ReferenceError::new("reference is not valid UTF-8")),
        };
        match parsed {
            Ok(reference) => scan.vars.push(Var::Secret(SecretVar {
                name: var_name,
                original: value,
                reference,
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

/// The variable's name when it is a reference variable: name `^\w+$` and
/// value starting with the marker.
fn reference_name(name: &OsStr, value: &OsStr) -> Option<String> {
    let bytes = name.as_bytes();
    let word = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    if word && value.as_bytes().starts_with(MARKER) {
        // ASCII, so this cannot fail.
        name.to_str().map(str::to_owned)
    } else {
        None
    }
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
                Var::Secret(_) => None,
            })
            .collect();
        let mut expected = input;
        expected.remove(1);
        assert_eq!(plain, expected);
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
