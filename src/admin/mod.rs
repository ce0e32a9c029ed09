//! `psc`, the companion CLI: put, read, list and remove secrets.
//!
//! Everything psc does beyond psc-exec lives here; `src/bin/psc.rs` only
//! parses the command line and maps a [`Failure`] to its exit code. Reading
//! values reuses the launcher's path (`Reference::parse`, `resolve`,
//! `resolve_vars`), so `psc get` and `psc decrypt-env` accept exactly what
//! psc-exec accepts and fail the same way.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error (checked before
//! anything is read or sent). Interrupted at a prompt, psc restores the
//! terminal and dies of the signal (the shell shows 130 for Ctrl-C). psc is
//! not an env(1)-style launcher, so it follows the common convention rather
//! than psc-exec's 125.
//!
//! Secret hygiene: values live in `SecretValue` or `Zeroizing` buffers; only
//! `get`, `decrypt-env`, `file decrypt` and `file export` write one, to
//! stdout (or, with `file decrypt --in-place`, to the file named). The
//! SDK's orchestrator prints whole requests at trace level, the SigV4 signer
//! the canonical request (with the body's SHA-256), and PutParameter's body
//! holds the value, so [`crate::log_subscriber`] drops those events
//! whatever `PSC_LOG` says.

mod bake;
pub mod cli;
mod dotenv;
pub mod file;
pub mod name;
mod prompt;
pub mod quote;
mod ssm;
pub mod value;

use std::collections::HashSet;
use std::fmt;
use std::io::{IsTerminal, Read, Write};

use aws_sdk_ssm::types::{ParameterMetadata, ParameterTier, ParameterType, Tag};
use zeroize::Zeroizing;

use self::cli::{
    Cli, Command, DecryptEnvArgs, DeleteArgs, GetArgs, ImportEnvArgs, Kind, ListArgs, PutOptions,
    SetArgs, SetFileArgs, Tier,
};
use self::name::Selection;
use self::prompt::PromptError;
use crate::child::{self, Resolved};
use crate::error::{OsReason, Unresolved};
use crate::reference::Reference;
use crate::resolve::Fetch;
use crate::secret::SecretValue;
use crate::{Error, scan};

/// The operation failed.
pub const EXIT_FAILURE: u8 = 1;
/// The command line is wrong; nothing was read or sent.
pub const EXIT_USAGE: u8 = 2;

/// Why a psc command failed. Every message is one line naming what failed
/// and which parameters or variables; none carries a value.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong (exit 2).
    Usage(String),
    /// The operation failed (exit 1).
    Failed(String),
}

impl Failure {
    /// The documented exit code.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::Failed(_) => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(text) | Self::Failed(text) => f.write_str(text),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::Usage(text) => Self::Usage(text),
            other => Self::Failed(other.to_string()),
        }
    }
}

fn prompt_failure(error: PromptError, name: &str) -> Failure {
    Failure::Failed(match error {
        PromptError::Eof => format!("no value entered; nothing stored: {name}"),
        PromptError::Io(e) => format!(
            "cannot read the value from the terminal ({}): {name}",
            OsReason(&e)
        ),
    })
}

/// Run one psc command.
///
/// # Errors
/// The command's failure, phrased for one line on stderr.
pub fn run(cli: Cli) -> Result<(), Failure> {
    crate::forbid_sensitive_logging();
    // Logging on stderr like psc-exec: `-v` counts (warn, info, debug,
    // trace) for psc itself, errors only for the SDK, and `PSC_LOG` wins;
    // never the SDK's request bodies (see `crate::log_subscriber`).
    let verbose = if cli.debug {
        cli.verbose.max(2)
    } else {
        cli.verbose
    };
    crate::init_logging("PSC_LOG", verbose);
    let region = cli.region.as_deref();
    match cli.command {
        Command::Set(args) => set(args, region),
        Command::SetFile(args) => set_file(args, region),
        Command::Get(args) => get(&args, region),
        Command::Delete(args) => delete(args, region),
        Command::Ls(args) => list(&args, region, false),
        Command::Ll(args) => list(&args, region, true),
        Command::DecryptEnv(args) => decrypt_env(&args, region).inspect_err(|_| {
            // The output is sourced or eval'd: make it stop a script that
            // does so (exit), and only fail the command in an interactive
            // shell (`$-` holds `i`), in bash, dash and zsh alike.
            let _ = std::io::stdout().write_all(STOP_SOURCING_SHELL.as_bytes());
        }),
        Command::ImportEnv(args) => import_env(&args, region),
        Command::Bake(args) => bake::run(&args, region),
        Command::File(command) => file::run(command, region),
    }
}

/// What `decrypt-env` prints when it fails, for the shell that evaluates
/// it: a non-interactive one exits (an entrypoint script must not start the
/// service with references unresolved), an interactive one gets a failed
/// status and stays open.
pub const STOP_SOURCING_SHELL: &str = "# psc decrypt-env failed (see its error on stderr): stop here\n\
case $- in *i*) false ;; *) exit 1 ;; esac\n";

fn import_env(args: &ImportEnvArgs, region: Option<&str>) -> Result<(), Failure> {
    let path = match name::check_selection(&args.path) {
        Ok(Selection::Path(path)) => path,
        _ => {
            return Err(Failure::Usage(format!(
                "--path must be a path starting with '/': {}",
                name::shown(&args.path)
            )));
        }
    };
    let shown = args.file.display().to_string();
    // A dotenv file of a service: 1 MiB is far more than any holds.
    const MAX_FILE: u64 = 1 << 20;
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(&args.file)
        .and_then(|file| std::io::Read::take(file, MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| Failure::Failed(format!("cannot read {shown}: {}", OsReason(&e))))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(Failure::Usage(format!("{shown}: larger than 1 MiB")));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::Usage(format!("{shown}: not UTF-8 text")))?;
    let entries = dotenv::parse(text).map_err(|why| Failure::Usage(format!("{shown}: {why}")))?;
    if entries.is_empty() {
        return Err(Failure::Usage(format!("{shown}: no variables in it")));
    }
    let prefix = if path == "/" {
        String::new()
    } else {
        path.clone()
    };
    let mut problems = Vec::new();
    let mut names = Vec::with_capacity(entries.len());
    for entry in &entries {
        let parameter = format!("{prefix}/{}", entry.key);
        if let Err(rule) = name::check_name(&parameter) {
            problems.push(format!("line {}: {parameter}: {rule}", entry.line));
        }
        if let Err(error) = value::check_size(entry.value.len(), None) {
            problems.push(format!("line {}: {}: {error}", entry.line, entry.key));
        }
        names.push(parameter);
    }
    if !problems.is_empty() {
        return Err(Failure::Usage(format!("{shown}: {}", problems.join("; "))));
    }
    if args.dry_run {
        let mut out = String::new();
        for name in &names {
            out.push_str(name);
            out.push('\n');
        }
        return write_stdout(out.as_bytes());
    }
    let runtime = crate::runtime()?;
    let written = runtime.block_on(async {
        let (client, region) = ssm::client(region).await?;
        for name in &names {
            name::check_name_length(name, &region).map_err(|e| invalid_name(name, &e))?;
        }
        if !args.overwrite {
            // Every existing name before the first write, so a refusal
            // leaves nothing half-imported.
            let existing: HashSet<String> =
                ssm::describe(&client, &Selection::Path(path.clone()), false)
                    .await?
                    .into_iter()
                    .filter_map(|p| p.name)
                    .collect();
            let clashes: Vec<&str> = names
                .iter()
                .filter(|n| existing.contains(n.as_str()))
                .map(String::as_str)
                .collect();
            if !clashes.is_empty() {
                return Err(Failure::Failed(format!(
                    "already in Parameter Store (--overwrite replaces them): {}",
                    clashes.join(", ")
                )));
            }
        }
        let mut written = Vec::new();
        for (entry, name) in entries.iter().zip(&names) {
            let request = ssm::PutRequest {
                name,
                kind: Some(ParameterType::SecureString),
                description: None,
                key_id: args.key_id.as_deref(),
                tier: None,
                overwrite: args.overwrite,
                tags: Vec::new(),
            };
            ssm::put(&client, &request, &entry.value).await?;
            written.push(name.clone());
        }
        Ok::<_, Failure>(written)
    })?;
    tracing::info!(parameters = written.len(), path, "imported");
    let mut out = String::new();
    for name in &written {
        out.push_str(name);
        out.push('\n');
    }
    write_stdout(out.as_bytes())
}

fn invalid_name(name: &str, rule: &name::RuleError) -> Failure {
    Failure::Usage(format!(
        "invalid parameter name ({rule}): {}",
        name::shown(name)
    ))
}

/// Options checked before any input is read.
fn check_put_options(options: &PutOptions) -> Result<(), Failure> {
    if options.key_id.is_some() && matches!(options.kind, Some(Kind::String | Kind::StringList)) {
        return Err(Failure::Usage(
            "--key-id applies to SecureString parameters only".into(),
        ));
    }
    Ok(())
}

fn set(mut args: SetArgs, region: Option<&str>) -> Result<(), Failure> {
    if !args.extra.is_empty() {
        let count = args.extra.len();
        return Err(Failure::Usage(format!(
            "{count} unexpected argument{} after the value (not shown: they may be part of it); \
             quote a value that has spaces, or leave it out and type it at the prompt",
            if count == 1 { "" } else { "s" }
        )));
    }
    name::check_name(&args.name).map_err(|e| invalid_name(&args.name, &e))?;
    check_put_options(&args.put)?;
    let tier = args.put.tier;
    let value = match args.value.take() {
        Some(mut given) if given.0 != "-" => {
            value::from_text(std::mem::take(&mut given.0), tier)
                .map_err(|e| Failure::Failed(format!("{e}: {}", args.name)))?
        }
        Some(_) | None => value_from_stdin(&args.name, tier)?,
    };
    store(&args.name, &args.put, &value, region)
}

fn value_from_stdin(name: &str, tier: Option<Tier>) -> Result<SecretValue, Failure> {
    let bytes = if std::io::stdin().is_terminal() {
        let first = prompt::read_hidden(&format!("Value for {name} (input hidden): "))
            .map_err(|e| prompt_failure(e, name))?;
        let second =
            prompt::read_hidden("Repeat the value: ").map_err(|e| prompt_failure(e, name))?;
        if *first != *second {
            return Err(Failure::Failed(format!(
                "the two values entered differ; nothing stored: {name}"
            )));
        }
        first
    } else {
        value::read_limited(std::io::stdin().lock())
            .map_err(|e| Failure::Failed(format!("cannot read stdin ({}): {name}", OsReason(&e))))?
    };
    value::from_bytes(bytes, tier).map_err(|e| Failure::Failed(format!("{e}: {name}")))
}

fn set_file(args: SetFileArgs, region: Option<&str>) -> Result<(), Failure> {
    name::check_name(&args.name).map_err(|e| invalid_name(&args.name, &e))?;
    check_put_options(&args.put)?;
    let path = args.path.display().to_string();
    let bytes = std::fs::File::open(&args.path)
        .and_then(value::read_limited)
        .map_err(|e| Failure::Failed(format!("cannot read {path}: {}", OsReason(&e))))?;
    let value = value::from_bytes(bytes, args.put.tier)
        .map_err(|e| Failure::Failed(format!("{e}: {path}")))?;
    store(&args.name, &args.put, &value, region)
}

/// Load the configuration, check the name's length for the region, store
/// the value and print the new version.
fn store(
    name: &str,
    options: &PutOptions,
    value: &SecretValue,
    region: Option<&str>,
) -> Result<(), Failure> {
    let request = ssm::PutRequest {
        name,
        kind: options.kind.map(|kind| match kind {
            Kind::String => ParameterType::String,
            Kind::StringList => ParameterType::StringList,
            Kind::SecureString => ParameterType::SecureString,
        }),
        description: options.description.as_deref(),
        key_id: options.key_id.as_deref(),
        tier: options.tier.map(|tier| match tier {
            Tier::Standard => ParameterTier::Standard,
            Tier::Advanced => ParameterTier::Advanced,
            Tier::IntelligentTiering => ParameterTier::IntelligentTiering,
        }),
        overwrite: options.overwrite,
        tags: options
            .tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::Usage(format!("invalid tag: {e}")))?,
    };
    let runtime = crate::runtime()?;
    let version = runtime.block_on(async {
        let (client, region) = ssm::client(region).await?;
        name::check_name_length(name, &region).map_err(|e| invalid_name(name, &e))?;
        ssm::put(&client, &request, value).await
    })?;
    tracing::info!(name, version, "stored");
    write_stdout(format!("{version}\n").as_bytes())
}

fn get(args: &GetArgs, region: Option<&str>) -> Result<(), Failure> {
    let reference = Reference::parse(&args.reference).map_err(|e| {
        Failure::Usage(format!(
            "invalid reference ({e}): {}",
            name::shown(&args.reference)
        ))
    })?;
    let fetches = crate::launch::fetch(
        std::slice::from_ref(&reference),
        &[],
        &[],
        &crate::launch::FetchOptions::defaults(region),
        None,
    )?;
    let shown = reference.as_str();
    let fetched = match fetches.get(&reference) {
        Some(Fetch::Found(fetched)) => fetched,
        Some(Fetch::Missing) | None => {
            return Err(Failure::Failed(format!("parameter not found: {shown}")));
        }
        Some(Fetch::Failed(error)) => return Err(Failure::Failed(error.to_string())),
    };
    let value = &crate::values::value_of(fetched, &reference).map_err(|reason| {
        Failure::Failed(match reason {
            Unresolved::KeyNotFound(key) => format!("JSON key '{key}' not found: {shown}"),
            Unresolved::NotJsonObject(key) => {
                format!("value is not a JSON object, so it has no key '{key}': {shown}")
            }
            Unresolved::NotFound => format!("parameter not found: {shown}"),
            Unresolved::ContainsNul => format!("value contains a NUL byte: {shown}"),
        })
    })?;
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() + 1));
    if args.json {
        // Written field by field, so the value is escaped straight into a
        // buffer that is wiped (a serde_json::Value would hold a copy).
        let text = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let last_modified = fetched
            .last_modified_text()
            .map_or_else(|| "null".to_owned(), |t| text(&t));
        let quoted_value = Zeroizing::new(text(value.expose()));
        out.extend_from_slice(
            format!(
                "{{\"name\":{},\"type\":{},\"version\":{},\"value\":",
                text(reference.base_name()),
                text(&fetched.kind),
                fetched.version
            )
            .as_bytes(),
        );
        out.extend_from_slice(quoted_value.as_bytes());
        out.extend_from_slice(format!(",\"last_modified\":{last_modified}}}\n").as_bytes());
    } else {
        out.extend_from_slice(value.expose().as_bytes());
        if std::io::stdout().is_terminal() && !out.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    tracing::info!(reference = shown, version = fetched.version, "read");
    write_stdout(&out)
}

fn delete(args: DeleteArgs, region: Option<&str>) -> Result<(), Failure> {
    let mut problems: Vec<String> = Vec::new();
    for name in &args.names {
        if let Err(rule) = name::check_name(name) {
            problems.push(format!("{} ({rule})", name::shown(name)));
        }
    }
    if !problems.is_empty() {
        return Err(Failure::Usage(format!(
            "invalid parameter name{}: {}",
            if problems.len() == 1 { "" } else { "s" },
            problems.join(", ")
        )));
    }
    let mut seen = HashSet::new();
    let names: Vec<String> = args
        .names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect();
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::Usage(
                "refusing to delete without confirmation: stdin is not a terminal (pass --yes)"
                    .into(),
            ));
        }
        let question = match names.as_slice() {
            [one] => format!("Delete {one}?"),
            many => format!("Delete {} parameters: {}?", many.len(), many.join(", ")),
        };
        let yes = prompt::confirm(&question)
            .map_err(|e| Failure::Failed(format!("cannot read the answer: {}", OsReason(&e))))?;
        if !yes {
            return Err(Failure::Failed("not confirmed; nothing deleted".into()));
        }
    }
    let runtime = crate::runtime()?;
    let outcome = runtime.block_on(async {
        let (client, region) = ssm::client(region).await?;
        for name in &names {
            name::check_name_length(name, &region).map_err(|e| invalid_name(name, &e))?;
        }
        ssm::delete(&client, &names).await
    })?;
    report_deleted(&outcome)
}

/// `deleted NAME` lines on stdout; the names that were not there, a failure
/// (exit 1) naming them.
pub(crate) fn report_deleted(outcome: &ssm::Deleted) -> Result<(), Failure> {
    let mut out = String::new();
    for name in &outcome.deleted {
        out.push_str("deleted ");
        out.push_str(name);
        out.push('\n');
    }
    tracing::info!(
        deleted = outcome.deleted.len(),
        missing = outcome.missing.len(),
        "DeleteParameters"
    );
    write_stdout(out.as_bytes())?;
    if outcome.missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "parameter{} not found: {}",
            if outcome.missing.len() == 1 { "" } else { "s" },
            outcome.missing.join(", ")
        )))
    }
}

fn list(args: &ListArgs, region: Option<&str>, long: bool) -> Result<(), Failure> {
    let selection = match &args.path {
        None => Selection::Path("/".into()),
        Some(text) => name::check_selection(text)
            .map_err(|e| Failure::Usage(format!("invalid path ({e}): {}", name::shown(text))))?,
    };
    let runtime = crate::runtime()?;
    let mut parameters = runtime.block_on(async {
        let (client, _) = ssm::client(region).await?;
        ssm::describe(&client, &selection, args.recursive).await
    })?;
    parameters.sort_by(|a, b| a.name.cmp(&b.name));
    let out = if long {
        long_listing(&parameters)
    } else {
        let mut out = String::new();
        for parameter in &parameters {
            out.push_str(parameter.name.as_deref().unwrap_or_default());
            out.push('\n');
        }
        out
    };
    write_stdout(out.as_bytes())
}

/// `ll`'s table: a header, then one line per parameter, columns aligned,
/// the description last (its control characters escaped, so that each
/// parameter stays on one line and none can act on the terminal).
fn long_listing(parameters: &[ParameterMetadata]) -> String {
    if parameters.is_empty() {
        return String::new();
    }
    let rows: Vec<[String; 6]> = parameters
        .iter()
        .map(|p| {
            [
                p.name.clone().unwrap_or_default(),
                p.r#type
                    .as_ref()
                    .map_or("-", ParameterType::as_str)
                    .to_owned(),
                p.version.to_string(),
                p.last_modified_date
                    .and_then(|d| std::time::SystemTime::try_from(d).ok())
                    .map_or_else(
                        || "-".to_owned(),
                        |t| humantime::format_rfc3339_seconds(t).to_string(),
                    ),
                p.tier
                    .as_ref()
                    .map_or("-", ParameterTier::as_str)
                    .to_owned(),
                p.description
                    .as_deref()
                    .map(crate::error::escape_controls)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    crate::aligned(
        [
            "NAME",
            "TYPE",
            "VERSION",
            "LAST MODIFIED",
            "TIER",
            "DESCRIPTION",
        ],
        &rows,
    )
}

fn decrypt_env(args: &DecryptEnvArgs, region: Option<&str>) -> Result<(), Failure> {
    // Invalid references are bad input, found before anything is sent:
    // exit 2, as `psc get` does for its argument.
    let scan = scan::scan(std::env::vars_os())
        .map_err(|invalid| Failure::Usage(Error::InvalidReferences(invalid).to_string()))?;
    if !scan.has_secrets() {
        tracing::debug!("no references in the environment");
        return Ok(());
    }
    let files: Vec<&str> = scan
        .secrets()
        .filter(|s| s.file)
        .map(|s| s.name.as_str())
        .collect();
    if !files.is_empty() {
        return Err(Failure::Failed(format!(
            "SECRET_FILE is for psc-exec, which writes the files; decrypt-env prints values: {}",
            files.join(", ")
        )));
    }
    let unassignable: Vec<&str> = scan
        .secret_names()
        .filter(|n| !quote::is_shell_name(n))
        .collect();
    if !unassignable.is_empty() {
        return Err(Failure::Usage(format!(
            "variables a shell cannot assign (a name must not start with a digit): {}",
            unassignable.join(", ")
        )));
    }
    let secret_names: Vec<String> = scan.secret_names().map(str::to_owned).collect();
    let references: Vec<Reference> = scan.references().cloned().collect();
    tracing::info!(variables = references.len(), names = ?secret_names, "resolving references");
    let fetches = crate::launch::fetch(
        &references,
        &[],
        &[],
        &crate::launch::FetchOptions::defaults(region),
        None,
    )?;
    let resolved = child::resolve_vars(scan, &fetches, args.on_missing)?;
    drop(fetches);
    let mut present = HashSet::new();
    let mut out = Zeroizing::new(String::new());
    for var in &resolved {
        match var {
            // A value with a NUL byte never gets here: value_for refuses it.
            Resolved::Secret { name, value } => {
                present.insert(name.as_str());
                quote::push_export(&mut out, name, value.expose());
            }
            Resolved::Kept(name, _) => {
                present.insert(name.as_str());
            }
            // Refused above: decrypt-env writes no file.
            Resolved::File { .. } | Resolved::Plain(..) | Resolved::Bare(_) => {}
        }
    }
    for name in &secret_names {
        if !present.contains(name.as_str()) {
            out.push_str("unset ");
            out.push_str(name);
            out.push('\n');
        }
    }
    write_stdout(out.as_bytes())
}

/// Write everything to stdout at once. A closed pipe (`psc ls | head`) is
/// not an error: the reader has what it wanted.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::Failed(format!(
            "cannot write to stdout: {}",
            OsReason(&e)
        ))),
        _ => Ok(()),
    }
}

/// Replace `target` with `bytes`: a new temporary file beside it (mode
/// 0600, then `permissions` if given), written and synced, renamed over
/// it, the directory synced; the temporary is removed on any failure.
/// `shown` names the file in errors.
pub(crate) fn replace_file(
    target: &std::path::Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
    shown: &dyn std::fmt::Display,
) -> Result<(), Failure> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let failed = |what: &str, e: &std::io::Error| {
        Failure::Failed(format!(
            "cannot {what} {shown}: {}",
            crate::error::OsReason(e)
        ))
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (temp, mut out) = (0..16)
        .find_map(|_| {
            let temp = dir.join(format!(".{base}.psc-{:08x}", fastrand::u32(..)));
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)
                .map(|f| (temp, f))
                .ok()
        })
        .ok_or_else(|| {
            failed(
                "create a temporary file beside",
                &std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            )
        })?;
    let written = out
        .write_all(bytes)
        .and_then(|()| permissions.map_or(Ok(()), |p| out.set_permissions(p)))
        .and_then(|()| out.sync_all())
        .and_then(|()| std::fs::rename(&temp, target));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(failed("write", &e));
    }
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(Failure::Usage(String::new()).exit_code(), 2);
        assert_eq!(Failure::Failed(String::new()).exit_code(), 1);
        assert_eq!(Failure::from(Error::Usage("x".into())).exit_code(), 2);
        assert_eq!(Failure::from(Error::Config("x".into())).exit_code(), 1);
    }

    #[test]
    fn long_listing_aligns_and_escapes() {
        let when = aws_sdk_ssm::primitives::DateTime::from_secs(1_767_225_600);
        let rows = [
            ParameterMetadata::builder()
                .name("/app/db")
                .r#type(ParameterType::SecureString)
                .version(3)
                .last_modified_date(when)
                .tier(ParameterTier::Standard)
                .description("main\ndatabase\u{1b}[2J")
                .build(),
            ParameterMetadata::builder()
                .name("/app/longer_name")
                .r#type(ParameterType::String)
                .version(12)
                .tier(ParameterTier::Advanced)
                .build(),
        ];
        assert_eq!(
            long_listing(&rows),
            "NAME              TYPE          VERSION  LAST MODIFIED         TIER      DESCRIPTION\n\
             /app/db           SecureString  3        2026-01-01T00:00:00Z  Standard  main\\ndatabase\\u{1b}[2J\n\
             /app/longer_name  String        12       -                     Advanced\n"
        );
        assert_eq!(long_listing(&[]), "");
    }
}
