//! What differs between a file and Parameter Store, and how `diff` shows
//! it: `+ name` only in the file, `- name` only in the store, `~ name
//! (value, type, description, tags, key)` in both but different; sorted by
//! name, one line each, never a value. Pure: the store's side is read by
//! the caller.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::format::Kind;
use crate::secret::SecretValue;

/// What the file asks for, for one parameter.
#[derive(Debug)]
pub struct Desired<'a> {
    /// The full name.
    pub name: &'a str,
    /// The type.
    pub kind: Kind,
    /// The plaintext value (a StringList joined with `,`).
    pub value: &'a SecretValue,
    /// The description.
    pub description: &'a str,
    /// The KMS key, for a SecureString.
    pub key_id: Option<&'a str>,
    /// The tags.
    pub tags: &'a [(String, String)],
}

/// What Parameter Store holds, for one parameter.
#[derive(Debug)]
pub struct Actual {
    /// The type, as Parameter Store spells it.
    pub kind: String,
    /// The decrypted value.
    pub value: SecretValue,
    /// The description (absent and empty are the same).
    pub description: String,
    /// The KMS key, for a SecureString.
    pub key_id: Option<String>,
    /// The tags (read only for parameters in the file).
    pub tags: Vec<(String, String)>,
}

/// One way two parameters differ, in the order `diff` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aspect {
    /// The value.
    Value,
    /// The type.
    Type,
    /// The description.
    Description,
    /// The tags.
    Tags,
    /// The KMS key of a SecureString.
    Key,
}

impl Aspect {
    fn word(self) -> &'static str {
        match self {
            Self::Value => "value",
            Self::Type => "type",
            Self::Description => "description",
            Self::Tags => "tags",
            Self::Key => "key",
        }
    }
}

/// How one parameter differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Only in the file.
    Add,
    /// Only in Parameter Store.
    Remove,
    /// In both, different in these ways.
    Modify(Vec<Aspect>),
}

/// The tags in a canonical order, for comparing.
fn sorted(tags: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    out.sort_unstable();
    out
}

/// Compare every parameter; the result is sorted by name and holds only
/// the parameters that differ.
#[must_use]
pub fn compare(
    desired: &[Desired<'_>],
    actual: &BTreeMap<String, Actual>,
) -> Vec<(String, Change)> {
    let mut changes: BTreeMap<String, Change> = BTreeMap::new();
    for want in desired {
        let Some(have) = actual.get(want.name) else {
            changes.insert(want.name.to_owned(), Change::Add);
            continue;
        };
        let mut aspects = Vec::new();
        if want.value.expose() != have.value.expose() {
            aspects.push(Aspect::Value);
        }
        if want.kind.canonical() != have.kind {
            aspects.push(Aspect::Type);
        }
        if want.description != have.description {
            aspects.push(Aspect::Description);
        }
        if sorted(want.tags) != sorted(&have.tags) {
            aspects.push(Aspect::Tags);
        }
        if want.kind == Kind::SecureString
            && have.kind == Kind::SecureString.canonical()
            && want.key_id != have.key_id.as_deref()
        {
            aspects.push(Aspect::Key);
        }
        if !aspects.is_empty() {
            changes.insert(want.name.to_owned(), Change::Modify(aspects));
        }
    }
    for name in actual.keys() {
        if !desired.iter().any(|want| want.name == name) {
            changes.insert(name.clone(), Change::Remove);
        }
    }
    changes.into_iter().collect()
}

/// One line of `diff`'s output.
#[must_use]
pub fn line(name: &str, change: &Change) -> String {
    let mut out = String::new();
    match change {
        Change::Add => {
            let _ = write!(out, "+ {name}");
        }
        Change::Remove => {
            let _ = write!(out, "- {name}");
        }
        Change::Modify(aspects) => {
            let words: Vec<&str> = aspects.iter().map(|a| a.word()).collect();
            let _ = write!(out, "~ {name} ({})", words.join(", "));
        }
    }
    out.push('\n');
    out
}

/// Tags to add (or update) and tag keys to remove so that `have` becomes
/// `want`.
#[must_use]
pub fn tag_changes(
    want: &[(String, String)],
    have: &[(String, String)],
) -> (Vec<(String, String)>, Vec<String>) {
    let add = want
        .iter()
        .filter(|(k, v)| !have.iter().any(|(hk, hv)| hk == k && hv == v))
        .cloned()
        .collect();
    let remove = have
        .iter()
        .filter(|(k, _)| !want.iter().any(|(wk, _)| wk == k))
        .map(|(k, _)| k.clone())
        .collect();
    (add, remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretValue {
        SecretValue::new(text.to_owned())
    }

    fn actual(
        kind: &str,
        value: &str,
        description: &str,
        key: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Actual {
        Actual {
            kind: kind.to_owned(),
            value: secret(value),
            description: description.to_owned(),
            key_id: key.map(str::to_owned),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn lists_every_difference_sorted_and_never_a_value() {
        let tags = vec![("team".to_owned(), "a".to_owned())];
        let (v1, v2, v3, v4, v5) = (
            secret("same"),
            secret("new-sentinel"),
            secret("x"),
            secret("y"),
            secret("z"),
        );
        let desired = [
            Desired {
                name: "/p/c",
                kind: Kind::String,
                value: &v1,
                description: "d",
                key_id: None,
                tags: &tags,
            },
            Desired {
                name: "/p/a",
                kind: Kind::SecureString,
                value: &v2,
                description: "d",
                key_id: Some("alias/k"),
                tags: &tags,
            },
            Desired {
                name: "/p/new",
                kind: Kind::String,
                value: &v3,
                description: "",
                key_id: None,
                tags: &tags,
            },
            Desired {
                name: "/p/t",
                kind: Kind::SecureString,
                value: &v4,
                description: "d2",
                key_id: Some("alias/k"),
                tags: &[],
            },
            Desired {
                name: "/p/k",
                kind: Kind::SecureString,
                value: &v5,
                description: "d",
                key_id: Some("alias/k"),
                tags: &tags,
            },
        ];
        let actual: BTreeMap<String, Actual> = [
            (
                "/p/c",
                actual("String", "same", "d", None, &[("team", "a")]),
            ),
            (
                "/p/a",
                actual(
                    "SecureString",
                    "old-sentinel",
                    "d",
                    Some("alias/k"),
                    &[("team", "a")],
                ),
            ),
            ("/p/t", actual("String", "y", "d", None, &[("team", "a")])),
            (
                "/p/k",
                actual(
                    "SecureString",
                    "z",
                    "d",
                    Some("alias/aws/ssm"),
                    &[("team", "a")],
                ),
            ),
            ("/p/extra", actual("String", "e", "", None, &[])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let changes = compare(&desired, &actual);
        let out: String = changes.iter().map(|(n, c)| line(n, c)).collect();
        assert_eq!(
            out,
            "~ /p/a (value)\n- /p/extra\n~ /p/k (key)\n+ /p/new\n~ /p/t (type, description, tags)\n"
        );
        assert!(!out.contains("sentinel"));
    }

    #[test]
    fn tag_changes_add_update_and_remove() {
        let own = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let (add, remove) = tag_changes(
            &own(&[("a", "1"), ("b", "2")]),
            &own(&[("b", "3"), ("c", "4")]),
        );
        assert_eq!(add, own(&[("a", "1"), ("b", "2")]));
        assert_eq!(remove, ["c"]);
    }
}
