//! `--baked FILE`: serverless-secret-baker's `secret-baker-secrets.json`,
//! read and written here in the plugin's exact format.
//!
//! The plugin (vacasaoss/serverless-secret-baker, `index.js`,
//! `writeSecretToFile`) writes `JSON.stringify(secrets)`: one compact
//! object whose keys are the secrets' names, in the order configured,
//! each `{"ciphertext": <Parameter.Value of GetParameter with
//! WithDecryption=false>, "arn": <Parameter.ARN>}`. The ciphertext is the
//! base64 of a KMS ciphertext blob that Parameter Store made under the
//! encryption context `{"PARAMETER_ARN": arn}`; KMS `Decrypt` with that
//! context opens it (the plugin's `examples/handler.py`).
//!
//! This module reads the file (psc-exec) and renders one (`psc bake`): it
//! holds ciphertexts, never a value, makes no call and reads no value. The
//! requests it makes are decrypted by `resolve` (KMS `Decrypt`) and the
//! values taken by `values`.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::error::Error;

/// One entry of a baked file: a variable and the ciphertext to decrypt.
#[derive(Clone, PartialEq, Eq)]
pub struct BakedEntry {
    /// The variable (the file's key).
    pub name: String,
    /// The parameter's ARN: the encryption context's `PARAMETER_ARN`.
    pub arn: String,
    /// The ARN's region: where the KMS key is asked.
    pub region: String,
    /// The ciphertext blob, base64-decoded.
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for BakedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BakedEntry")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("ciphertext_bytes", &self.ciphertext.len())
            .finish()
    }
}

/// Read and check a baked file.
///
/// # Errors
/// The file cannot be read, or is not the plugin's format: one line naming
/// the file and what is wrong (and the entry, when one is).
pub fn load(file: &std::path::Path) -> Result<Vec<BakedEntry>, Error> {
    let shown = file.display().to_string();
    let text = std::fs::read(file).map_err(|e| {
        Error::Config(format!(
            "cannot read --baked {shown}: {}",
            crate::error::OsReason(&e)
        ))
    })?;
    parse(&text).map_err(|why| Error::Config(format!("--baked {shown}: {why}")))
}

/// The entries of a baked file's text, in the file's order.
///
/// # Errors
/// What is wrong, in words (never a ciphertext).
pub fn parse(text: &[u8]) -> Result<Vec<BakedEntry>, String> {
    // Parsed twice: first as any JSON, so a syntax error is reported by
    // position (serde_json's syntax errors quote no content); then as an
    // ordered list of pairs, to keep the order and catch duplicate names,
    // which a map would merge silently.
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        format!(
            "not JSON ({}); expected serverless-secret-baker's format {{\"NAME\":{{\"ciphertext\":\"...\",\"arn\":\"...\"}}}}",
            crate::error::one_line(&e.to_string())
        )
    })?;
    if !value.is_object() {
        return Err(format!(
            "the top level is {}, not an object of NAME: {{\"ciphertext\", \"arn\"}}",
            kind(&value)
        ));
    }
    let Pairs(pairs) = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let mut entries: Vec<BakedEntry> = Vec::with_capacity(pairs.len());
    for (name, entry) in pairs {
        let shown = crate::error::escape_controls(&name);
        if entries.iter().any(|e| e.name == name) {
            return Err(format!("{shown}: appears twice"));
        }
        if let Err(why) = check_name(&name) {
            return Err(format!("{shown}: {why}"));
        }
        let Some(fields) = entry.as_object() else {
            return Err(format!(
                "{shown}: is {}, not an object {{\"ciphertext\", \"arn\"}}",
                kind(&entry)
            ));
        };
        if let Some(other) = fields.keys().find(|k| *k != "ciphertext" && *k != "arn") {
            return Err(format!(
                "{shown}: unknown field \"{}\" (only \"ciphertext\" and \"arn\")",
                crate::error::escape_controls(other)
            ));
        }
        let field = |key: &str| match fields.get(key) {
            None => Err(format!("{shown}: \"{key}\" is missing")),
            Some(serde_json::Value::String(text)) => Ok(text.clone()),
            Some(other) => Err(format!(
                "{shown}: \"{key}\" is {}, not a string",
                kind(other)
            )),
        };
        let ciphertext = field("ciphertext")?;
        let arn = field("arn")?;
        let region = arn_region(&arn).map_err(|why| format!("{shown}: \"arn\" {why}"))?;
        let ciphertext = base64::engine::general_purpose::STANDARD
            .decode(ciphertext.as_bytes())
            .map_err(|_| format!("{shown}: \"ciphertext\" is not base64"))?;
        if ciphertext.is_empty() {
            return Err(format!("{shown}: \"ciphertext\" is empty"));
        }
        entries.push(BakedEntry {
            name,
            region,
            arn,
            ciphertext,
        });
    }
    Ok(entries)
}

/// A JSON value's kind, in words.
fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Whether `name` can be a variable psc-exec sets: any name an
/// environment entry can carry (not empty, no `=`, no NUL), so every key
/// serverless-secret-baker writes works, a bare parameter's
/// (`/svc/prod/token`) included; but not one a path may not set either
/// (`LD_*`, `PSC_EXEC_*`: they change what runs).
///
/// # Errors
/// Why not, in words.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err("not a variable name (empty, or holding '=' or a NUL byte)".into());
    }
    if crate::paths::is_protected(name) {
        return Err(
            "may not be set from a baked file (LD_* and PSC_EXEC_* could change what runs)".into(),
        );
    }
    Ok(())
}

/// Whether a shell can read `name` as `$name`: letters, digits and `_`,
/// not starting with a digit. Other names reach the command's environment
/// as they are (a program reads them by name; a shell cannot).
#[must_use]
pub fn is_shell_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The region of a parameter ARN,
/// `arn:<partition>:ssm:<region>:<account>:parameter/<name>`.
fn arn_region(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "ssm", region, account, resource]
            if !partition.is_empty()
                && !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && resource.len() > "parameter/".len()
                && resource.starts_with("parameter/") =>
        {
            Ok((*region).to_owned())
        }
        _ => Err(format!(
            "is not a parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME): {}",
            crate::error::escape_controls(arn)
        )),
    }
}

/// The file `psc bake` writes: the plugin's `JSON.stringify` of
/// `{name: {ciphertext, arn}}`, keys in the order given, compact, no
/// newline at the end (JSON.stringify adds none).
#[must_use]
pub fn render(entries: &[(String, String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (name, ciphertext, arn)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let _ = write!(
            out,
            "{}:{{\"ciphertext\":{},\"arn\":{}}}",
            quote(name),
            quote(ciphertext),
            quote(arn)
        );
    }
    out.push('}');
    out
}

/// The file's top-level pairs in order, duplicates kept.
struct Pairs(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ssm:eu-west-1:123456789012:parameter/svc/prod/db";

    #[test]
    fn reads_the_plugins_format_in_order() {
        let text = format!(
            r#"{{"B_VAR":{{"ciphertext":"AQID","arn":"{ARN}"}},"A_VAR":{{"arn":"{ARN}","ciphertext":"BAU="}}}}"#
        );
        let entries = parse(text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].name, "B_VAR");
        assert_eq!(entries[0].ciphertext, [1, 2, 3]);
        assert_eq!(entries[0].region, "eu-west-1");
        assert_eq!(entries[1].name, "A_VAR");
        assert_eq!(entries[1].ciphertext, [4, 5]);
        assert_eq!(parse(b"{}").unwrap(), []);
    }

    #[test]
    fn renders_what_json_stringify_writes() {
        let text = render(&[
            ("Z".into(), "AQID".into(), ARN.into()),
            ("A".into(), "BA==".into(), ARN.into()),
        ]);
        assert_eq!(
            text,
            format!(
                r#"{{"Z":{{"ciphertext":"AQID","arn":"{ARN}"}},"A":{{"ciphertext":"BA==","arn":"{ARN}"}}}}"#
            )
        );
        assert_eq!(parse(text.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn refuses_what_is_not_the_format_with_one_reason() {
        let ok = format!(r#""ciphertext":"AQID","arn":"{ARN}""#);
        let cases = [
            ("not json".to_owned(), "not JSON"),
            ("[]".to_owned(), "the top level is an array"),
            (r#""secret""#.to_owned(), "the top level is a string"),
            (r#"{"A":1}"#.to_owned(), "A: is a number, not an object"),
            (
                r#"{"A":{"ciphertext":"AQID"}}"#.to_owned(),
                "A: \"arn\" is missing",
            ),
            (
                format!(r#"{{"A":{{"ciphertext":3,"arn":"{ARN}"}}}}"#),
                "A: \"ciphertext\" is a number, not a string",
            ),
            (
                format!(r#"{{"A":{{"ciphertext":"%%%","arn":"{ARN}"}}}}"#),
                "A: \"ciphertext\" is not base64",
            ),
            (
                format!(r#"{{"A":{{"ciphertext":"","arn":"{ARN}"}}}}"#),
                "A: \"ciphertext\" is empty",
            ),
            (
                r#"{"A":{"ciphertext":"AQID","arn":"arn:aws:kms:us-east-1:123456789012:key/x"}}"#
                    .to_owned(),
                "A: \"arn\" is not a parameter ARN",
            ),
            (
                format!(r#"{{"A":{{{ok},"extra":1}}}}"#),
                "A: unknown field \"extra\"",
            ),
            (format!(r#"{{"A=B":{{{ok}}}}}"#), "A=B: not a variable name"),
            (format!(r#"{{"":{{{ok}}}}}"#), ": not a variable name"),
            (
                format!(r#"{{"LD_PRELOAD":{{{ok}}}}}"#),
                "LD_PRELOAD: may not be set",
            ),
            (
                format!(r#"{{"A":{{{ok}}},"A":{{{ok}}}}}"#),
                "A: appears twice",
            ),
        ];
        for (text, expected) in cases {
            let why = parse(text.as_bytes()).unwrap_err();
            assert!(why.starts_with(expected), "{text}: {why}");
            assert!(!why.contains('\n'), "{why}");
        }
    }

    #[test]
    fn debug_shows_no_ciphertext() {
        let entry = BakedEntry {
            name: "A".into(),
            arn: ARN.into(),
            region: "eu-west-1".into(),
            ciphertext: vec![0xAB; 4],
        };
        let shown = format!("{entry:?}");
        assert!(shown.contains("ciphertext_bytes: 4"), "{shown}");
    }
}
