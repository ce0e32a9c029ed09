//! psyml's file format, read and written: the rules every file must keep,
//! checked before any call, and the text psc writes back. Pure: no I/O.
//!
//! ```yaml
//! path: /apps/superman/
//! region: us-east-1
//! kmskey: alias/superman
//! encrypted_with: arn:aws:kms:...      # written by encrypt and refresh
//! tags: {cost_center: team17}          # optional
//! parameters:
//! - name: api_token
//!   description: The token
//!   value: 5a5468-786448467a59-326436
//!   type: SecureString                 # `securestring`: base64 ciphertext
//! ```
//!
//! psyml's rules (its `PSyml._validate` and `Parameter._validate`): the
//! top-level keys are exactly `path`, `region`, `kmskey`, `parameters` and
//! optionally `tags` and `encrypted_with`; each parameter has exactly
//! `name`, `description`, `type` and `value`; the parameter's name is
//! `path` with one trailing `/` + `name`. psc adds `StringList` (a YAML
//! list value) and refuses what psyml would silently turn into another
//! text: plain scalars that YAML 1.1 reads as a boolean, null, a float, a
//! date or a non-decimal integer, and mappings. Messages name the
//! parameter and the rule, never a value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use saphyr_parser::ScalarStyle;
use zeroize::Zeroizing;

use super::yaml::{self, Node, Yaml11};
use crate::admin::name;
use crate::admin::value::STANDARD_LIMIT;
use crate::secret::SecretValue;

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain text.
    String,
    /// Comma-separated values (a YAML list in the file; psc only).
    StringList,
    /// Encrypted with KMS in Parameter Store.
    SecureString,
}

impl Kind {
    /// Parameter Store's spelling.
    #[must_use]
    pub fn canonical(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::StringList => "StringList",
            Self::SecureString => "SecureString",
        }
    }

    /// The spelling of an encrypted file.
    #[must_use]
    pub fn lower(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::StringList => "stringlist",
            Self::SecureString => "securestring",
        }
    }
}

/// A parameter's value as the file holds it.
#[derive(Debug)]
pub enum Value {
    /// Plain text.
    Text(SecretValue),
    /// A StringList's items (joined with `,` for Parameter Store).
    List(Vec<SecretValue>),
    /// A `securestring`'s KMS ciphertext, as the file's base64 text.
    Cipher(String),
}

impl Value {
    /// The text Parameter Store stores, for a value that is not encrypted.
    #[must_use]
    pub fn plaintext(&self) -> Option<SecretValue> {
        match self {
            Self::Text(value) => Some(SecretValue::new(value.expose().to_owned())),
            Self::List(items) => {
                let joined = Zeroizing::new(
                    items
                        .iter()
                        .map(SecretValue::expose)
                        .collect::<Vec<_>>()
                        .join(","),
                );
                Some(SecretValue::new(joined.as_str().to_owned()))
            }
            Self::Cipher(_) => None,
        }
    }
}

/// One parameter of the file.
#[derive(Debug)]
pub struct Parameter {
    /// The name as written in the file (the encryption context's `Name`).
    pub name: String,
    /// `path` + `name`: the parameter in Parameter Store.
    pub full_name: String,
    /// The description.
    pub description: String,
    /// The type.
    pub kind: Kind,
    /// Whether the type is written in lower case (encrypted state).
    pub lower: bool,
    /// The value.
    pub value: Value,
    /// Line of the parameter in the file.
    pub line: usize,
}

/// A whole file.
#[derive(Debug)]
pub struct File {
    /// The path, ending in `/`.
    pub path: String,
    /// The region of the parameters.
    pub region: String,
    /// The KMS key of the SecureString parameters in Parameter Store.
    pub kmskey: String,
    /// The psyml key's ARN the ciphertexts were made with.
    pub encrypted_with: Option<String>,
    /// Tags for every parameter, in file order.
    pub tags: Option<Vec<(String, String)>>,
    /// The parameters, in file order.
    pub parameters: Vec<Parameter>,
}

/// A rule the file breaks. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// The parameter concerned, as written in the file.
    pub parameter: Option<String>,
    /// Line (1-based; 0 when unknown).
    pub line: usize,
    /// The rule broken.
    pub rule: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.parameter, self.line) {
            (Some(name), 0) => write!(f, "parameter {}: {}", name::shown(name), self.rule),
            (Some(name), line) => write!(
                f,
                "parameter {} (line {line}): {}",
                name::shown(name),
                self.rule
            ),
            (None, 0) => f.write_str(&self.rule),
            (None, line) => write!(f, "line {line}: {}", self.rule),
        }
    }
}

fn error<T>(
    parameter: Option<&str>,
    line: usize,
    rule: impl Into<String>,
) -> Result<T, FormatError> {
    Err(FormatError {
        parameter: parameter.map(str::to_owned),
        line,
        rule: rule.into(),
    })
}

/// A scalar's text when YAML 1.1 reads it as a string (or, with
/// `allow_int`, as a decimal integer, which psyml's `str()` writes back
/// the same). `what` names the field for messages.
fn text<'a>(
    node: &'a Node<'a>,
    what: &str,
    parameter: Option<&str>,
    allow_int: bool,
) -> Result<&'a Cow<'a, str>, FormatError> {
    match node {
        Node::Scalar {
            text,
            style,
            tag,
            line,
        } => {
            if let Some(tag) = tag
                && !(tag.is_yaml_core_schema() && tag.suffix == "str")
            {
                return error(
                    parameter,
                    *line,
                    format!("{what} has a YAML tag ({tag}); only !!str is accepted"),
                );
            }
            if *style == ScalarStyle::Plain
                && tag.is_none()
                && let Some(kind) = yaml::yaml11(text)
                && !(allow_int && kind == Yaml11::CanonicalInt)
            {
                return error(
                    parameter,
                    *line,
                    format!(
                        "{what} is a plain scalar that YAML 1.1 reads as {}: quote it to mean the text",
                        kind.what()
                    ),
                );
            }
            Ok(text)
        }
        Node::Seq { line, .. } => error(parameter, *line, format!("{what} is a list, not text")),
        Node::Map { line, .. } => error(parameter, *line, format!("{what} is a mapping, not text")),
        Node::Alias { line } => error(
            parameter,
            *line,
            format!("{what} is a YAML alias, which psc file does not accept"),
        ),
    }
}

/// The keys of a mapping, each once, in order; `allowed` lists the keys
/// that may appear.
fn fields<'n, 'a>(
    entries: &'n [(Node<'a>, Node<'a>)],
    allowed: &[&'static str],
    parameter: Option<&str>,
    what: &str,
) -> Result<Vec<(&'static str, &'n Node<'a>)>, FormatError> {
    let mut out: Vec<(&'static str, &'n Node<'a>)> = Vec::new();
    for (key, value) in entries {
        let key_text = text(key, "a key", parameter, false)?;
        let Some(known) = allowed.iter().find(|a| **a == key_text.as_ref()) else {
            return error(
                parameter,
                key.line(),
                format!(
                    "unknown key {} in {what} (allowed: {})",
                    name::shown(key_text),
                    allowed.join(", ")
                ),
            );
        };
        if out.iter().any(|(k, _)| k == known) {
            return error(
                parameter,
                key.line(),
                format!("{known} appears twice in {what}"),
            );
        }
        out.push((known, value));
    }
    Ok(out)
}

fn get<'n, 'a>(fields: &[(&str, &'n Node<'a>)], key: &str) -> Option<&'n Node<'a>> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Read and check a whole file.
///
/// # Errors
/// The first rule the file breaks.
pub fn parse(source: &str) -> Result<File, FormatError> {
    let root = yaml::parse(source).map_err(|e| FormatError {
        parameter: None,
        line: e.line,
        rule: format!("not valid YAML ({})", e.message),
    })?;
    let Node::Map { entries, .. } = &root else {
        return error(
            None,
            root.line(),
            "the file must be a mapping (path, region, kmskey, parameters)",
        );
    };
    let top = fields(
        entries,
        &[
            "path",
            "region",
            "kmskey",
            "encrypted_with",
            "tags",
            "parameters",
        ],
        None,
        "the file",
    )?;
    let required = |key: &str| {
        get(&top, key).ok_or_else(|| FormatError {
            parameter: None,
            line: 0,
            rule: format!("missing required key {key}"),
        })
    };
    let path_node = required("path")?;
    let path = format!(
        "{}/",
        text(path_node, "path", None, false)?.trim_end_matches('/')
    );
    // Checked on its own too: a file with no parameter is still listed
    // under it by diff and sync.
    match name::check_selection(&path) {
        Ok(name::Selection::Path(_)) => {}
        Ok(name::Selection::Prefix(_)) => {
            return error(None, path_node.line(), "path must start with '/'");
        }
        Err(rule) => {
            return error(None, path_node.line(), format!("invalid path ({rule})"));
        }
    }
    let region_node = required("region")?;
    let region = text(region_node, "region", None, false)?.to_string();
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return error(
            None,
            region_node.line(),
            "region is not a region name (like us-east-1)",
        );
    }
    let kmskey_node = required("kmskey")?;
    let kmskey = text(kmskey_node, "kmskey", None, false)?.to_string();
    if kmskey.is_empty() {
        return error(None, kmskey_node.line(), "kmskey is empty");
    }
    let encrypted_with = get(&top, "encrypted_with")
        .map(|n| text(n, "encrypted_with", None, false).map(|t| t.to_string()))
        .transpose()?;
    let tags = get(&top, "tags").map(read_tags).transpose()?;
    let parameters_node = required("parameters")?;
    let Node::Seq { items, .. } = parameters_node else {
        return error(None, parameters_node.line(), "parameters must be a list");
    };
    let mut parameters = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for item in items {
        let parameter = read_parameter(item, &path, &region)?;
        if !seen.insert(parameter.full_name.clone()) {
            return error(Some(&parameter.name), parameter.line, "listed twice");
        }
        parameters.push(parameter);
    }
    Ok(File {
        path,
        region,
        kmskey,
        encrypted_with,
        tags,
        parameters,
    })
}

fn read_tags(node: &Node<'_>) -> Result<Vec<(String, String)>, FormatError> {
    let Node::Map { entries, .. } = node else {
        return error(
            None,
            node.line(),
            "tags must be a mapping of keys to values",
        );
    };
    let mut tags: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let key_text = text(key, "a tag key", None, true)?;
        let value_text = text(value, "a tag value", None, true)?;
        let (parsed_key, parsed_value) = name::parse_tag(&format!("{key_text}={value_text}"))
            .map_err(|rule| FormatError {
                parameter: None,
                line: key.line(),
                rule: format!("invalid tag {} ({rule})", name::shown(key_text)),
            })?;
        if parsed_key != key_text.as_ref() {
            return error(
                None,
                key.line(),
                format!(
                    "invalid tag {} (a key cannot hold '=')",
                    name::shown(key_text)
                ),
            );
        }
        if tags.iter().any(|(k, _)| *k == parsed_key) {
            return error(
                None,
                key.line(),
                format!("tag {} appears twice", name::shown(key_text)),
            );
        }
        tags.push((parsed_key, parsed_value));
    }
    Ok(tags)
}

fn read_parameter(node: &Node<'_>, path: &str, region: &str) -> Result<Parameter, FormatError> {
    let line = node.line();
    let Node::Map { entries, .. } = node else {
        return error(
            None,
            line,
            "each parameter must be a mapping (name, description, type, value)",
        );
    };
    // The name first, so that every later message can carry it.
    let name = entries
        .iter()
        .find(|(k, _)| matches!(k, Node::Scalar { text, .. } if text == "name"))
        .map(|(_, v)| text(v, "name", None, false).map(|t| t.to_string()))
        .transpose()?;
    let at = name.as_deref();
    let found = fields(
        entries,
        &["name", "description", "type", "value"],
        at,
        "a parameter",
    )?;
    let named = name.clone();
    let need = |key: &str| {
        get(&found, key).ok_or_else(|| FormatError {
            parameter: named.clone(),
            line,
            rule: format!("missing {key} (each parameter has name, description, type and value)"),
        })
    };
    need("name")?;
    let name = name.unwrap_or_default();
    let at = Some(name.as_str());
    let full_name = format!("{path}{name}");
    name::check_name(&full_name)
        .and_then(|()| name::check_name_length(&full_name, region))
        .map_err(|rule| FormatError {
            parameter: Some(name.clone()),
            line,
            rule: format!(
                "invalid parameter name {} ({rule})",
                name::shown(&full_name)
            ),
        })?;
    let description = text(need("description")?, "description", at, false)?.to_string();
    name::check_description(&description).map_err(|rule| FormatError {
        parameter: Some(name.clone()),
        line,
        rule: rule.to_string(),
    })?;
    let type_node = need("type")?;
    let type_text = text(type_node, "type", at, false)?;
    let (kind, lower) = match type_text.as_ref() {
        "String" => (Kind::String, false),
        "string" => (Kind::String, true),
        "StringList" => (Kind::StringList, false),
        "stringlist" => (Kind::StringList, true),
        "SecureString" => (Kind::SecureString, false),
        "securestring" => (Kind::SecureString, true),
        _ => {
            return error(
                at,
                type_node.line(),
                format!(
                    "type {} is not one of String, StringList, SecureString (or securestring, encrypted)",
                    name::shown(type_text)
                ),
            );
        }
    };
    let value_node = need("value")?;
    let value = read_value(value_node, kind, lower, &name)?;
    Ok(Parameter {
        name,
        full_name,
        description,
        kind,
        lower,
        value,
        line,
    })
}

fn check_size(text: &str, name: &str, line: usize) -> Result<(), FormatError> {
    if text.is_empty() {
        return error(
            Some(name),
            line,
            "empty value (Parameter Store needs at least 1 character)",
        );
    }
    if text.len() > STANDARD_LIMIT {
        return error(
            Some(name),
            line,
            format!(
                "value too large ({} bytes; psc file stores Standard-tier parameters, limit {STANDARD_LIMIT}, which is also KMS Encrypt's limit)",
                text.len()
            ),
        );
    }
    Ok(())
}

fn read_value(node: &Node<'_>, kind: Kind, lower: bool, name: &str) -> Result<Value, FormatError> {
    let at = Some(name);
    let line = node.line();
    if let Node::Seq { items, .. } = node {
        if kind != Kind::StringList {
            return error(
                at,
                line,
                "the value is a list: only type StringList takes one",
            );
        }
        if items.is_empty() {
            return error(
                at,
                line,
                "empty list (Parameter Store needs at least 1 character)",
            );
        }
        let mut values = Vec::with_capacity(items.len());
        let mut total = 0;
        for item in items {
            let item_text = text(item, "a list item", at, true)?;
            if item_text.contains(',') {
                return error(
                    at,
                    item.line(),
                    "a list item holds ',', which separates StringList items",
                );
            }
            if item_text.is_empty() {
                return error(at, item.line(), "an empty list item");
            }
            total += item_text.len() + 1;
            values.push(SecretValue::new(item_text.to_string()));
        }
        if total - 1 > STANDARD_LIMIT {
            check_size(&"x".repeat(total - 1), name, line)?;
        }
        return Ok(Value::List(values));
    }
    let value = text(node, "the value", at, true)?;
    check_size(value, name, line)?;
    if kind == Kind::SecureString && lower {
        let decoded = base64::engine::general_purpose::STANDARD.decode(value.as_bytes());
        if decoded.map_or(true, |d| d.is_empty()) {
            return error(
                at,
                line,
                "a securestring value must be the base64 of a KMS ciphertext (write SecureString for a plaintext value)",
            );
        }
        return Ok(Value::Cipher(value.to_string()));
    }
    Ok(Value::Text(SecretValue::new(value.to_string())))
}

/// How to write a file back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plaintext: types in Parameter Store's case, no `encrypted_with`.
    Plain,
    /// Encrypted: types in lower case, with `encrypted_with`.
    Encrypted,
}

/// The file as text, in psyml's order (path, region, kmskey,
/// encrypted_with, tags, parameters; name, description, value, type) and
/// PyYAML's block layout. The buffer is wiped when dropped.
#[must_use]
pub fn write(file: &File, style: Style) -> Zeroizing<String> {
    use yaml::scalar;
    let mut out = Zeroizing::new(String::new());
    let mut line = |key: &str, value: &str| {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&scalar(value));
        out.push('\n');
    };
    line("path", &file.path);
    line("region", &file.region);
    line("kmskey", &file.kmskey);
    if style == Style::Encrypted
        && let Some(arn) = &file.encrypted_with
    {
        line("encrypted_with", arn);
    }
    if let Some(tags) = &file.tags {
        if tags.is_empty() {
            out.push_str("tags: {}\n");
        } else {
            out.push_str("tags:\n");
            for (key, value) in tags {
                out.push_str("  ");
                out.push_str(&scalar(key));
                out.push_str(": ");
                out.push_str(&scalar(value));
                out.push('\n');
            }
        }
    }
    if file.parameters.is_empty() {
        out.push_str("parameters: []\n");
        return out;
    }
    out.push_str("parameters:\n");
    for parameter in &file.parameters {
        out.push_str("- name: ");
        out.push_str(&scalar(&parameter.name));
        out.push_str("\n  description: ");
        out.push_str(&scalar(&parameter.description));
        out.push_str("\n  value:");
        match &parameter.value {
            Value::Text(value) => {
                out.push(' ');
                out.push_str(&Zeroizing::new(scalar(value.expose())));
            }
            Value::Cipher(text) => {
                out.push(' ');
                out.push_str(&scalar(text));
            }
            Value::List(items) => {
                for item in items {
                    out.push_str("\n  - ");
                    out.push_str(&Zeroizing::new(scalar(item.expose())));
                }
            }
        }
        out.push_str("\n  type: ");
        out.push_str(match style {
            Style::Plain => parameter.kind.canonical(),
            Style::Encrypted => parameter.kind.lower(),
        });
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
path: /apps/superman
region: us-east-1
kmskey: alias/superman
tags: {cost_center: team17, project: superman}
parameters:
  - name: api_version
    description: The version of the API endpoint, not a secret.
    type: String
    value: 2
  - name: api_token
    description: The token
    type: SecureString
    value: 5a5468-786448467a59-326436
  - name: hosts
    description: ''
    type: StringList
    value: [a.example, b.example]
  - name: sealed
    description: x
    type: securestring
    value: AQIDBA==
";

    fn parse_error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_psyml_files() {
        let file = parse(GOOD).unwrap();
        assert_eq!(file.path, "/apps/superman/");
        assert_eq!(file.region, "us-east-1");
        assert_eq!(
            file.tags.as_deref(),
            Some(
                &[
                    ("cost_center".to_owned(), "team17".to_owned()),
                    ("project".to_owned(), "superman".to_owned())
                ][..]
            )
        );
        let [version, token, hosts, sealed] = &file.parameters[..] else {
            panic!("four parameters");
        };
        assert_eq!(version.full_name, "/apps/superman/api_version");
        assert_eq!(version.value.plaintext().unwrap().expose(), "2");
        assert_eq!((token.kind, token.lower), (Kind::SecureString, false));
        assert_eq!(
            hosts.value.plaintext().unwrap().expose(),
            "a.example,b.example"
        );
        assert!(matches!(&sealed.value, Value::Cipher(c) if c == "AQIDBA=="));
    }

    #[test]
    fn writes_what_it_reads() {
        let mut file = parse(GOOD).unwrap();
        // An encrypted file holds no plaintext secret.
        file.parameters[1].value = Value::Cipher("AQID".into());
        for style in [Style::Plain, Style::Encrypted] {
            let written = write(&file, style);
            let again = parse(&written).unwrap();
            assert_eq!(*write(&again, style), *written);
        }
        let plain = write(&file, Style::Plain);
        assert!(plain.starts_with("path: /apps/superman/\nregion: us-east-1\nkmskey: alias/superman\ntags:\n  cost_center: team17\n"), "{}", plain.as_str());
        assert!(plain.contains("- name: api_version\n  description: The version of the API endpoint, not a secret.\n  value: '2'\n  type: String\n"), "{}", plain.as_str());
        assert!(
            plain.contains("  value:\n  - a.example\n  - b.example\n  type: StringList\n"),
            "{}",
            plain.as_str()
        );
        let encrypted = write(&file, Style::Encrypted);
        assert!(encrypted.contains("type: string\n") && encrypted.contains("type: stringlist\n"));
    }

    #[test]
    fn refuses_yaml11_surprises_naming_the_parameter_and_never_the_value() {
        for (value, what) in [
            ("yes", "a boolean"),
            ("Off", "a boolean"),
            ("null", "null"),
            ("~", "null"),
            ("", "null"),
            ("0755", "an integer written another way"),
            ("0x1f", "an integer written another way"),
            ("1.10", "a floating-point number"),
            ("2024-01-31", "a date"),
            ("{a: 1}", "a mapping"),
            ("[a, b]", "only type StringList"),
            ("*anchor", "alias"),
            ("!!int 5", "YAML tag"),
        ] {
            let text = format!(
                "path: /p\nregion: us-east-1\nkmskey: k\nparameters:\n- name: sentinel_param\n  description: d\n  type: SecureString\n  value: {value}\n"
            );
            let text = if value == "*anchor" {
                text.replace("kmskey: k", "kmskey: &anchor k")
            } else {
                text
            };
            let message = parse_error(&text);
            assert!(
                message.starts_with("parameter sentinel_param (line 8): "),
                "{value}: {message}"
            );
            assert!(message.contains(what), "{value}: {message}");
            if !["", "~", "null"].contains(&value) {
                assert!(!message.contains(value), "{value}: {message}");
            }
        }
        // Quoted, the same texts are fine; so are decimal integers.
        for value in [
            "'yes'",
            "\"0755\"",
            "'1.10'",
            "!!str 2024-01-31",
            "2",
            "-3",
            "|\n    yes\n",
        ] {
            let text = format!(
                "path: /p\nregion: us-east-1\nkmskey: k\nparameters:\n- name: a\n  description: d\n  type: String\n  value: {value}\n"
            );
            parse(&text).unwrap_or_else(|e| panic!("{value}: {e}"));
        }
    }

    #[test]
    fn refuses_every_malformed_file() {
        let base = "path: /p\nregion: us-east-1\nkmskey: k\nparameters:\n- name: a\n  description: d\n  type: String\n  value: v\n";
        for (text, expected) in [
            ("- a\n".to_owned(), "the file must be a mapping"),
            (base.replace("path: /p\n", ""), "missing required key path"),
            (
                base.replace("kmskey: k\n", ""),
                "missing required key kmskey",
            ),
            (format!("{base}extra: 1\n"), "unknown key extra in the file"),
            (
                base.replace("region: us-east-1", "region: 5"),
                "region is a plain scalar",
            ),
            (
                base.replace("path: /p", "path: p"),
                "line 1: invalid path (a path must start with '/')",
            ),
            (
                base.replace("path: /p", "path: /a b").replace(
                    "- name: a\n  description: d\n  type: String\n  value: v\n",
                    "",
                ),
                "line 1: invalid path",
            ),
            (
                base.replace("path: /p", "path: /ssm/x"),
                "line 1: invalid path (begins with 'aws' or 'ssm'",
            ),
            (
                base.replace("region: us-east-1", "region: us east"),
                "region is not a region name",
            ),
            (
                base.replace("  value: v\n", ""),
                "parameter a (line 5): missing value",
            ),
            (
                format!("{base}  note: x\n"),
                "unknown key note in a parameter",
            ),
            (
                base.replace("type: String", "type: Binary"),
                "type Binary is not one of",
            ),
            (
                base.replace("type: String", "type: STRING"),
                "type STRING is not one of",
            ),
            (
                base.replace("description: d", "description: yes"),
                "description is a plain scalar",
            ),
            (
                base.replace("name: a", "name: a b"),
                "invalid parameter name",
            ),
            (
                base.replace("name: a", "name: aws/x")
                    .replace("path: /p", "path: ''"),
                "reserved",
            ),
            (
                format!("{base}- name: a\n  description: d\n  type: String\n  value: w\n"),
                "parameter a (line 9): listed twice",
            ),
            (
                base.replace("type: String", "type: securestring"),
                "base64 of a KMS ciphertext",
            ),
            (base.replace("value: v", "value: ''"), "empty value"),
            (
                base.replace("value: v", &format!("value: {}", "x".repeat(4097))),
                "value too large (4097 bytes",
            ),
            (
                base.replace("type: String", "type: StringList")
                    .replace("value: v", "value: [a, 'b,c']"),
                "holds ','",
            ),
            (
                base.replace("type: String", "type: StringList")
                    .replace("value: v", "value: []"),
                "empty list",
            ),
            (
                base.replace("kmskey: k", "kmskey: k\ntags: [a]"),
                "tags must be a mapping",
            ),
            (
                base.replace("kmskey: k", "kmskey: k\ntags: {'aws:x': y}"),
                "reserved",
            ),
            (
                base.replace("kmskey: k", "kmskey: k\ntags: {a: yes}"),
                "a tag value is a plain scalar",
            ),
            (
                base.replace("parameters:\n", "parameters: {}\n")
                    .replace("- name", "x-name"),
                "not valid YAML",
            ),
            ("path: [\n".to_owned(), "not valid YAML"),
            (format!("{base}---\n{base}"), "more than one YAML document"),
            (
                base.replace("region: us-east-1", "region: us-east-1\nregion: us-west-2"),
                "region appears twice",
            ),
        ] {
            let message = parse_error(&text);
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }
}
