//! The launch: from a parsed command line to the child (exec, or `--init`)
//! or to `--check`'s report; and [`fetch`], the one way from references,
//! paths and baked entries to fetched values, which psc's `get` and
//! `decrypt-env` use too.
//!
//! Data flows one way: environment -> requests (scan, paths, baked) -> calls
//! (resolve) -> values -> child. This module reads no value itself. With
//! `--watch`, the same path runs again on the watch's thread ([`prepare`])
//! whenever a poll sees a change.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::baked::BakedEntry;
use crate::check::{self, Format};
use crate::child::{self, ChildEnv};
use crate::cli::{Cli, OnChange, OnMissing};
use crate::error::{EXIT_FAILURE, Error, report};
use crate::files::{FileOptions, Files};
use crate::init::{NextChild, Restarts, SignalGuard};
use crate::paths::{self, PathRequest};
use crate::reference::Reference;
use crate::resolve::{self, Fetches, Settings};
use crate::scan::{self, Scan, Var};
use crate::values::{self, PathVars};
use crate::watch::{self, Versions, WatchOptions, Watched};

/// How to fetch: the command line's resolution options.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--timeout`.
    pub timeout: Duration,
    /// `--attempt-timeout`.
    pub attempt_timeout: Duration,
    /// `--max-attempts` (else `AWS_MAX_ATTEMPTS`, else the default).
    pub max_attempts: Option<u32>,
    /// `--splay`.
    pub splay: Option<Duration>,
    /// `--ca-bundle`.
    pub ca_bundle: Option<PathBuf>,
    /// Record failed calls instead of stopping at the first (`--check`).
    pub keep_going: bool,
}

impl FetchOptions {
    /// psc's: the defaults of psc-exec, in `region`.
    #[must_use]
    pub fn defaults(region: Option<&str>) -> Self {
        let settings = Settings::default();
        Self {
            region: region.map(str::to_owned),
            timeout: settings.timeout,
            attempt_timeout: settings.attempt_timeout,
            max_attempts: None,
            splay: None,
            ca_bundle: None,
            keep_going: false,
        }
    }

    /// The resolution settings these options make (decrypted calls).
    ///
    /// # Errors
    /// An invalid `AWS_MAX_ATTEMPTS`.
    pub(crate) fn settings(&self) -> Result<Settings, Error> {
        Ok(Settings {
            max_attempts: crate::aws::max_attempts(self.max_attempts)?,
            timeout: self.timeout,
            attempt_timeout: self.attempt_timeout,
            keep_going: self.keep_going,
            ..Settings::default()
        })
    }

    fn from_cli(cli: &Cli, keep_going: bool) -> Self {
        Self {
            region: cli.region.clone(),
            timeout: cli.timeout,
            attempt_timeout: cli.attempt_timeout,
            max_attempts: cli.max_attempts,
            splay: cli.splay,
            ca_bundle: cli.ca_bundle.clone(),
            keep_going,
        }
    }
}

/// Fetch `references`, `paths` and `baked` entries on a runtime
/// ([`crate::runtime_for`]) that is gone
/// when this returns. With a `guard` (`--init`), a stop signal ends it at
/// once (the splay included) with [`Error::Stopped`], and the runtime's
/// threads get a moment to end, since the process lives on; otherwise
/// they are not waited for (exec or exit ends them, and one stuck in a DNS
/// lookup must not outlast `--timeout`).
///
/// # Errors
/// Configuration errors, and failed calls unless `keep_going`.
pub fn fetch(
    references: &[Reference],
    paths: &[PathRequest],
    baked: &[BakedEntry],
    options: &FetchOptions,
    guard: Option<&SignalGuard>,
) -> Result<Fetches, Error> {
    crate::aws::choose_ca_certificates(options.ca_bundle.as_deref())?;
    fetch_again(references, paths, baked, options, guard)
}

/// [`fetch`] once the CA certificates are chosen: `--watch`'s
/// re-resolution, on its own thread while the supervisor runs.
fn fetch_again(
    references: &[Reference],
    paths: &[PathRequest],
    baked: &[BakedEntry],
    options: &FetchOptions,
    guard: Option<&SignalGuard>,
) -> Result<Fetches, Error> {
    // One call per ten references, per baked entry, or pages of a path:
    // known before the configuration is, so counted from the requests
    // alone.
    let calls = references.len().div_ceil(10) + paths.len() + baked.len();
    let runtime = crate::runtime_for(calls)?;
    let fetched = runtime.block_on(async {
        let settings = options.settings()?;
        let work = async {
            if let Some(splay) = options.splay {
                let pause = splayed(splay);
                tracing::debug!(pause_ms = pause.as_millis(), "splay");
                tokio::time::sleep(pause).await;
            }
            resolve::resolve(
                references,
                paths,
                baked,
                options.region.as_deref(),
                &settings,
            )
            .await
        };
        match guard {
            Some(guard) => tokio::select! {
                fetched = work => fetched,
                signum = guard.stopped() => Err(Error::Stopped(signum)),
            },
            None => work.await,
        }
    });
    if guard.is_some() {
        // The runtime's threads have every signal blocked, as this thread
        // had when they started, so one left behind never takes a signal
        // meant for the supervisor.
        runtime.shutdown_timeout(Duration::from_millis(100));
    } else {
        runtime.shutdown_background();
    }
    fetched
}

/// A random pause up to `splay` (`--splay`, `--restart-splay`).
pub(crate) fn splayed(splay: Duration) -> Duration {
    let ceiling = u64::try_from(splay.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=ceiling))
}

/// psc-exec: scan, fetch, then exec (or supervise) the command, or report
/// (`--check`). Returns the exit code when psc-exec itself decides it
/// (`--check`, `--init`); an exec returns only on failure.
///
/// # Errors
/// Every failure before the command runs (exit 125), and a command that
/// cannot be started (126, 127).
pub fn run(cli: &Cli) -> Result<u8, Error> {
    if cli.command.is_empty() && !cli.check {
        return Err(Error::Usage(
            "no command given (usage: psc-exec [OPTIONS] -- COMMAND [ARGS...])".into(),
        ));
    }
    if cli.watch.is_some() && !cli.init && !cli.check {
        return Err(Error::Usage(
            "--watch needs --init: only a psc-exec that stays the command's parent can restart it"
                .into(),
        ));
    }
    let paths = paths::requests(&cli.path, cli.recursive)?;
    let baked = match &cli.baked {
        Some(file) => crate::baked::load(file)?,
        None => Vec::new(),
    };
    let scan = scan::scan_environ(scan::environ()).map_err(Error::InvalidReferences)?;
    let remote = scan.has_secrets() || !paths.is_empty() || !baked.is_empty();
    if remote {
        // Values will be in memory: no core dump, no ptrace by the same user.
        crate::forbid_core_dumps();
    }
    crate::forbid_sensitive_logging();
    // A launch without references logs nothing at the default level, and
    // building the subscriber (tracing's span registry) would be most of
    // that path's own work: skip it there unless logging was asked for.
    if remote
        || cli.check
        || cli.init
        || cli.verbose > 0
        || std::env::var_os("PSC_EXEC_LOG").is_some()
    {
        crate::init_logging("PSC_EXEC_LOG", cli.verbose);
    }
    for miss in &scan.near_misses {
        child::warn(&format!(
            "{} looks like a reference but is passed through unchanged: {}",
            miss.name, miss.why
        ));
    }
    if cli.check {
        return check(cli, &scan, &paths, &baked);
    }
    let mut files = Files::new(file_options(cli)?, false);
    // Before the runtime exists: its threads inherit the blocked mask.
    let guard = cli.init.then(SignalGuard::block).transpose()?;
    let watched = cli
        .watch
        .map(|_| Watched::new(scan.references(), &paths, cli.watch_secretsmanager));
    // The watch resolves the same environment again: it keeps a copy.
    let again = watched.as_ref().map(|_| scan.clone());
    let prepared = prepare(
        cli,
        scan,
        &paths,
        &baked,
        &files,
        watched.as_ref(),
        &mut |refs| fetch_scan(cli, refs, &paths, &baked, false, guard.as_ref()),
    );
    // The files go in place only once everything else succeeded.
    let prepared = prepared.and_then(|(mut env, argv, versions)| {
        env.commit_files(&mut files)?;
        Ok((env, argv, versions))
    });
    let (env, argv, versions) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            // Nothing starts: nothing written stays behind.
            files.remove_all();
            return Err(error);
        }
    };
    match guard {
        Some(guard) => {
            let restarts = match (watched, again) {
                (Some(watched), Some(scan)) => {
                    match start_watch(cli, scan, paths, baked, watched, versions) {
                        Ok(restarts) => Some(restarts),
                        Err(error) => {
                            files.remove_all();
                            return Err(error);
                        }
                    }
                }
                _ => None,
            };
            crate::init::run(argv, env, cli.signal_group, guard, files, restarts)
        }
        None => {
            let error = child::exec(&argv, env);
            files.remove_all();
            Err(error)
        }
    }
}

/// The launch's way from the scan to the child's environment and
/// arguments, with `fetch` making the calls: at start, and again on the
/// watch's thread after a change. Also the versions `watched` polls, as
/// fetched.
fn prepare(
    cli: &Cli,
    scan: Scan,
    paths: &[PathRequest],
    baked: &[BakedEntry],
    files: &Files,
    watched: Option<&Watched>,
    fetch: &mut dyn FnMut(&Scan) -> Result<Fetches, Error>,
) -> Result<(ChildEnv, Vec<OsString>, Versions), Error> {
    let mut versions = Versions::default();
    let env = if scan.has_secrets() || !paths.is_empty() || !baked.is_empty() {
        let fetches = fetch(&scan)?;
        if let Some(watched) = watched {
            versions = Versions::of(watched, &[&fetches]);
        }
        let path_vars = path_vars(cli, &scan, &fetches)?;
        ChildEnv::build(scan, &fetches, cli.on_missing, path_vars, files)?
    } else {
        // Local development: no references, no AWS configuration, no network.
        tracing::debug!("no references");
        ChildEnv::unchanged(scan)
    };
    let argv = if cli.expand_args {
        child::warn(
            "--expand-args: the values in the arguments are visible to every user of the host (/proc/<pid>/cmdline)",
        );
        env.expand_args(&cli.command)?
    } else {
        cli.command.clone()
    };
    env.check_size(&argv)?;
    Ok((env, argv, versions))
}

/// `--watch`: start polling, with [`prepare`] (on a copy of the command
/// line and scan, without `--splay`) to resolve again after a change.
fn start_watch(
    cli: &Cli,
    scan: Scan,
    paths: Vec<PathRequest>,
    baked: Vec<BakedEntry>,
    watched: Watched,
    versions: Versions,
) -> Result<Restarts, Error> {
    let mut again = cli.clone();
    again.splay = None;
    // A parameter gone since the launch is a failed re-resolution (the
    // running child stays), whatever --on-missing said at the launch.
    again.on_missing = OnMissing::Fail;
    let options = FetchOptions::from_cli(&again, false);
    let poll_options = options.clone();
    let file_options = file_options(cli)?;
    let prepare: watch::Prepare = Box::new(move |watched: &Watched| {
        // The same paths as the launch's files (the same variables),
        // staged here; the supervisor puts them in place once the old
        // child is gone, and removes them at the end.
        let files = Files::new(file_options.clone(), false);
        let (env, argv, versions) = prepare(
            &again,
            scan.clone(),
            &paths,
            &baked,
            &files,
            Some(watched),
            &mut |scan| {
                let references: Vec<Reference> = scan.references().cloned().collect();
                tracing::info!(references = references.len(), "resolving again");
                fetch_again(&references, &paths, &baked, &options, None)
            },
        )?;
        Ok((NextChild { env, argv }, versions))
    });
    let interval = cli.watch.unwrap_or(watch::LOW_INTERVAL);
    let next = watch::start(
        watched,
        versions,
        WatchOptions {
            interval,
            splay: cli.restart_splay,
            fetch: poll_options,
        },
        prepare,
    )?;
    Ok(Restarts {
        next,
        exit: cli.on_change == OnChange::Exit,
        signal: cli.restart_signal,
        timeout: cli.restart_timeout,
    })
}

/// `--secrets-dir`, `--file-mode` and `--file-owner`, checked.
fn file_options(cli: &Cli) -> Result<FileOptions, Error> {
    if cli.file_owner.is_some() && crate::files::euid() != 0 {
        return Err(Error::Usage("--file-owner needs root".into()));
    }
    Ok(FileOptions {
        dir: FileOptions::directory(cli.secrets_dir.as_deref()),
        mode: cli.file_mode,
        owner: cli.file_owner,
    })
}

fn fetch_scan(
    cli: &Cli,
    scan: &Scan,
    paths: &[PathRequest],
    baked: &[BakedEntry],
    keep_going: bool,
    guard: Option<&SignalGuard>,
) -> Result<Fetches, Error> {
    let references: Vec<Reference> = scan.references().cloned().collect();
    tracing::info!(
        references = references.len(),
        names = ?scan.secret_names().collect::<Vec<_>>(),
        paths = ?paths.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
        baked = ?baked.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        "resolving"
    );
    fetch(
        &references,
        paths,
        baked,
        &FetchOptions::from_cli(cli, keep_going),
        guard,
    )
}

/// The variables of the paths and of the baked file, with the
/// environment's names winning (a warning for each), a baked name winning
/// over a path's, and `--on-missing` for a path that held nothing.
fn path_vars(cli: &Cli, scan: &Scan, fetches: &Fetches) -> Result<PathVars, Error> {
    let taken: HashSet<&str> = scan
        .vars
        .iter()
        .filter_map(|var| match var {
            Var::Plain(name, _) => name.to_str(),
            Var::Secret(secret) => Some(secret.name.as_str()),
            Var::Template(template) => Some(template.name.as_str()),
            Var::Bare(_) => None,
        })
        .collect();
    let baked = values::baked_vars(fetches, &taken, !cli.check)?;
    let baked_file = cli
        .baked
        .as_deref()
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    for var in baked.iter().filter(|v| v.shadowed) {
        child::warn(&format!(
            "{} is set in the environment, which wins over the baked {} (--baked {baked_file})",
            var.name, var.arn
        ));
    }
    let baked_names: HashSet<String> = baked
        .iter()
        .filter(|v| !v.shadowed)
        .map(|v| v.name.clone())
        .collect();
    let mut taken_by_paths = taken.clone();
    taken_by_paths.extend(baked_names.iter().map(String::as_str));
    let mut vars = values::path_vars(fetches, cli.path_names, &taken_by_paths)?;
    for var in vars.vars.iter().filter(|v| v.shadowed) {
        let winner = if baked_names.contains(&var.name) {
            format!("--baked {baked_file} sets {}", var.name)
        } else {
            format!("{} is set in the environment", var.name)
        };
        child::warn(&format!(
            "{winner}, which wins over {} (from --path {})",
            var.parameter, var.path
        ));
    }
    vars.baked = baked;
    if !vars.empty.is_empty() && !cli.check {
        let message = format!(
            "no parameter under --path {} (a typo, or IAM allows none)",
            vars.empty.join(", ")
        );
        match cli.on_missing {
            OnMissing::Fail => return Err(Error::Other(message)),
            OnMissing::Keep | OnMissing::Unset => child::warn(&message),
        }
    }
    Ok(vars)
}

fn check(cli: &Cli, scan: &Scan, paths: &[PathRequest], baked: &[BakedEntry]) -> Result<u8, Error> {
    let fetches = if scan.has_secrets() || !paths.is_empty() || !baked.is_empty() {
        fetch_scan(cli, scan, paths, baked, true, None)?
    } else {
        Fetches::default()
    };
    let path_vars = path_vars(cli, scan, &fetches)?;
    let dir = FileOptions::directory(cli.secrets_dir.as_deref());
    if scan.secrets().any(|s| s.file) && !crate::files::on_tmpfs(&dir) {
        child::warn(&format!(
            "{} is not on a tmpfs: the secret files would reach a disk (and stay there without --init)",
            dir.display()
        ));
    }
    let mut rows = check::rows(scan, &fetches, &dir)?;
    rows.extend(check::path_rows(&fetches, &path_vars)?);
    let watched = cli
        .watch
        .map(|_| Watched::new(scan.references(), paths, cli.watch_secretsmanager));
    if let Some(watched) = &watched {
        for row in &mut rows {
            row.watch = Some(watched.word_for(&row.reference, row.path.is_some()));
        }
    }
    // Baked values are pinned at bake time: there is nothing to poll.
    let mut baked_rows = check::baked_rows(&fetches, &path_vars)?;
    if watched.is_some() {
        for row in &mut baked_rows {
            row.watch = Some("pinned");
        }
    }
    rows.extend(baked_rows);
    // What the launch would refuse after resolving: an environment too
    // large for execve.
    let too_large = if check::failure_summary(&rows).is_none() {
        let files = Files::new(file_options(cli)?, true);
        ChildEnv::build(scan.clone(), &fetches, cli.on_missing, path_vars, &files)
            .and_then(|env| env.check_size(&cli.command))
            .err()
    } else {
        None
    };
    drop(fetches);
    let mut text = match cli.format {
        Format::Table => check::table(&rows),
        Format::Json => check::json(&rows),
    };
    if let Some(watched) = watched.filter(|_| cli.format == Format::Table) {
        // What --watch would poll, after the check's own table (the JSON
        // rows carry it in "watch").
        text.push('\n');
        text.push_str(&crate::aligned(
            ["WATCH", "REFERENCE", "COMPARED"],
            &watched.rows(),
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    // A closed pipe (`psc-exec --check | head`) is not a failure of the check.
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Other(format!("cannot write the check: {error}")));
    }
    match (check::failure_summary(&rows), too_large) {
        (None, None) => Ok(0),
        (Some(summary), _) => {
            report("psc-exec", &summary);
            Ok(EXIT_FAILURE)
        }
        (None, Some(error)) => {
            report("psc-exec", &format!("check failed: {error}"));
            Ok(EXIT_FAILURE)
        }
    }
}
