//! `--path`: every parameter under a path becomes a variable (chamber's
//! model). What the paths ask for and how parameter names become variable
//! names: pure, no I/O, no values.

use crate::error::Error;

/// One `--path` to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRequest {
    /// The path as sent to `GetParametersByPath`: starts with `/`, no
    /// trailing `/` (except the root `/` itself).
    pub path: String,
    /// Every level below, not only the direct children.
    pub recursive: bool,
}

/// How a parameter's name becomes a variable's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PathNames {
    /// The name after the path, case kept (`db_url`); deeper levels joined
    /// with `_` under `--recursive`. Anything that is not a variable name is
    /// an error.
    #[default]
    Keep,
    /// chamber's mapping: upper-case, `-` and `.` to `_` (`db-url` ->
    /// `DB_URL`).
    Upper,
}

/// The paths of `--path` flags (each may hold a comma-separated list, as
/// `PSC_EXEC_PATH` does: a comma is not in the name alphabet).
///
/// # Errors
/// A path outside Parameter Store's alphabet, or not starting with `/`.
pub fn requests(paths: &[String], recursive: bool) -> Result<Vec<PathRequest>, Error> {
    let mut requests: Vec<PathRequest> = Vec::new();
    for path in paths.iter().flat_map(|p| p.split(',')).map(str::trim) {
        if path.is_empty() {
            continue;
        }
        let bad = |why: &str| {
            Error::Usage(format!(
                "--path {}: {why}",
                crate::error::escape_controls(path)
            ))
        };
        if !path.starts_with('/') {
            return Err(bad("a path starts with '/'"));
        }
        if let Some(c) = path
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
        {
            return Err(bad(&format!("{c:?} is not allowed (a-z A-Z 0-9 _ . - /)")));
        }
        let trimmed = path.trim_end_matches('/');
        if trimmed.contains("//") {
            return Err(bad("empty level ('//')"));
        }
        let path = if trimmed.is_empty() { "/" } else { trimmed }.to_owned();
        // The same path twice is loaded once, at its last place.
        requests.retain(|r| r.path != path);
        requests.push(PathRequest { path, recursive });
    }
    Ok(requests)
}

/// The variable a parameter under `path` becomes.
///
/// # Errors
/// Why the parameter cannot be a variable (its name in words).
pub fn variable_name(path: &str, parameter: &str, names: PathNames) -> Result<String, String> {
    let prefix = if path == "/" {
        "/"
    } else {
        &format!("{path}/")
    };
    // AWS stores a one-level `/x` as `x`: under the root path it comes back
    // without its slash.
    let relative = parameter
        .strip_prefix(prefix)
        .or_else(|| (path == "/").then_some(parameter))
        .ok_or_else(|| format!("not under {path}"))?;
    let joined = relative.replace('/', "_");
    let name = match names {
        PathNames::Keep => joined,
        PathNames::Upper => joined.to_ascii_uppercase().replace(['-', '.'], "_"),
    };
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(match names {
            PathNames::Keep => format!(
                "'{name}' is not a variable name (letters, digits and _, not starting with a digit; --path-names upper maps - and . to _)"
            ),
            PathNames::Upper => format!(
                "'{name}' is not a variable name (letters, digits and _, not starting with a digit)"
            ),
        });
    }
    if is_protected(&name) {
        return Err(format!(
            "'{name}' may not be set from a path (LD_* and PSC_EXEC_* could change what runs)"
        ));
    }
    Ok(name)
}

/// Variables a path may never set: the dynamic loader's (`LD_PRELOAD`
/// would run code from whoever can write under the path) and psc-exec's
/// own. Any case: a loader or libc may fold it.
pub(crate) fn is_protected(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("LD_") || upper.starts_with("PSC_EXEC_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_normalised_and_checked() {
        let got = requests(
            &[
                "/app/common,/app/prod/".into(),
                "/app/common".into(),
                "/".into(),
            ],
            true,
        )
        .unwrap();
        let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/app/prod", "/app/common", "/"]);
        assert!(got.iter().all(|r| r.recursive));
        for bad in ["app/prod", "/app prod", "/a//b", "/a$b"] {
            assert!(requests(&[bad.into()], false).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_keep_their_case_and_join_levels() {
        let keep = PathNames::Keep;
        assert_eq!(
            variable_name("/app/prod", "/app/prod/db_url", keep).unwrap(),
            "db_url"
        );
        assert_eq!(
            variable_name("/app/prod", "/app/prod/Db/Url", keep).unwrap(),
            "Db_Url"
        );
        assert_eq!(variable_name("/", "/top", keep).unwrap(), "top");
        assert_eq!(variable_name("/", "flat", keep).unwrap(), "flat");
        assert!(
            variable_name("/app/prod", "/app/prod/db-url", keep)
                .unwrap_err()
                .contains("--path-names upper")
        );
        assert!(variable_name("/app/prod", "/app/prod/9lives", keep).is_err());
        let upper = PathNames::Upper;
        assert_eq!(
            variable_name("/app/prod", "/app/prod/db-url.v2", upper).unwrap(),
            "DB_URL_V2"
        );
        for protected in [
            "LD_PRELOAD",
            "ld_preload",
            "PSC_EXEC_TIMEOUT",
            "LD_LIBRARY_PATH",
        ] {
            let parameter = format!("/app/prod/{protected}");
            assert!(
                variable_name("/app/prod", &parameter, keep)
                    .unwrap_err()
                    .contains("may not be set"),
                "{protected}"
            );
        }
        assert!(
            variable_name("/app/prod", "/app/prod/ld-preload", upper)
                .unwrap_err()
                .contains("may not be set")
        );
    }
}
