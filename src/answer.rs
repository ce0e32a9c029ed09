//! Answers: matching a `GetParameters` response to the references asked,
//! by name and ARN, never by position. Pure: no I/O; values are moved into
//! [`SecretValue`]s unread.

use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
use aws_sdk_ssm::types::Parameter;

use crate::error::{AwsFailure, Error};
use crate::reference::{Reference, Target};
use crate::resolve::{Fetch, Fetched};
use crate::secret::SecretValue;

/// The identity a name in a response stands for (see [`Reference::identity`]).
fn identity_of(name: &str) -> String {
    Reference::parse(name).map_or_else(|_| name.to_owned(), |r| r.identity().to_owned())
}

/// Map a response back to the requests, by name (never by position).
///
/// # Errors
/// A response that does not answer the requests: a parameter without a
/// name or value, one returned twice, a version other than the selector's,
/// a request neither found nor invalid.
pub(crate) fn match_response(
    refs: &[Reference],
    output: GetParametersOutput,
) -> Result<Vec<(Reference, Fetch)>, Error> {
    let bad = |detail: String| Error::Aws {
        failure: AwsFailure::BadResponse,
        names: refs.iter().map(|r| r.request_name().to_owned()).collect(),
        detail,
    };
    let mut slots: Vec<Option<Fetch>> = refs.iter().map(|_| None).collect();
    let arn_matches =
        |wanted: &str, got: &str| got == wanted || got.starts_with(&format!("{wanted}:"));
    let find = |name: &str, arn: Option<&str>| -> Option<usize> {
        refs.iter()
            .position(|r| match r.target() {
                Target::Arn { arn: wanted, .. } => {
                    arn.is_some_and(|a| arn_matches(wanted, a)) || name == wanted
                }
                _ => false,
            })
            .or_else(|| {
                refs.iter()
                    .position(|r| r.request_name() == name || r.base_name() == name)
            })
            .or_else(|| {
                let identity = identity_of(name);
                refs.iter().position(|r| r.identity() == identity)
            })
            // An ARN request is only ever answered by that ARN: a response
            // that names another (another account's parameter of the same
            // name) is not its answer, whatever its name says.
            .filter(|&i| match (refs[i].target(), arn) {
                (Target::Arn { arn: wanted, .. }, Some(got)) => arn_matches(wanted, got),
                _ => true,
            })
    };
    for parameter in output.parameters.unwrap_or_default() {
        let Parameter {
            name,
            r#type,
            value,
            version,
            arn,
            last_modified_date,
            ..
        } = parameter;
        let Some(name) = name else {
            return Err(bad("a parameter without a name".into()));
        };
        let Some(index) = find(&name, arn.as_deref()) else {
            tracing::debug!(%name, "ignoring a parameter that was not asked for");
            continue;
        };
        let Some(value) = value else {
            return Err(bad(format!("{name} came back without a value")));
        };
        if slots[index].is_some() {
            return Err(bad(format!("{name} came back twice")));
        }
        // A version selector names the version: any other is the wrong
        // value, whatever the response says it is. (Parameter versions
        // start at 1; a Secrets Manager reference reports 0.)
        let wanted = refs[index].selector().and_then(|s| s.parse::<i64>().ok());
        if let Some(wanted) = wanted
            && version != wanted
            && !matches!(refs[index].target(), Target::SecretsManager(_))
        {
            return Err(bad(format!(
                "{} came back as version {version}",
                refs[index].request_name()
            )));
        }
        slots[index] = Some(Fetch::Found(Fetched::new(
            SecretValue::new(value),
            r#type.map_or_else(|| "unknown".to_owned(), |t| t.as_str().to_owned()),
            version,
            last_modified_date,
        )));
    }
    for name in output.invalid_parameters.unwrap_or_default() {
        if let Some(index) = find(&name, None) {
            slots[index].get_or_insert(Fetch::Missing);
        }
    }
    let mut results = Vec::with_capacity(refs.len());
    for (reference, slot) in refs.iter().zip(slots) {
        let Some(fetch) = slot else {
            return Err(bad(format!(
                "{} is neither in Parameters nor in InvalidParameters",
                reference.request_name()
            )));
        };
        results.push((reference.clone(), fetch));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
    use aws_sdk_ssm::types::{Parameter, ParameterType};

    use super::match_response;
    use crate::reference::Reference;
    use crate::resolve::Fetch;

    const ACCOUNT_ARN: &str = "arn:aws:ssm:us-east-1:111122223333:parameter";

    fn param(name: &str, value: &str, version: i64, arn: Option<&str>) -> Parameter {
        Parameter::builder()
            .name(name)
            .value(value)
            .version(version)
            .r#type(ParameterType::SecureString)
            .set_arn(arn.map(str::to_owned))
            .build()
    }

    /// What each request came to: `found:<version>:<value>` or `missing`;
    /// or the error.
    fn outcome(
        requests: &[&str],
        parameters: Vec<Parameter>,
        invalid: &[&str],
    ) -> Result<Vec<String>, String> {
        let refs: Vec<Reference> = requests
            .iter()
            .map(|r| Reference::parse(r).unwrap())
            .collect();
        let output = GetParametersOutput::builder()
            .set_parameters(Some(parameters))
            .set_invalid_parameters(Some(invalid.iter().map(|s| (*s).to_owned()).collect()))
            .build();
        match match_response(&refs, output) {
            Ok(results) => Ok(results
                .into_iter()
                .map(|(_, fetch)| match fetch {
                    Fetch::Found(f) => format!("found:{}:{}", f.version, f.value().expose()),
                    Fetch::Missing => "missing".to_owned(),
                    Fetch::Failed(_) => "failed".to_owned(),
                })
                .collect()),
            Err(error) => Err(error.to_string()),
        }
    }

    /// What, the requests, the parameters answered, the invalid names, and
    /// the outcome expected (or a part of the error).
    type Case = (
        &'static str,
        Vec<&'static str>,
        Vec<Parameter>,
        Vec<&'static str>,
        Result<Vec<&'static str>, &'static str>,
    );

    #[test]
    fn answers_shaped_like_aws_and_like_moto_match_by_name() {
        let arn = |n: &str| format!("{ACCOUNT_ARN}/{n}");
        let cases: Vec<Case> = vec![
            (
                "AWS: sorted by name, selector apart from the name",
                vec!["/b", "/a:3"],
                vec![
                    param("/a", "va", 3, Some(&arn("a"))),
                    param("/b", "vb", 1, Some(&arn("b"))),
                ],
                vec![],
                Ok(vec!["found:1:vb", "found:3:va"]),
            ),
            (
                "moto: any order, no selector, unknown names invalid",
                vec!["/a", "/gone", "/b"],
                vec![param("/b", "vb", 2, None), param("/a", "va", 1, None)],
                vec!["/gone"],
                Ok(vec!["found:1:va", "missing", "found:2:vb"]),
            ),
            (
                "one level: /flat is stored as flat",
                vec!["/flat"],
                vec![param("flat", "vf", 1, None)],
                vec![],
                Ok(vec!["found:1:vf"]),
            ),
            (
                "Secrets Manager: AWS answers under the reference path",
                vec!["/aws/reference/secretsmanager/db"],
                vec![param("/aws/reference/secretsmanager/db", "s", 0, None)],
                vec![],
                Ok(vec!["found:0:s"]),
            ),
            (
                "Secrets Manager: moto answers under the secret's name",
                vec!["/aws/reference/secretsmanager/db:AWSPREVIOUS"],
                vec![param("db", "s", 0, None)],
                vec![],
                Ok(vec!["found:0:s"]),
            ),
            (
                "an ARN request is answered by its ARN",
                vec!["arn:aws:ssm:us-east-1:111122223333:parameter/app/x"],
                vec![param("/app/x", "vx", 4, Some(&arn("app/x")))],
                vec![],
                Ok(vec!["found:4:vx"]),
            ),
            (
                "another account's parameter of the same name is not the answer",
                vec!["arn:aws:ssm:us-east-1:111122223333:parameter/app/x"],
                vec![param(
                    "/app/x",
                    "WRONG",
                    4,
                    Some("arn:aws:ssm:us-east-1:999999999999:parameter/app/x"),
                )],
                vec![],
                Err("neither in Parameters nor in InvalidParameters"),
            ),
            (
                "a version other than the selector's is refused",
                vec!["/a:2"],
                vec![param("/a", "v3", 3, None)],
                vec![],
                Err("came back as version 3"),
            ),
            (
                "the same parameter twice",
                vec!["/a"],
                vec![param("/a", "x", 1, None), param("/a", "y", 1, None)],
                vec![],
                Err("came back twice"),
            ),
            (
                "a parameter without a value",
                vec!["/a"],
                vec![Parameter::builder().name("/a").version(1).build()],
                vec![],
                Err("came back without a value"),
            ),
            (
                "parameters nobody asked for are ignored",
                vec!["/a"],
                vec![param("/zzz", "no", 1, None), param("/a", "va", 1, None)],
                vec![],
                Ok(vec!["found:1:va"]),
            ),
        ];
        for (what, requests, parameters, invalid, expected) in cases {
            let got = outcome(&requests, parameters, &invalid);
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{what}"),
                (Err(got), Err(expected)) => assert!(got.contains(expected), "{what}: {got}"),
                (got, expected) => panic!("{what}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
