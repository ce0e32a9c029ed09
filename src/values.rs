//! Values: turning what was fetched into what the child gets (the whole
//! value, or one `#key` of a JSON object), and into the digest
//! `--watch-secretsmanager` compares ([`digest`]).
//!
//! Readers of a value in this crate, all of them: this module (baked
//! values included); `--check`
//! (`check`, which asks this module for each variable's status and shows no
//! value); the child module (copying values into the environment handed to
//! `execve`); psc's `get` and `decrypt-env`, whose job is to print one. The
//! call and answer modules move values into [`SecretValue`]s unread.

use std::sync::Arc;

use crate::error::{Error, Unresolved};
use crate::reference::Reference;
use crate::resolve::{Fetch, Fetched, Fetches};
use crate::scan::SecretVar;
use crate::secret::SecretValue;

/// The value for one variable: the fetched value, or one key of it.
///
/// # Errors
/// Why the variable has no value: a missing parameter or key, a NUL byte,
/// or the failed call (recorded with `keep_going`).
pub fn value_for(var: &SecretVar, fetches: &Fetches) -> Result<SecretValue, VarFailure> {
    let value = reference_value(&var.reference, fetches)?;
    // execve cannot pass it: caught here, so the launch and --check agree.
    if value.expose().contains('\0') {
        return Err(VarFailure::Unresolved(Unresolved::ContainsNul));
    }
    Ok(value)
}

/// The value of a template: each placeholder's value in place.
///
/// # Errors
/// The first placeholder without a value (its reference as written), and
/// why.
pub fn template_value(
    var: &crate::scan::TemplateVar,
    fetches: &Fetches,
) -> Result<SecretValue, (String, VarFailure)> {
    let value = var.template.render(|reference| {
        reference_value(reference, fetches)
            .map_err(|failure| (reference.as_str().to_owned(), failure))
    })?;
    if value.expose().contains('\0') {
        return Err((
            var.name.clone(),
            VarFailure::Unresolved(Unresolved::ContainsNul),
        ));
    }
    Ok(value)
}

/// What one reference came to: its value (the whole parameter, or its
/// `#key`), or why it has none. The one place a fetch outcome becomes a
/// value; variables, templates and `--check`'s rows all go through it.
///
/// # Errors
/// A missing parameter or key, or the failed call (recorded with
/// `keep_going`).
pub fn reference_value(
    reference: &Reference,
    fetches: &Fetches,
) -> Result<SecretValue, VarFailure> {
    match fetches.get(reference) {
        None | Some(Fetch::Missing) => Err(VarFailure::Unresolved(Unresolved::NotFound)),
        Some(Fetch::Failed(error)) => Err(VarFailure::Call(Arc::clone(error))),
        Some(Fetch::Found(fetched)) => value_of(fetched, reference).map_err(VarFailure::Unresolved),
    }
}

/// What `reference` takes of a fetched parameter: the whole value, or its
/// `#key`.
///
/// # Errors
/// The `#key` is missing, or the value is not a JSON object.
pub(crate) fn value_of(
    fetched: &Fetched,
    reference: &Reference,
) -> Result<SecretValue, Unresolved> {
    match reference.key() {
        None => Ok(SecretValue::new(fetched.value().expose().to_owned())),
        Some(key) => extract_key(fetched.value(), key),
    }
}

/// The SHA-256 digest of a fetched value: `--watch-secretsmanager`
/// compares a Secrets Manager value across polls by it, without keeping the
/// value.
pub(crate) fn digest(fetched: &Fetched) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, fetched.value().expose().as_bytes())
        .as_ref()
        .to_vec()
}

/// Why a variable has no value.
#[derive(Debug, Clone)]
pub enum VarFailure {
    /// Missing parameter or key.
    Unresolved(Unresolved),
    /// Its call failed.
    Call(Arc<Error>),
}

/// One top-level key of a JSON object: a string as-is, any other JSON value
/// as its JSON text exactly as stored, whitespace removed: numbers are
/// never parsed (`1.50` stays `1.50`, `1e3` stays `1e3`, and `1e400` or a
/// 23-digit integer is neither rounded nor refused).
///
/// # Errors
/// The value is not a JSON object, or has no such key.
pub fn extract_key(value: &SecretValue, key: &str) -> Result<SecretValue, Unresolved> {
    use serde_json::value::RawValue;
    let Ok(object) =
        serde_json::from_str::<std::collections::HashMap<String, &RawValue>>(value.expose())
    else {
        return Err(Unresolved::NotJsonObject(key.to_owned()));
    };
    let Some(raw) = object.get(key) else {
        return Err(Unresolved::KeyNotFound(key.to_owned()));
    };
    let text = raw.get();
    if text.starts_with('"') {
        // A string: its value, unescaped.
        let decoded: String =
            serde_json::from_str(text).map_err(|_| Unresolved::NotJsonObject(key.to_owned()))?;
        return Ok(SecretValue::new(decoded));
    }
    Ok(SecretValue::new(compact(text)))
}

/// Valid JSON text without the whitespace between its tokens; strings and
/// numbers byte for byte.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_keys() {
        let value = SecretValue::new(
            r#"{"user":"admin","port":5432,"nested":{"b":1,"a":[true,null]}}"#.into(),
        );
        assert_eq!(extract_key(&value, "user").unwrap().expose(), "admin");
        assert_eq!(extract_key(&value, "port").unwrap().expose(), "5432");
        assert_eq!(
            extract_key(&value, "nested").unwrap().expose(),
            r#"{"b":1,"a":[true,null]}"#
        );
        assert_eq!(
            extract_key(&value, "missing").unwrap_err(),
            Unresolved::KeyNotFound("missing".into())
        );
        let numbers = SecretValue::new(
            r#"{"big":12345678901234567890123,"exp":1e3,"E":2E-7,"dec":1.50,"huge":1e400,
                "n":{ "x" : -0.0, "y":[1.10, "a \" b\\"] }, "s":"t\u00e9\n"}"#
                .into(),
        );
        for (key, text) in [
            ("big", "12345678901234567890123"),
            ("exp", "1e3"),
            ("E", "2E-7"),
            ("dec", "1.50"),
            ("huge", "1e400"),
            ("n", r#"{"x":-0.0,"y":[1.10,"a \" b\\"]}"#),
            ("s", "t\u{e9}\n"),
        ] {
            assert_eq!(extract_key(&numbers, key).unwrap().expose(), text, "{key}");
        }
        assert_eq!(
            extract_key(&SecretValue::new("[1]".into()), "k").unwrap_err(),
            Unresolved::NotJsonObject("k".into())
        );
    }
}

/// A variable loaded from a `--path`.
#[derive(Debug)]
pub struct PathVar {
    /// The variable.
    pub name: String,
    /// The parameter it comes from.
    pub parameter: String,
    /// The `--path` it was found under.
    pub path: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// The version returned.
    pub version: i64,
    /// The environment already sets this variable: it wins, this is unused.
    pub shadowed: bool,
    value: SecretValue,
}

impl PathVar {
    /// The value, for the child's environment.
    pub(crate) fn value(&self) -> &SecretValue {
        &self.value
    }
}

/// What the paths give: their variables, and the paths that held none;
/// and the variables of a baked file (`--baked`), set after them.
#[derive(Debug, Default)]
pub struct PathVars {
    /// In the order of the paths, sorted by variable within one; a later
    /// path's variable replaces an earlier path's of the same name.
    pub vars: Vec<PathVar>,
    /// Paths that held no parameter at all.
    pub empty: Vec<String>,
    /// The baked file's variables, in its order (see [`baked_vars`]).
    pub baked: Vec<BakedVar>,
}

/// A variable of a baked file (`--baked`).
#[derive(Debug)]
pub struct BakedVar {
    /// The variable (the file's key).
    pub name: String,
    /// The parameter's ARN, as baked.
    pub arn: String,
    /// The environment already sets this variable: it wins, this is unused.
    pub shadowed: bool,
    value: SecretValue,
}

impl BakedVar {
    /// The value, for the child's environment.
    pub(crate) fn value(&self) -> &SecretValue {
        &self.value
    }
}

/// Whether a decrypted baked value can be an environment variable (no NUL
/// byte), for `--check`'s status.
pub(crate) fn baked_value_usable(value: &SecretValue) -> bool {
    !value.expose().contains('\0')
}

/// The variables of the baked entries of `fetches`, in the file's order,
/// the environment's own variables (`taken`) winning. Values are literal:
/// never scanned for `SECRET `. Entries whose Decrypt failed are skipped
/// (recorded only for `--check`, which reports them), and so are values
/// with a NUL byte unless `strict`.
///
/// # Errors
/// With `strict`, a value with a NUL byte, naming the variables.
pub fn baked_vars(
    fetches: &Fetches,
    taken: &std::collections::HashSet<&str>,
    strict: bool,
) -> Result<Vec<BakedVar>, Error> {
    use crate::resolve::BakedFetch;
    let mut vars = Vec::new();
    let mut bad = Vec::new();
    for (entry, fetch) in fetches.baked() {
        let BakedFetch::Found(value) = fetch else {
            continue;
        };
        if !baked_value_usable(value) {
            bad.push(entry.name.clone());
            continue;
        }
        vars.push(BakedVar {
            name: entry.name.clone(),
            arn: entry.arn.clone(),
            shadowed: taken.contains(entry.name.as_str()),
            value: SecretValue::new(value.expose().to_owned()),
        });
    }
    if strict && !bad.is_empty() {
        return Err(Error::Other(format!(
            "baked value contains a NUL byte (not possible in an environment variable): {}",
            bad.join(", ")
        )));
    }
    Ok(vars)
}

/// The variables of every `--path` of `fetches`: names mapped by `names`,
/// the environment's own variables (`taken`) winning, a later path winning
/// over an earlier one. Values are literal: never scanned for `SECRET `.
///
/// # Errors
/// A parameter whose name
/// cannot be a variable (or is protected), two parameters of one path
/// mapping to one name, a value with a NUL byte: each names the parameter.
pub fn path_vars(
    fetches: &Fetches,
    names: crate::paths::PathNames,
    taken: &std::collections::HashSet<&str>,
) -> Result<PathVars, Error> {
    use crate::resolve::PathFetch;
    let mut result = PathVars::default();
    let mut problems = Vec::new();
    for (request, fetch) in fetches.paths() {
        let found = match fetch {
            PathFetch::Found(found) => found,
            // Recorded only for --check (keep_going), which reports it.
            PathFetch::Failed(_) => continue,
        };
        if found.is_empty() {
            result.empty.push(request.path.clone());
            continue;
        }
        let mut mine: Vec<(String, &String, &Fetched)> = Vec::with_capacity(found.len());
        for (parameter, fetched) in found {
            match crate::paths::variable_name(&request.path, parameter, names) {
                Ok(name) => mine.push((name, parameter, fetched)),
                Err(why) => problems.push(format!("{parameter}: {why}")),
            }
            if fetched.value().expose().contains('\0') {
                problems.push(format!("{parameter}: value contains a NUL byte"));
            }
        }
        mine.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        for pair in mine.windows(2) {
            if pair[0].0 == pair[1].0 {
                problems.push(format!(
                    "{} and {} both map to {}",
                    pair[0].1, pair[1].1, pair[0].0
                ));
            }
        }
        for (name, parameter, fetched) in mine {
            result.vars.retain(|v| v.name != name);
            result.vars.push(PathVar {
                shadowed: taken.contains(name.as_str()),
                name,
                parameter: parameter.clone(),
                path: request.path.clone(),
                kind: fetched.kind.clone(),
                version: fetched.version,
                value: SecretValue::new(fetched.value().expose().to_owned()),
            });
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(Error::Config(format!(
            "cannot load --path: {}",
            problems.join("; ")
        )));
    }
    Ok(result)
}
