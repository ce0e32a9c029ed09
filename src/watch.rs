//! `--watch`: poll Parameter Store for the versions of everything a launch
//! resolved and, on a change, hand the supervisor ([`crate::init`]) a child
//! environment resolved again through the launch's own path.
//!
//! What is polled ([`Watched`]): every reference not pinned to a version
//! (`:3` never changes; a label is polled, and compares the version it
//! points to), batched exactly as at launch ([`crate::plan`]), with
//! `WithDecryption=false`, and every `--path` with GetParametersByPath
//! (names and versions: a parameter added or removed is a change).
//! Secrets Manager references carry no useful version through Parameter
//! Store: they are polled only with `--watch-secretsmanager`, decrypted,
//! and compared by a SHA-256 digest of the value.
//!
//! Values: this module reads none. Polls ask for no decryption and keep
//! names and versions; the ciphertext (or a `String` parameter's plain
//! value) that comes back with them stays in its
//! [`crate::secret::SecretValue`], unread, and is dropped with the poll. A
//! Secrets Manager value is kept only as the digest
//! [`crate::values::digest`] computes. The re-resolution is the launch's
//! (`launch`), and its values go straight into the next child's
//! environment.
//!
//! Threads: the poll timer, the calls and the re-resolution run on a
//! thread of their own (every signal blocked, inherited from the
//! supervisor), so the supervisor's `sigwait` loop answers signals at once
//! whatever a poll is doing, as tini's loop does. A prepared child goes
//! over a channel, and a SIGCHLD to this process wakes the supervisor to
//! look (it only ever reaps on SIGCHLD, so a spurious one costs nothing).

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use crate::error::Error;
use crate::init::NextChild;
use crate::launch::FetchOptions;
use crate::paths::PathRequest;
use crate::reference::{Reference, Target};
use crate::resolve::{self, Fetch, Fetches, PathFetch, Settings};

/// Below this interval `--watch` warns: a fleet polling faster eats the
/// throughput its task starts need (40 calls/s per account and region).
pub const LOW_INTERVAL: Duration = Duration::from_secs(60);

/// What is polled, and what is not and why.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// Polled by version (`WithDecryption=false`), without `#key`s,
    /// one per request name.
    polled: Vec<Reference>,
    /// Secrets Manager references polled by digest (`--watch-secretsmanager`).
    secrets: Vec<Reference>,
    /// Pinned to a version: never polled.
    pinned: Vec<Reference>,
    /// Secrets Manager references left alone (no `--watch-secretsmanager`).
    unpolled_secrets: Vec<Reference>,
    /// Listed by GetParametersByPath.
    paths: Vec<PathRequest>,
}

impl Watched {
    /// Sort the launch's references and paths into polled and not.
    #[must_use]
    pub fn new<'a, I>(references: I, paths: &[PathRequest], secretsmanager: bool) -> Self
    where
        I: IntoIterator<Item = &'a Reference>,
    {
        let mut unique: BTreeMap<String, Reference> = BTreeMap::new();
        for reference in references {
            let fetched = reference.without_key();
            unique
                .entry(fetched.request_name().to_owned())
                .or_insert(fetched);
        }
        let mut watched = Self {
            paths: paths.to_vec(),
            ..Self::default()
        };
        for reference in unique.into_values() {
            let secret = matches!(reference.target(), Target::SecretsManager(_));
            if secret {
                if secretsmanager {
                    watched.secrets.push(reference);
                } else {
                    watched.unpolled_secrets.push(reference);
                }
            } else if pinned(&reference) {
                watched.pinned.push(reference);
            } else {
                watched.polled.push(reference);
            }
        }
        watched
    }

    /// Whether a poll would make any call at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.polled.is_empty() && self.secrets.is_empty() && self.paths.is_empty()
    }

    /// Calls one poll makes when nothing fails: one GetParameters per
    /// batch as planned at launch, one per batch of secrets, and at least
    /// one GetParametersByPath page per path (one more per 10 parameters
    /// listed at launch).
    #[must_use]
    pub fn calls_per_poll(&self, listed: &Versions) -> usize {
        // The region only separates ARNs of other regions: any name works.
        let batches = crate::plan::plan(&self.polled, "").len();
        let secrets = crate::plan::plan(&self.secrets, "").len();
        let pages: usize = self
            .paths
            .iter()
            .map(|p| {
                let listed = listed.paths.get(&p.path).map_or(0, BTreeMap::len);
                listed.div_ceil(crate::plan::BATCH_SIZE).max(1)
            })
            .sum();
        batches + secrets + pages
    }

    /// `--check --watch`'s word for a row of the check: `polled`, `pinned`
    /// or `not polled`. A path's rows are polled with their path.
    #[must_use]
    pub fn word_for(&self, reference: &str, from_path: bool) -> &'static str {
        if from_path {
            return "polled";
        }
        let Ok(reference) = Reference::parse(reference) else {
            return "not polled";
        };
        let name = reference.without_key().request_name().to_owned();
        let has = |list: &[Reference]| list.iter().any(|r| r.request_name() == name);
        if has(&self.polled) || has(&self.secrets) {
            "polled"
        } else if has(&self.pinned) {
            "pinned"
        } else {
            "not polled"
        }
    }

    /// `--check --watch`'s rows: what, the reference or path, and why.
    #[must_use]
    pub fn rows(&self) -> Vec<[String; 3]> {
        let mut rows = Vec::new();
        for r in &self.polled {
            let why = if r.selector().is_some() {
                "the version its label points to"
            } else {
                "its version"
            };
            rows.push(["polled".into(), r.as_str().to_owned(), why.into()]);
        }
        for r in &self.secrets {
            rows.push([
                "polled".into(),
                r.as_str().to_owned(),
                "a digest of its value (a billed GetSecretValue per poll)".into(),
            ]);
        }
        for p in &self.paths {
            rows.push([
                "polled".into(),
                format!("--path {}", p.path),
                "the names and versions under it".into(),
            ]);
        }
        for r in &self.pinned {
            rows.push([
                "pinned".into(),
                r.as_str().to_owned(),
                "a version never changes".into(),
            ]);
        }
        for r in &self.unpolled_secrets {
            rows.push([
                "not polled".into(),
                r.as_str().to_owned(),
                "Secrets Manager: only with --watch-secretsmanager".into(),
            ]);
        }
        rows
    }
}

/// A reference pinned to a version number (`name:3`).
fn pinned(reference: &Reference) -> bool {
    reference
        .selector()
        .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
}

/// What a poll saw: versions and names, never a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versions {
    /// Each polled request name's version (`None`: missing).
    refs: BTreeMap<String, Option<i64>>,
    /// Each polled secret's SHA-256 digest (`None`: missing).
    secrets: BTreeMap<String, Option<Vec<u8>>>,
    /// Each path's parameters and their versions.
    paths: BTreeMap<String, BTreeMap<String, i64>>,
}

impl Versions {
    /// The versions of what `watched` polls, from any of `fetches` (a
    /// launch's, or a poll's two: versions and secrets).
    #[must_use]
    pub fn of(watched: &Watched, fetches: &[&Fetches]) -> Self {
        let find = |r: &Reference| fetches.iter().find_map(|f| f.get(r));
        let refs = watched
            .polled
            .iter()
            .map(|r| {
                let version = match find(r) {
                    Some(Fetch::Found(fetched)) => Some(fetched.version),
                    _ => None,
                };
                (r.request_name().to_owned(), version)
            })
            .collect();
        let secrets = watched
            .secrets
            .iter()
            .map(|r| {
                let digest = match find(r) {
                    Some(Fetch::Found(fetched)) => Some(crate::values::digest(fetched)),
                    _ => None,
                };
                (r.request_name().to_owned(), digest)
            })
            .collect();
        let paths = fetches
            .iter()
            .flat_map(|f| f.paths())
            .filter_map(|(request, fetch)| match fetch {
                PathFetch::Found(found) => Some((
                    request.path.clone(),
                    found
                        .iter()
                        .map(|(name, fetched)| (name.clone(), fetched.version))
                        .collect(),
                )),
                PathFetch::Failed(_) => None,
            })
            .collect();
        Self {
            refs,
            secrets,
            paths,
        }
    }

    /// The names whose version (or digest, or presence) differs from
    /// `before`'s, for the log.
    #[must_use]
    pub fn changed_since(&self, before: &Self) -> Vec<String> {
        let mut changed: Vec<String> = Vec::new();
        for (name, version) in &self.refs {
            if before.refs.get(name) != Some(version) {
                changed.push(name.clone());
            }
        }
        for (name, digest) in &self.secrets {
            if before.secrets.get(name) != Some(digest) {
                changed.push(name.clone());
            }
        }
        let empty = BTreeMap::new();
        for (path, now) in &self.paths {
            let then = before.paths.get(path).unwrap_or(&empty);
            for (name, version) in now {
                if then.get(name) != Some(version) {
                    changed.push(name.clone());
                }
            }
            for name in then.keys() {
                if !now.contains_key(name) {
                    changed.push(format!("{name} (removed)"));
                }
            }
        }
        changed.sort();
        changed.dedup();
        changed
    }
}

/// How the watch runs: `--watch`, `--restart-splay` and the launch's
/// resolution options.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// `--watch`.
    pub interval: Duration,
    /// `--restart-splay`.
    pub splay: Option<Duration>,
    /// The launch's `--region`, `--timeout`, ... (no `--splay`).
    pub fetch: FetchOptions,
}

/// The launch's way from the environment to a child, run again: what the
/// next child gets, and the versions it got.
pub type Prepare = Box<dyn FnMut(&Watched) -> Result<(NextChild, Versions), Error> + Send>;

/// `interval` with +-20% jitter, so a fleet started together does not
/// poll in step.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.8 + 0.4 * fastrand::f64())
}

/// Start polling on a thread of its own; each change that resolves again
/// comes out of the receiver as the next child (the supervisor woken with
/// a SIGCHLD). Logs, at start, the calls it will make per minute, and
/// warns about an interval under [`LOW_INTERVAL`].
///
/// # Errors
/// The thread cannot be started.
pub fn start(
    watched: Watched,
    baseline: Versions,
    options: WatchOptions,
    mut prepare: Prepare,
) -> Result<mpsc::Receiver<NextChild>, Error> {
    let (sender, receiver) = mpsc::channel();
    if watched.is_empty() {
        tracing::info!(
            "--watch: nothing to poll (no reference, or each pinned to a version or a Secrets Manager one without --watch-secretsmanager)"
        );
        return Ok(receiver);
    }
    let per_poll = watched.calls_per_poll(&baseline);
    let per_minute = per_poll as f64 * 60.0 / options.interval.as_secs_f64();
    tracing::info!(
        interval = %crate::error::duration_text(options.interval),
        calls_per_poll = per_poll,
        calls_per_minute = format!("{per_minute:.1}"),
        polled = watched.polled.len() + watched.secrets.len(),
        paths = watched.paths.len(),
        pinned = watched.pinned.len(),
        "watching: {per_minute:.1} calls per minute (from the 40 per second an account and region share)"
    );
    if options.interval < LOW_INTERVAL {
        crate::child::warn(&format!(
            "--watch {}: polling more often than every minute spends the account's shared Parameter Store throughput ({per_minute:.1} calls per minute for this process alone)",
            crate::error::duration_text(options.interval)
        ));
    }
    std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || {
            let mut baseline = baseline;
            loop {
                std::thread::sleep(jittered(options.interval));
                let now = match poll(&watched, &options.fetch) {
                    Ok(now) => now,
                    Err(error) => {
                        crate::child::warn(&format!(
                            "--watch: poll failed, trying again next interval: {error}"
                        ));
                        continue;
                    }
                };
                let changed = now.changed_since(&baseline);
                if now == baseline {
                    tracing::debug!("poll: no change");
                    continue;
                }
                tracing::info!(changed = ?changed, "poll: a change; resolving again");
                let (next, versions) = match prepare(&watched) {
                    Ok(prepared) => prepared,
                    Err(error) => {
                        crate::error::report(
                            "psc-exec",
                            &format!(
                                "--watch: {} changed, but resolving again failed (the running child is kept; trying again next interval): {error}",
                                changed.join(", ")
                            ),
                        );
                        continue;
                    }
                };
                baseline = versions;
                if let Some(splay) = options.splay {
                    let pause = crate::launch::splayed(splay);
                    tracing::debug!(pause_ms = pause.as_millis(), "restart splay");
                    std::thread::sleep(pause);
                }
                if sender.send(next).is_err() {
                    return;
                }
                crate::init::wake();
            }
        })
        .map_err(|e| Error::Other(format!("cannot start the --watch thread: {e}")))?;
    Ok(receiver)
}

/// One poll: the versions of every polled reference and path, and the
/// digests of the secrets, on a runtime that is gone when this returns.
fn poll(watched: &Watched, options: &FetchOptions) -> Result<Versions, Error> {
    let runtime = crate::runtime()?;
    let polled = runtime.block_on(async {
        let settings = Settings {
            keep_going: false,
            with_decryption: false,
            ..options.settings()?
        };
        let region = options.region.as_deref();
        let versions =
            resolve::resolve(&watched.polled, &watched.paths, &[], region, &settings).await?;
        let secrets = if watched.secrets.is_empty() {
            Fetches::default()
        } else {
            let decrypted = Settings {
                with_decryption: true,
                ..settings.clone()
            };
            resolve::resolve(&watched.secrets, &[], &[], region, &decrypted).await?
        };
        Ok(Versions::of(watched, &[&versions, &secrets]))
    });
    runtime.shutdown_background();
    polled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(texts: &[&str]) -> Vec<Reference> {
        texts.iter().map(|t| Reference::parse(t).unwrap()).collect()
    }

    #[test]
    fn pinned_versions_and_secrets_are_not_polled() {
        let all = refs(&[
            "/app/a",
            "/app/a#key",
            "/app/b:3",
            "/app/c:live",
            "/aws/reference/secretsmanager/db",
        ]);
        let paths = [PathRequest {
            path: "/app/p".into(),
            recursive: false,
        }];
        let watched = Watched::new(&all, &paths, false);
        let rows: Vec<String> = watched
            .rows()
            .iter()
            .map(|[what, reference, _]| format!("{what} {reference}"))
            .collect();
        assert_eq!(
            rows,
            [
                "polled /app/a",
                "polled /app/c:live",
                "polled --path /app/p",
                "pinned /app/b:3",
                "not polled /aws/reference/secretsmanager/db"
            ]
        );
        assert_eq!(watched.calls_per_poll(&Versions::default()), 2);
        let with_secrets = Watched::new(&all, &paths, true);
        assert_eq!(with_secrets.calls_per_poll(&Versions::default()), 3);
        assert!(Watched::new(&refs(&["/x:1"]), &[], false).is_empty());
        assert_eq!(watched.word_for("/app/a#key", false), "polled");
        assert_eq!(watched.word_for("/app/b:3", false), "pinned");
        assert_eq!(
            watched.word_for("/aws/reference/secretsmanager/db", false),
            "not polled"
        );
        assert_eq!(
            with_secrets.word_for("/aws/reference/secretsmanager/db", false),
            "polled"
        );
        assert_eq!(watched.word_for("/app/p/x", true), "polled");
    }

    #[test]
    fn changes_name_what_changed_and_paths_count_additions_and_removals() {
        let mut before = Versions::default();
        before.refs.insert("/a".into(), Some(1));
        before.refs.insert("/b".into(), Some(2));
        before
            .paths
            .insert("/p".into(), [("/p/x".to_owned(), 1)].into_iter().collect());
        let mut after = before.clone();
        assert!(after.changed_since(&before).is_empty());
        after.refs.insert("/b".into(), Some(3));
        after
            .paths
            .insert("/p".into(), [("/p/y".to_owned(), 1)].into_iter().collect());
        assert_eq!(
            after.changed_since(&before),
            ["/b", "/p/x (removed)", "/p/y"]
        );
        let mut gone = before.clone();
        gone.refs.insert("/a".into(), None);
        assert_eq!(gone.changed_since(&before), ["/a"]);
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_splay_within_its_bound() {
        let (mut low, mut high) = (Duration::MAX, Duration::ZERO);
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(10));
            assert!(d >= Duration::from_secs(8) && d <= Duration::from_secs(12));
            low = low.min(d);
            high = high.max(d);
            assert!(
                crate::launch::splayed(Duration::from_millis(300)) <= Duration::from_millis(300)
            );
        }
        // Spread over the range, not stuck at one end.
        assert!(low < Duration::from_secs(9) && high > Duration::from_secs(11));
        assert_eq!(crate::launch::splayed(Duration::ZERO), Duration::ZERO);
    }
}
