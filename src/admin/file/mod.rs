//! `psc file`: a service's parameters as one YAML file in psyml's format,
//! with the secret values encrypted by KMS so that the file can live in
//! git; psyml's commands (encrypt, decrypt, refresh, save, nuke, export)
//! plus the `diff` and `sync` it never built.
//!
//! Every file is read and checked whole ([`format::parse`]) before the
//! first call, so a bad file costs no call and leaves nothing half done.
//! Values are `SecretValue`s; they reach only stdout (decrypt, export,
//! encrypt without --in-place: ciphertexts) or the file named with
//! --in-place. Logs and messages carry names and counts.

pub mod diff;
pub mod format;
mod kms;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_ssm::types::{ParameterType, Tag};
use zeroize::Zeroizing;

use self::diff::{Actual, Aspect, Change, Desired};
use self::format::{File, Kind, Style, Value};
use super::cli::{FileArgs, FileCommand, RewriteArgs, SyncArgs};
use super::name::Selection;
use super::{Failure, quote, ssm, write_stdout};
use crate::error::OsReason;
use crate::secret::SecretValue;

/// A psyml file is a few kilobytes; this bounds what is read.
const MAX_FILE: u64 = 4 << 20;

/// Run one `psc file` command.
///
/// # Errors
/// The command's failure, phrased for one line on stderr.
pub fn run(command: FileCommand, region: Option<&str>) -> Result<(), Failure> {
    match command {
        FileCommand::Encrypt(args) => rewrite(&args, region, Rewrite::Encrypt),
        FileCommand::Decrypt(args) => rewrite(&args, region, Rewrite::Decrypt),
        FileCommand::Refresh(args) => rewrite(&args, region, Rewrite::Refresh),
        FileCommand::Save(args) => save(&args, region),
        FileCommand::Nuke(args) => nuke(&args, region),
        FileCommand::Export(args) => export(&args, region),
        FileCommand::Diff(args) => diff_command(&args, region),
        FileCommand::Sync(args) => sync(&args, region),
    }
}

/// The file named on the command line, read and checked.
fn load(args: &FileArgs, region: Option<&str>) -> Result<File, Failure> {
    let shown = args.file.display().to_string();
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(&args.file)
        .and_then(|f| {
            std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_FILE + 1), &mut bytes)
        })
        .map_err(|e| Failure::Failed(format!("cannot read {shown}: {}", OsReason(&e))))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(Failure::Usage(format!(
            "{shown}: larger than {} MiB, not a psyml file",
            MAX_FILE >> 20
        )));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::Usage(format!("{shown}: not UTF-8 text")))?;
    let file = format::parse(text).map_err(|e| Failure::Usage(format!("{shown}: {e}")))?;
    if let Some(flag) = region
        && flag != file.region
    {
        return Err(Failure::Usage(format!(
            "--region {flag} differs from the file's region {}: {shown}",
            file.region
        )));
    }
    tracing::debug!(
        file = %shown,
        parameters = file.parameters.len(),
        path = file.path,
        "read"
    );
    Ok(file)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rewrite {
    Encrypt,
    Decrypt,
    Refresh,
}

fn rewrite(args: &RewriteArgs, region: Option<&str>, what: Rewrite) -> Result<(), Failure> {
    let mut file = load(&args.file, region)?;
    let key = &args.file.key;
    let runtime = crate::runtime()?;
    let style = runtime.block_on(async {
        match what {
            Rewrite::Encrypt => encrypt(&mut file, &key.key_alias, &key.key_region).await,
            Rewrite::Decrypt => {
                decrypt_all(&mut file, &key.key_region).await?;
                Ok(Style::Plain)
            }
            Rewrite::Refresh => refresh(&mut file, &key.key_alias, &key.key_region).await,
        }
    })?;
    drop(runtime);
    let text = format::write(&file, style);
    if args.in_place {
        write_in_place(&args.file.file, text.as_bytes())
    } else {
        write_stdout(text.as_bytes())
    }
}

fn plaintext_secrets(file: &File) -> usize {
    file.parameters
        .iter()
        .filter(|p| p.kind == Kind::SecureString && matches!(p.value, Value::Text(_)))
        .count()
}

fn ciphertexts(file: &File) -> usize {
    file.parameters
        .iter()
        .filter(|p| matches!(p.value, Value::Cipher(_)))
        .count()
}

/// Encrypt the plaintext SecureStrings; ciphertexts stay as they are.
async fn encrypt(file: &mut File, alias: &str, key_region: &str) -> Result<Style, Failure> {
    let kept = ciphertexts(file);
    let to_encrypt = plaintext_secrets(file);
    if to_encrypt > 0 || file.encrypted_with.is_none() {
        let client = kms::client(key_region).await?;
        let arn = kms::key_arn(&client, alias).await?;
        for parameter in &mut file.parameters {
            if parameter.kind == Kind::SecureString
                && let Value::Text(value) = &parameter.value
            {
                let cipher = kms::encrypt(&client, &arn, &parameter.name, value).await?;
                parameter.value = Value::Cipher(cipher);
            }
        }
        // Values kept from an earlier run were made under the recorded
        // key: keep that record, so `refresh` still sees them as old.
        if kept == 0 || file.encrypted_with.is_none() {
            file.encrypted_with = Some(arn);
        }
    }
    tracing::info!(encrypted = to_encrypt, kept, "encrypt");
    Ok(Style::Encrypted)
}

/// Decrypt every ciphertext in place; a file without one costs no call.
async fn decrypt_all(file: &mut File, key_region: &str) -> Result<(), Failure> {
    if ciphertexts(file) == 0 {
        return Ok(());
    }
    let client = kms::client(key_region).await?;
    let mut count = 0_usize;
    for parameter in &mut file.parameters {
        if let Value::Cipher(cipher) = &parameter.value {
            let value = kms::decrypt(&client, &parameter.name, cipher).await?;
            parameter.value = Value::Text(value);
            count += 1;
        }
    }
    tracing::info!(decrypted = count, "decrypt");
    Ok(())
}

/// Re-encrypt every secret under the alias's current key.
async fn refresh(file: &mut File, alias: &str, key_region: &str) -> Result<Style, Failure> {
    let client = kms::client(key_region).await?;
    let arn = kms::key_arn(&client, alias).await?;
    if file.encrypted_with.as_deref() == Some(arn.as_str()) {
        return Err(Failure::Failed(format!(
            "nothing to do: the file is already encrypted under the current key of {alias}: {arn}"
        )));
    }
    let mut count = 0_usize;
    for parameter in &mut file.parameters {
        if parameter.kind != Kind::SecureString {
            continue;
        }
        let plain = match &parameter.value {
            Value::Cipher(cipher) => kms::decrypt(&client, &parameter.name, cipher).await?,
            Value::Text(value) => SecretValue::new(value.expose().to_owned()),
            Value::List(_) => continue,
        };
        parameter.value =
            Value::Cipher(kms::encrypt(&client, &arn, &parameter.name, &plain).await?);
        count += 1;
    }
    file.encrypted_with = Some(arn);
    tracing::info!(reencrypted = count, "refresh");
    Ok(Style::Encrypted)
}

/// Every parameter's plaintext, in file order (decrypting ciphertexts).
async fn plaintexts(file: &File, key_region: &str) -> Result<Vec<SecretValue>, Failure> {
    let client = if ciphertexts(file) > 0 {
        Some(kms::client(key_region).await?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(file.parameters.len());
    for parameter in &file.parameters {
        out.push(match (&parameter.value, &client) {
            (Value::Cipher(cipher), Some(client)) => {
                kms::decrypt(client, &parameter.name, cipher).await?
            }
            (value, _) => value
                .plaintext()
                .unwrap_or_else(|| SecretValue::new(String::new())),
        });
    }
    Ok(out)
}

fn parameter_type(kind: Kind) -> ParameterType {
    match kind {
        Kind::String => ParameterType::String,
        Kind::StringList => ParameterType::StringList,
        Kind::SecureString => ParameterType::SecureString,
    }
}

fn tags_of(file: &File) -> Result<Vec<Tag>, Failure> {
    file.tags
        .iter()
        .flatten()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::Usage(format!("invalid tag: {e}")))
}

/// The request that stores one parameter as the file says.
fn put_request<'a>(
    file: &'a File,
    parameter: &'a format::Parameter,
    overwrite: bool,
    tags: Vec<Tag>,
) -> ssm::PutRequest<'a> {
    ssm::PutRequest {
        name: &parameter.full_name,
        kind: Some(parameter_type(parameter.kind)),
        description: Some(&parameter.description),
        key_id: (parameter.kind == Kind::SecureString).then_some(file.kmskey.as_str()),
        tier: None,
        overwrite,
        tags,
    }
}

/// `save`: put every parameter (overwriting), as psyml does, but with
/// Parameter Store's type and the file's KMS key for SecureStrings.
fn save(args: &FileArgs, region: Option<&str>) -> Result<(), Failure> {
    let file = load(args, region)?;
    let tags = tags_of(&file)?;
    let runtime = crate::runtime()?;
    let versions = runtime.block_on(async {
        let values = plaintexts(&file, &args.key.key_region).await?;
        let (client, _) = ssm::client(Some(&file.region)).await?;
        let mut versions = Vec::with_capacity(values.len());
        for (parameter, value) in file.parameters.iter().zip(&values) {
            let request = put_request(&file, parameter, true, tags.clone());
            versions.push(ssm::put(&client, &request, value).await?);
        }
        Ok::<_, Failure>(versions)
    })?;
    let mut out = String::new();
    for (parameter, version) in file.parameters.iter().zip(versions) {
        out.push_str(&format!(
            "saved {} (version {version})\n",
            parameter.full_name
        ));
    }
    tracing::info!(saved = file.parameters.len(), "save");
    write_stdout(out.as_bytes())
}

/// `nuke`: delete the file's parameters (and nothing else).
fn nuke(args: &FileArgs, region: Option<&str>) -> Result<(), Failure> {
    let file = load(args, region)?;
    let names: Vec<String> = file
        .parameters
        .iter()
        .map(|p| p.full_name.clone())
        .collect();
    let runtime = crate::runtime()?;
    let outcome = runtime.block_on(async {
        let (client, _) = ssm::client(Some(&file.region)).await?;
        ssm::delete(&client, &names).await
    })?;
    super::report_deleted(&outcome)
}

/// psyml's variable name for a parameter: `/` and `-` become `_`, then
/// upper case.
fn variable_name(name: &str) -> String {
    name.replace(['/', '-'], "_").to_uppercase()
}

/// `export`: `export NAME='value'` lines.
fn export(args: &FileArgs, region: Option<&str>) -> Result<(), Failure> {
    let file = load(args, region)?;
    let shown = args.file.display();
    let mut variables: Vec<String> = Vec::with_capacity(file.parameters.len());
    for parameter in &file.parameters {
        let variable = variable_name(&parameter.name);
        if !quote::is_shell_name(&variable) {
            return Err(Failure::Usage(format!(
                "{shown}: parameter {}: its variable name {} is not a shell identifier",
                parameter.name, variable
            )));
        }
        if let Some(at) = variables.iter().position(|v| *v == variable) {
            return Err(Failure::Usage(format!(
                "{shown}: parameters {} and {} both export {variable}",
                file.parameters[at].name, parameter.name
            )));
        }
        variables.push(variable);
    }
    let runtime = crate::runtime()?;
    let values = runtime.block_on(plaintexts(&file, &args.key.key_region))?;
    let mut out = Zeroizing::new(String::new());
    for (variable, value) in variables.iter().zip(&values) {
        quote::push_export(&mut out, variable, value.expose());
    }
    write_stdout(out.as_bytes())
}

/// The hierarchy path to list: the file's path without its trailing `/`
/// (GetParametersByPath's form), `/` for the top.
fn base_path(file: &File) -> String {
    let trimmed = file.path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Read both sides and compare them.
async fn compare(
    file: &File,
    values: &[SecretValue],
    client: &aws_sdk_ssm::Client,
) -> Result<(Vec<(String, Change)>, BTreeMap<String, Actual>), Failure> {
    let base = base_path(file);
    let stored = ssm::get_by_path(client, &base).await?;
    let metadata = ssm::describe(client, &Selection::Path(base), true).await?;
    let mut actual: BTreeMap<String, Actual> = stored
        .into_iter()
        .map(|s| {
            let meta = metadata.iter().find(|m| m.name.as_deref() == Some(&s.name));
            (
                s.name,
                Actual {
                    kind: s.kind,
                    value: s.value,
                    description: meta.and_then(|m| m.description.clone()).unwrap_or_default(),
                    key_id: meta.and_then(|m| m.key_id.clone()),
                    tags: Vec::new(),
                },
            )
        })
        .collect();
    let mut tag_calls = 0_usize;
    for parameter in &file.parameters {
        if let Some(have) = actual.get_mut(&parameter.full_name) {
            have.tags = ssm::list_tags(client, &parameter.full_name).await?;
            tag_calls += 1;
        }
    }
    let no_tags = Vec::new();
    let desired: Vec<Desired<'_>> = file
        .parameters
        .iter()
        .zip(values)
        .map(|(p, value)| Desired {
            name: &p.full_name,
            kind: p.kind,
            value,
            description: &p.description,
            key_id: (p.kind == Kind::SecureString).then_some(file.kmskey.as_str()),
            tags: file.tags.as_ref().unwrap_or(&no_tags),
        })
        .collect();
    let changes = diff::compare(&desired, &actual);
    tracing::info!(
        in_file = file.parameters.len(),
        in_store = actual.len(),
        tag_calls,
        differ = changes.len(),
        "compared"
    );
    Ok((changes, actual))
}

fn render(changes: &[(String, Change)]) -> String {
    changes
        .iter()
        .map(|(name, change)| diff::line(name, change))
        .collect()
}

/// `diff`: exit 0 when equal, 1 when different (as diff(1)), 2 on error.
fn diff_command(args: &FileArgs, region: Option<&str>) -> Result<(), Failure> {
    let file = load(args, region)?;
    let runtime = crate::runtime()?;
    let (changes, _) = runtime
        .block_on(async {
            let values = plaintexts(&file, &args.key.key_region).await?;
            let (client, _) = ssm::client(Some(&file.region)).await?;
            compare(&file, &values, &client).await
        })
        // As diff(1): 1 means "different", so trouble is 2 (the exit
        // code of `Usage`), whatever failed.
        .map_err(|failure| match failure {
            Failure::Failed(message) => Failure::Usage(message),
            usage @ Failure::Usage(_) => usage,
        })?;
    write_stdout(render(&changes).as_bytes())?;
    if changes.is_empty() {
        Ok(())
    } else {
        // diff(1): the lines say it all; nothing on stderr.
        Err(Failure::Failed(String::new()))
    }
}

/// `sync`: make Parameter Store equal to the file.
fn sync(args: &SyncArgs, region: Option<&str>) -> Result<(), Failure> {
    let file = load(&args.file, region)?;
    let tags = tags_of(&file)?;
    let runtime = crate::runtime()?;
    let done = runtime.block_on(async {
        let values = plaintexts(&file, &args.file.key.key_region).await?;
        let (client, _) = ssm::client(Some(&file.region)).await?;
        let (changes, actual) = compare(&file, &values, &client).await?;
        if args.dry_run {
            return Ok(changes);
        }
        let mut done = Vec::new();
        let mut to_delete = Vec::new();
        for (name, change) in changes {
            let found = file
                .parameters
                .iter()
                .zip(&values)
                .find(|(p, _)| p.full_name == name);
            match (&change, found) {
                (Change::Add, Some((parameter, value))) => {
                    let request = put_request(&file, parameter, false, tags.clone());
                    ssm::put(&client, &request, value).await?;
                }
                (Change::Modify(aspects), Some((parameter, value))) => {
                    if aspects.iter().any(|a| *a != Aspect::Tags) {
                        let request = put_request(&file, parameter, true, Vec::new());
                        ssm::put(&client, &request, value).await?;
                    }
                    if aspects.contains(&Aspect::Tags) {
                        let have = actual.get(&name).map_or(&[][..], |a| &a.tags[..]);
                        let want = file.tags.as_deref().unwrap_or_default();
                        let (add, remove) = diff::tag_changes(want, have);
                        if !add.is_empty() {
                            let add = add
                                .iter()
                                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                                .collect::<Result<Vec<_>, _>>()
                                .map_err(|e| Failure::Usage(format!("invalid tag: {e}")))?;
                            ssm::add_tags(&client, &name, add).await?;
                        }
                        if !remove.is_empty() {
                            ssm::remove_tags(&client, &name, remove).await?;
                        }
                    }
                }
                (Change::Remove, _) if args.delete => {
                    to_delete.push(name.clone());
                    continue;
                }
                _ => continue,
            }
            done.push((name, change));
        }
        if !to_delete.is_empty() {
            let outcome = ssm::delete(&client, &to_delete).await?;
            done.extend(outcome.deleted.into_iter().map(|n| (n, Change::Remove)));
            done.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok::<_, Failure>(done)
    })?;
    tracing::info!(changed = done.len(), dry_run = args.dry_run, "sync");
    write_stdout(render(&done).as_bytes())
}

/// Replace `path` with `bytes` atomically: a new file in the same
/// directory (same permissions), flushed to disk, then renamed over the
/// old one, so a reader (or a crash) sees the old file or the new one,
/// never half of either. psyml users lose the file with `psyml encrypt f
/// > f`, as the shell truncates it before psyml reads it.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let shown = path.display();
    let failed = |what: &str, e: &std::io::Error| {
        Failure::Failed(format!("cannot {what} {shown}: {}", OsReason(e)))
    };
    // Through a symbolic link, the file it points at is the one replaced.
    let target = std::fs::canonicalize(path).map_err(|e| failed("resolve", &e))?;
    let permissions = std::fs::metadata(&target)
        .map_err(|e| failed("read", &e))?
        .permissions();
    super::replace_file(&target, bytes, Some(permissions), &shown)?;
    tracing::info!(file = %shown, "rewritten in place");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_follow_psyml() {
        assert_eq!(variable_name("api_token"), "API_TOKEN");
        assert_eq!(variable_name("db/read-only/url"), "DB_READ_ONLY_URL");
        assert_eq!(variable_name("a.b"), "A.B");
    }

    #[test]
    fn in_place_replaces_the_file_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.yml");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        write_in_place(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
