//! `psc bake`: write serverless-secret-baker's `secret-baker-secrets.json`
//! for `psc-exec --baked`: each SecureString's ciphertext as Parameter
//! Store returns it without decryption, and its ARN (the plugin's
//! `index.js`, `writeSecretToFile`; the format is in `crate::baked`).
//!
//! Calls: `GetParameters` by 10 with `WithDecryption=false`, and
//! `DescribeParameters` for the tier (see [`advanced`]). Nothing is ever
//! decrypted; but what Parameter Store returns without decryption is the
//! plaintext itself for a String or StringList (refused), so the answer's
//! `Value` is held as a [`SecretValue`] (redacted `Debug`, wiped) until it
//! is known to be a SecureString's ciphertext. This module reads it only
//! to check that it is base64. The file is written only when every lookup
//! succeeded, atomically and mode 0600.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterTier, ParameterType};
use base64::Engine as _;

use super::Failure;
use super::cli::BakeArgs;
use super::name;
use crate::error::OsReason;
use crate::reference::{Reference, Target};
use crate::secret::SecretValue;

/// One thing to bake: the variable and the parameter (with its selector).
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    reference: Reference,
}

/// What GetParameters returned for one request: never decrypted.
#[derive(Debug)]
struct Baked {
    /// The stored name (a one-level `/x` comes back as `x`).
    stored_name: String,
    kind: ParameterType,
    /// The answer's `Value`: the ciphertext of a SecureString, but the
    /// plaintext of anything else.
    value: SecretValue,
    arn: String,
}

/// Run `psc bake`.
///
/// # Errors
/// Usage (exit 2, nothing called): a malformed argument or `--from` line,
/// a name twice. Failure (exit 1, nothing written): a missing parameter, a
/// String or StringList, an Advanced-tier SecureString, a failed call or
/// write.
pub fn run(args: &BakeArgs, region: Option<&str>) -> Result<(), Failure> {
    let specs = specs(args)?;
    if specs.is_empty() {
        return Err(Failure::Usage(
            "nothing to bake: give NAME=parameter arguments or --from FILE".into(),
        ));
    }
    let runtime = crate::runtime()?;
    let entries = runtime.block_on(async {
        let (client, region) = super::ssm::client(region).await?;
        lookup(&client, &region, &specs).await
    })?;
    let text = crate::baked::render(&entries);
    write_atomically(&args.out, text.as_bytes())?;
    tracing::info!(
        file = %args.out.display(),
        entries = entries.len(),
        "baked"
    );
    Ok(())
}

/// The arguments, then the `--from` file's lines, parsed and checked.
fn specs(args: &BakeArgs) -> Result<Vec<Spec>, Failure> {
    let mut texts: Vec<(String, String)> = args
        .parameters
        .iter()
        .map(|a| (a.clone(), name::shown(a)))
        .collect();
    if let Some(from) = &args.from {
        let content = std::fs::read_to_string(from).map_err(|e| {
            Failure::Usage(format!(
                "cannot read --from {}: {}",
                from.display(),
                OsReason(&e)
            ))
        })?;
        for (number, line) in content.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            texts.push((
                line.to_owned(),
                format!("{}:{}: {}", from.display(), number + 1, name::shown(line)),
            ));
        }
    }
    let mut specs: Vec<Spec> = Vec::with_capacity(texts.len());
    for (text, shown) in texts {
        let spec = parse_spec(&text).map_err(|why| Failure::Usage(format!("{why}: {shown}")))?;
        if specs.iter().any(|s| s.name == spec.name) {
            return Err(Failure::Usage(format!(
                "{} is named twice: {shown}",
                spec.name
            )));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// `NAME=parameter[:version|:label]`, or a bare `parameter`, whose variable
/// is then the argument itself, as the plugin names it (`index.js`,
/// `getSecretsConfig`: a string item becomes `{name: item, path: item}`).
fn parse_spec(text: &str) -> Result<Spec, String> {
    let (name, parameter) = match text.split_once('=') {
        Some((name, parameter)) => (name.trim(), parameter.trim()),
        None => (text, text),
    };
    if let Err(why) = crate::baked::check_name(name) {
        return Err(format!("'{name}' is {why}"));
    }
    if !crate::baked::is_shell_name(name) {
        crate::child::warn(&format!(
            "{name} is not a shell variable name: psc-exec will set it as it is, for programs that read it by name (write NAME={parameter} to name it)"
        ));
    }
    let reference = Reference::parse(parameter).map_err(|e| format!("invalid parameter ({e})"))?;
    if reference.key().is_some() {
        return Err("a #key cannot be baked (the ciphertext is of the whole value)".into());
    }
    match reference.target() {
        Target::Name(base) => {
            name::check_name(base).map_err(|e| format!("invalid parameter name ({e})"))?;
        }
        Target::SecretsManager(_) => {
            return Err(
                "a Secrets Manager reference has no Parameter Store ciphertext to bake".into(),
            );
        }
        Target::Arn { .. } => {
            return Err("give the parameter's name, not its ARN".into());
        }
    }
    Ok(Spec {
        name: name.to_owned(),
        reference,
    })
}

/// Look every parameter up and check it can be baked; the entries
/// (name, ciphertext, ARN) in the order given.
async fn lookup(
    client: &Client,
    region: &str,
    specs: &[Spec],
) -> Result<Vec<(String, String, String)>, Failure> {
    // The plan's batches: at most 10 names (GetParameters' limit), no two
    // with the same identity (so each answer maps back to one request).
    let batches = crate::plan::plan(specs.iter().map(|s| &s.reference), region);
    let mut found: HashMap<String, Baked> = HashMap::new();
    let mut missing: Vec<String> = Vec::new();
    for batch in &batches {
        let names: Vec<String> = batch
            .refs
            .iter()
            .map(|r| r.request_name().to_owned())
            .collect();
        let output = client
            .get_parameters()
            .set_names(Some(names.clone()))
            .with_decryption(false)
            .send()
            .await
            .map_err(|e| super::ssm::failure("GetParameters", &names, e, true))?;
        tracing::debug!(names = names.len(), "GetParameters without decryption");
        let invalid = output.invalid_parameters.unwrap_or_default();
        for parameter in output.parameters.unwrap_or_default() {
            let stored_name = parameter.name.unwrap_or_default();
            let identity = crate::reference::canonical_name(&stored_name).to_owned();
            let Some(reference) = batch.refs.iter().find(|r| r.identity() == identity) else {
                return Err(Failure::Failed(format!(
                    "GetParameters returned a parameter not asked for: {}",
                    name::shown(&stored_name)
                )));
            };
            let baked = Baked {
                stored_name,
                kind: parameter.r#type.unwrap_or(ParameterType::String),
                value: SecretValue::new(parameter.value.unwrap_or_default()),
                arn: parameter.arn.unwrap_or_default(),
            };
            found.insert(reference.request_name().to_owned(), baked);
        }
        for reference in &batch.refs {
            let request = reference.request_name();
            if invalid.iter().any(|i| i == request) || !found.contains_key(request) {
                missing.push(request.to_owned());
            }
        }
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(Failure::Failed(format!(
            "parameters not found (nothing written): {}",
            missing.join(", ")
        )));
    }
    let mut plaintext = Vec::new();
    let mut unreadable = Vec::new();
    for spec in specs {
        let baked = &found[spec.reference.request_name()];
        if baked.kind != ParameterType::SecureString {
            plaintext.push(format!(
                "{} -> {} ({})",
                spec.name,
                spec.reference.as_str(),
                baked.kind.as_str()
            ));
        } else if baked.arn.is_empty()
            || base64::engine::general_purpose::STANDARD
                .decode(baked.value.expose().as_bytes())
                .map_or(true, |blob| blob.is_empty())
        {
            // Parameter Store returns a SecureString without decryption
            // as the base64 of its KMS ciphertext; anything else (moto's
            // SSM returns `kms:<key>:<plaintext>`) cannot be decrypted by
            // KMS at run time. Never quoted: it may be the plaintext.
            unreadable.push(format!("{} -> {}", spec.name, spec.reference.as_str()));
        }
    }
    if !plaintext.is_empty() {
        return Err(Failure::Failed(format!(
            "not a SecureString, would be baked as plaintext (nothing written): {}",
            plaintext.join(", ")
        )));
    }
    if !unreadable.is_empty() {
        return Err(Failure::Failed(format!(
            "no base64 KMS ciphertext and ARN in the answer (nothing written): {}",
            unreadable.join(", ")
        )));
    }
    let stored: Vec<String> = specs
        .iter()
        .map(|s| found[s.reference.request_name()].stored_name.clone())
        .collect();
    let advanced_names = advanced(client, &stored).await?;
    let advanced: Vec<String> = specs
        .iter()
        .zip(&stored)
        .filter(|(_, stored)| advanced_names.contains(stored))
        .map(|(spec, _)| format!("{} -> {}", spec.name, spec.reference.as_str()))
        .collect();
    if !advanced.is_empty() {
        return Err(Failure::Failed(format!(
            "Advanced-tier SecureString: Parameter Store encrypts those with envelope encryption, which a KMS Decrypt cannot open (nothing written): {}",
            advanced.join(", ")
        )));
    }
    Ok(specs
        .iter()
        .map(|spec| {
            let baked = &found[spec.reference.request_name()];
            (
                spec.name.clone(),
                // A SecureString's ciphertext (checked above): no value.
                baked.value.expose().to_owned(),
                baked.arn.clone(),
            )
        })
        .collect())
}

/// The names (as stored) among `names` whose tier is Advanced.
///
/// The tier is not in GetParameters' answer: `DescribeParameters` is the
/// call that returns it (`ParameterMetadata.Tier`), with a `Name` filter,
/// option `Equals`, for up to 50 values per filter (the Systems Manager
/// API reference, `ParameterStringFilter`): 10 per call here, like
/// GetParameters. It gives the parameter's tier now; a version asked for by
/// selector is taken to share it (a parameter moves from Standard to
/// Advanced, never back, and AWS does not say whether older versions are
/// re-encrypted: refusing on today's tier is the safe side).
async fn advanced(client: &Client, names: &[String]) -> Result<Vec<String>, Failure> {
    let mut unique: Vec<String> = names.to_vec();
    unique.sort();
    unique.dedup();
    let mut advanced = Vec::new();
    for chunk in unique.chunks(10) {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .set_values(Some(chunk.to_vec()))
            .build()
            .map_err(|e| Failure::Failed(format!("cannot build the tier filter: {e}")))?;
        let mut token: Option<String> = None;
        let mut listed: Vec<String> = Vec::new();
        for _ in 0..super::ssm::MAX_PAGES {
            let page = client
                .describe_parameters()
                .parameter_filters(filter.clone())
                .max_results(super::ssm::DESCRIBE_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| super::ssm::failure("DescribeParameters", chunk, e, true))?;
            for parameter in page.parameters.unwrap_or_default() {
                let name = parameter.name.unwrap_or_default();
                if parameter.tier == Some(ParameterTier::Advanced) {
                    advanced.push(name.clone());
                }
                listed.push(name);
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let unlisted: Vec<&String> = chunk.iter().filter(|n| !listed.contains(n)).collect();
        if !unlisted.is_empty() {
            return Err(Failure::Failed(format!(
                "DescribeParameters did not list the tier of (nothing written): {}",
                unlisted
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    tracing::debug!(
        parameters = unique.len(),
        advanced = advanced.len(),
        "tiers"
    );
    Ok(advanced)
}

/// Write `bytes` to `path` whole or not at all: a new file beside it
/// (mode 0600, created exclusively), flushed to disk, renamed over `path`,
/// then the directory flushed, so a reader (or a crash) sees the old file
/// or the new one. The temporary file is removed when anything fails.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if path.file_name().is_none() {
        return Err(Failure::Usage(format!(
            "--out is not a file name: {}",
            path.display()
        )));
    }
    super::replace_file(path, bytes, None, &path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_their_variable() {
        let spec = parse_spec("DB_PASSWORD=/svc/prod/db_password").unwrap();
        assert_eq!(spec.name, "DB_PASSWORD");
        assert_eq!(spec.reference.request_name(), "/svc/prod/db_password");
        let spec = parse_spec("API_KEY=/svc/prod/api_key:3").unwrap();
        assert_eq!(spec.reference.selector(), Some("3"));
        assert_eq!(spec.reference.base_name(), "/svc/prod/api_key");
        let spec = parse_spec("TOKEN").unwrap();
        assert_eq!(spec.name, "TOKEN");
        assert_eq!(spec.reference.request_name(), "TOKEN");
        // A bare parameter is its own key, as the plugin writes it.
        let spec = parse_spec("/svc/prod/token").unwrap();
        assert_eq!(spec.name, "/svc/prod/token");
        assert_eq!(spec.reference.request_name(), "/svc/prod/token");
        for (bad, why) in [
            ("=/a/b", "'' is not a variable name"),
            ("LD_PRELOAD=/a/b", "may not be set"),
            ("X=/a/b#key", "a #key cannot be baked"),
            ("X=/aws/reference/secretsmanager/s", "Secrets Manager"),
            (
                "X=arn:aws:ssm:us-east-1:123456789012:parameter/a",
                "not its ARN",
            ),
            ("X=/a b", "invalid parameter"),
            ("X=", "invalid parameter"),
        ] {
            let got = parse_spec(bad).unwrap_err();
            assert!(got.contains(why), "{bad}: {got}");
        }
    }
}
