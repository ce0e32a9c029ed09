//! `--check`: resolve exactly as a launch would and report, per reference
//! variable (and path and baked variable), whether it would resolve. Never a value: not even a prefix or a
//! length.

use crate::error::{AwsFailure, Error, Unresolved};
use crate::resolve::{BakedFetch, Fetch, Fetches, PathFetch};
use crate::scan::Scan;
use crate::values::PathVars;
use crate::values::{self, VarFailure};

/// Output format of `--check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// A JSON array of rows for pipelines.
    Json,
}

/// Whether a reference would resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It would.
    Ok,
    /// The parameter (or version, label, secret) does not exist.
    Missing,
    /// Access to the parameter or its KMS key is denied.
    Denied,
    /// The value is not a JSON object, or lacks the `#key`.
    BadKey(Unresolved),
    /// The value cannot be an environment variable (a NUL byte).
    BadValue,
    /// A `--path` or baked variable the environment sets itself: it wins.
    Shadowed,
    /// A baked ciphertext KMS would not decrypt (its error code: an edited
    /// `arn`, a damaged ciphertext, a disabled key), or whose value is not
    /// UTF-8.
    Undecryptable(String),
}

impl Status {
    /// The status word in the table and JSON.
    #[must_use]
    pub fn word(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Missing => "missing",
            Self::Denied => "denied",
            Self::BadKey(_) => "bad key",
            Self::BadValue => "bad value",
            Self::Shadowed => "shadowed",
            Self::Undecryptable(_) => "cannot decrypt",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::BadKey(Unresolved::KeyNotFound(key)) => Some(format!("key '{key}' not found")),
            Self::BadKey(Unresolved::NotJsonObject(key)) => {
                Some(format!("value is not a JSON object (key '{key}')"))
            }
            Self::BadValue => Some("contains a NUL byte".into()),
            Self::Shadowed => Some("set in the environment, which wins".into()),
            Self::Undecryptable(detail) => Some(detail.clone()),
            _ => None,
        }
    }
}

/// One reference variable's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The variable.
    pub variable: String,
    /// The reference as written.
    pub reference: String,
    /// The parameter type, when it was fetched.
    pub kind: Option<String>,
    /// The version, when it was fetched.
    pub version: Option<i64>,
    /// Whether it would resolve.
    pub status: Status,
    /// The `--path` it comes from, for a path's variable.
    pub path: Option<String>,
    /// The file it would be written to, for a `SECRET_FILE` variable.
    pub file: Option<String>,
    /// With `--watch`: `polled`, `pinned` or `not polled`.
    pub watch: Option<&'static str>,
    /// Whether it is a baked variable (`--baked`).
    pub baked: bool,
}

/// The rows for every reference variable, sorted by variable.
///
/// # Errors
/// A call that failed for a reason other than access (throttling, network,
/// credentials): the check could not be made.
pub fn rows(scan: &Scan, fetches: &Fetches, dir: &std::path::Path) -> Result<Vec<Row>, Error> {
    let mut rows = Vec::new();
    for var in scan.secrets() {
        let mut row = row_for(
            &var.name,
            &var.reference,
            fetches,
            values::value_for(var, fetches),
        )?;
        if var.file {
            row.file = Some(dir.join(&var.name).display().to_string());
        }
        rows.push(row);
    }
    // A template: one row per placeholder, `DB_URL{1}`, `DB_URL{2}`, ...
    for var in scan.templates() {
        for (i, reference) in var.template.references().enumerate() {
            let value = values::reference_value(reference, fetches);
            rows.push(row_for(
                &format!("{}{{{}}}", var.name, i + 1),
                reference,
                fetches,
                value,
            )?);
        }
    }
    rows.sort_by(|a, b| a.variable.cmp(&b.variable));
    Ok(rows)
}

fn row_for(
    variable: &str,
    reference: &crate::reference::Reference,
    fetches: &Fetches,
    value: Result<crate::secret::SecretValue, VarFailure>,
) -> Result<Row, Error> {
    let (kind, version) = match fetches.get(reference) {
        Some(Fetch::Found(fetched)) => (Some(fetched.kind.clone()), Some(fetched.version)),
        _ => (None, None),
    };
    let status = match value {
        Ok(value) if value.expose().contains('\0') => Status::BadValue,
        Ok(_) => Status::Ok,
        Err(VarFailure::Unresolved(Unresolved::NotFound)) => Status::Missing,
        Err(VarFailure::Unresolved(Unresolved::ContainsNul)) => Status::BadValue,
        Err(VarFailure::Unresolved(reason)) => Status::BadKey(reason),
        Err(VarFailure::Call(error)) => match &*error {
            Error::Aws {
                failure: AwsFailure::AccessDenied | AwsFailure::Kms,
                ..
            } => Status::Denied,
            other => return Err(Error::Other(other.to_string())),
        },
    };
    Ok(Row {
        variable: variable.to_owned(),
        reference: reference.as_str().to_owned(),
        kind,
        version,
        status,
        path: None,
        file: None,
        watch: None,
        baked: false,
    })
}

/// The rows of the paths, after the references': every variable a path
/// would set (or the environment shadows), then a `missing` row for each
/// path that held nothing, and a `denied` one for each it may not read.
///
/// # Errors
/// A path whose calls failed for a reason other than access.
pub fn path_rows(fetches: &Fetches, vars: &PathVars) -> Result<Vec<Row>, Error> {
    let mut rows: Vec<Row> = vars
        .vars
        .iter()
        .map(|var| Row {
            variable: var.name.clone(),
            reference: var.parameter.clone(),
            kind: Some(var.kind.clone()),
            version: Some(var.version),
            status: if var.shadowed {
                Status::Shadowed
            } else {
                Status::Ok
            },
            path: Some(var.path.clone()),
            file: None,
            watch: None,
            baked: false,
        })
        .collect();
    let empty_row = |path: &str, status| Row {
        variable: "-".into(),
        reference: path.to_owned(),
        kind: None,
        version: None,
        status,
        path: Some(path.to_owned()),
        file: None,
        watch: None,
        baked: false,
    };
    rows.extend(
        vars.empty
            .iter()
            .map(|path| empty_row(path, Status::Missing)),
    );
    for (request, fetch) in fetches.paths() {
        if let PathFetch::Failed(error) = fetch {
            match &**error {
                Error::Aws {
                    failure: AwsFailure::AccessDenied | AwsFailure::Kms,
                    ..
                } => rows.push(empty_row(&request.path, Status::Denied)),
                other => return Err(Error::Other(other.to_string())),
            }
        }
    }
    Ok(rows)
}

/// The rows of a baked file, after the paths': one per entry, its
/// reference the parameter's ARN as baked. Never a value.
///
/// # Errors
/// A Decrypt that failed for a reason other than the entry itself
/// (throttling, network, credentials): the check could not be made.
pub fn baked_rows(fetches: &Fetches, vars: &PathVars) -> Result<Vec<Row>, Error> {
    let mut rows = Vec::new();
    for (entry, fetch) in fetches.baked() {
        let status = match fetch {
            BakedFetch::Found(value) if !values::baked_value_usable(value) => Status::BadValue,
            BakedFetch::Found(_) => {
                if vars
                    .baked
                    .iter()
                    .any(|v| v.name == entry.name && v.shadowed)
                {
                    Status::Shadowed
                } else {
                    Status::Ok
                }
            }
            BakedFetch::Failed(AwsFailure::AccessDenied | AwsFailure::Kms, _) => Status::Denied,
            BakedFetch::Failed(
                AwsFailure::Other(_) | AwsFailure::BadResponse | AwsFailure::NotFound,
                detail,
            ) => Status::Undecryptable(detail.clone()),
            BakedFetch::Failed(_, detail) => {
                return Err(crate::resolve::baked_error(entry, detail));
            }
        };
        rows.push(Row {
            variable: entry.name.clone(),
            reference: entry.arn.clone(),
            kind: None,
            version: None,
            status,
            path: None,
            file: None,
            watch: None,
            baked: true,
        });
    }
    Ok(rows)
}

/// Aligned columns with a header.
#[must_use]
pub fn table(rows: &[Row]) -> String {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            let mut details: Vec<String> = row.status.detail().into_iter().collect();
            if let Some(path) = &row.path {
                details.push(format!("from --path {path}"));
            }
            if let Some(file) = &row.file {
                details.push(format!("file {file}"));
            }
            if row.baked {
                details.push("baked".into());
            }
            let status = if details.is_empty() {
                row.status.word().to_owned()
            } else {
                format!("{} ({})", row.status.word(), details.join(", "))
            };
            [
                row.variable.clone(),
                row.reference.clone(),
                row.kind.clone().unwrap_or_else(|| "-".into()),
                row.version.map_or_else(|| "-".into(), |v| v.to_string()),
                status,
            ]
        })
        .collect();
    crate::aligned(
        ["VARIABLE", "REFERENCE", "TYPE", "VERSION", "STATUS"],
        &cells,
    )
}

/// A JSON array of rows, one object each.
#[must_use]
pub fn json(rows: &[Row]) -> String {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let mut value = serde_json::json!({
                "variable": row.variable,
                "reference": row.reference,
                "type": row.kind,
                "version": row.version,
                "status": row.status.word(),
                "detail": row.status.detail(),
                "path": row.path,
                "file": row.file,
                "baked": row.baked,
            });
            if let (Some(watch), Some(object)) = (row.watch, value.as_object_mut()) {
                object.insert("watch".into(), watch.into());
            }
            value
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}

/// The one-line summary for stderr when some reference would not resolve.
#[must_use]
pub fn failure_summary(rows: &[Row]) -> Option<String> {
    let failed: Vec<String> = rows
        .iter()
        .filter(|row| !matches!(row.status, Status::Ok | Status::Shadowed))
        .map(|row| {
            let what = row
                .status
                .detail()
                .unwrap_or_else(|| row.status.word().to_owned());
            format!("{} -> {} ({what})", row.variable, row.reference)
        })
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "check failed: {} of {} references would not resolve: {}",
            failed.len(),
            rows.len(),
            failed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        variable: &str,
        reference: &str,
        kind: Option<&str>,
        version: Option<i64>,
        status: Status,
    ) -> Row {
        Row {
            variable: variable.into(),
            reference: reference.into(),
            kind: kind.map(Into::into),
            version,
            status,
            path: None,
            file: None,
            watch: None,
            baked: false,
        }
    }

    #[test]
    fn renders_a_table_and_json() {
        let rows = vec![
            row(
                "DB_URL",
                "/app/prod/db_url",
                Some("SecureString"),
                Some(3),
                Status::Ok,
            ),
            row(
                "API",
                "/app/api#token",
                Some("String"),
                Some(1),
                Status::BadKey(Unresolved::KeyNotFound("token".into())),
            ),
            row("GONE", "/app/gone", None, None, Status::Missing),
        ];
        assert_eq!(
            table(&rows),
            "VARIABLE  REFERENCE         TYPE          VERSION  STATUS\n\
             DB_URL    /app/prod/db_url  SecureString  3        ok\n\
             API       /app/api#token    String        1        bad key (key 'token' not found)\n\
             GONE      /app/gone         -             -        missing\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&json(&rows)).unwrap();
        assert_eq!(parsed[0]["status"], "ok");
        assert_eq!(parsed[0]["version"], 3);
        assert_eq!(parsed[1]["status"], "bad key");
        assert_eq!(parsed[2]["type"], serde_json::Value::Null);
        assert_eq!(
            failure_summary(&rows).unwrap(),
            "check failed: 2 of 3 references would not resolve: API -> /app/api#token (key 'token' not found), GONE -> /app/gone (missing)"
        );
        assert_eq!(failure_summary(&rows[..1]), None);
    }
}
