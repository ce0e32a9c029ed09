//! Parameter Store's rules for names, list paths, tags and descriptions,
//! checked before any call so that the error can name the broken rule.
//! Pure: no I/O. moto enforces almost none of these, so they are tested
//! here.
//!
//! The rules, from the PutParameter reference and the user guide's
//! "requirements and constraints for parameter names", as applied here:
//! - alphabet `a-zA-Z0-9_.-`, plus `/` between hierarchy levels;
//! - a name with `/` levels must start with `/` (`app/db` is not "fully
//!   qualified"); no empty level (`//`), no trailing `/`;
//! - the first level must not begin with `aws` or `ssm` in any case
//!   (`awsKey`, `SSM-x` and `/aws/x` are all refused);
//! - at most 15 levels, a level being one `/`-separated part: the guide's
//!   longest valid example, `/Level-1/L2/.../L14/parameter-name`, has 15;
//! - at most 1011 characters counting the ARN in front of the name
//!   (`arn:aws:ssm:us-east-2:111122223333:parameter/` is 45 of them); the
//!   `/` after `parameter` and a hierarchical name's leading `/` are one
//!   character. The partition follows from the region (`cn-*` is `aws-cn`,
//!   `us-gov-*` is `aws-us-gov`, ...); account ids are always 12 digits.

use std::fmt;

/// Parameter hierarchies are at most 15 levels deep.
pub const MAX_LEVELS: usize = 15;
/// A name may be 1011 characters long, counting the ARN before it.
pub const MAX_NAME_WITH_ARN: usize = 1011;
/// `Description` is at most 1024 characters (PutParameter).
pub const MAX_DESCRIPTION: usize = 1024;
/// Tag keys are 1 to 128 characters.
pub const MAX_TAG_KEY: usize = 128;
/// Tag values are 0 to 256 characters.
pub const MAX_TAG_VALUE: usize = 256;

/// The rule a name, path or tag breaks. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

fn rule<T>(text: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError(text.into()))
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// Check a parameter name against every rule except the length, which
/// needs the region (see [`check_name_length`]).
///
/// # Errors
/// The first rule the name breaks.
pub fn check_name(name: &str) -> Result<(), RuleError> {
    if name.is_empty() {
        return rule("empty name");
    }
    check_alphabet(name)?;
    if name.contains('/') && !name.starts_with('/') {
        return rule("a name with '/' levels must start with '/'");
    }
    check_levels(name)?;
    check_reserved(name.strip_prefix('/').unwrap_or(name))
}

/// The first level may not begin with `aws` or `ssm`, in any case.
fn check_reserved(first: &str) -> Result<(), RuleError> {
    let lower = first.get(..3).map(str::to_ascii_lowercase);
    if matches!(lower.as_deref(), Some("aws" | "ssm")) {
        return rule("begins with 'aws' or 'ssm', which are reserved in any case");
    }
    Ok(())
}

fn check_alphabet(text: &str) -> Result<(), RuleError> {
    match text.chars().find(|c| !name_char(*c)) {
        Some(bad) => rule(format!(
            "contains {}; allowed are a-z A-Z 0-9 _ . - and / between levels",
            describe(bad)
        )),
        None => Ok(()),
    }
}

fn check_levels(name: &str) -> Result<(), RuleError> {
    if name == "/" {
        return rule("no name after '/'");
    }
    if name.contains("//") {
        return rule("empty level ('//')");
    }
    if name.ends_with('/') {
        return rule("ends with '/'");
    }
    let levels = name.trim_start_matches('/').split('/').count();
    if levels > MAX_LEVELS {
        return rule(format!("{levels} levels, more than {MAX_LEVELS}"));
    }
    Ok(())
}

/// The partition a region belongs to.
#[must_use]
pub fn partition(region: &str) -> &'static str {
    const PARTITIONS: [(&str, &str); 6] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-iso-", "aws-iso"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// The length Parameter Store counts for a name: the ARN up to and
/// including `parameter/`, then the name without its leading `/`.
#[must_use]
pub fn length_with_arn(name: &str, region: &str) -> usize {
    let prefix = format!(
        "arn:{}:ssm:{region}:123456789012:parameter/",
        partition(region)
    );
    prefix.len() + name.strip_prefix('/').unwrap_or(name).len()
}

/// Check the 1011-character limit, which counts the ARN's prefix.
///
/// # Errors
/// When the name is too long for this region.
pub fn check_name_length(name: &str, region: &str) -> Result<(), RuleError> {
    let length = length_with_arn(name, region);
    if length > MAX_NAME_WITH_ARN {
        return rule(format!(
            "{length} characters with the ARN prefix in {region}, more than {MAX_NAME_WITH_ARN}"
        ));
    }
    Ok(())
}

/// What `ls` and `ll` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A hierarchy path without trailing `/` (`/` itself for the top).
    Path(String),
    /// Names that begin with this text.
    Prefix(String),
}

/// Check the PATH of `ls`/`ll`: a path when it starts with `/`, else a
/// name prefix (the dotted style, `staging.billing.`).
///
/// # Errors
/// The rule the path or prefix breaks.
pub fn check_selection(text: &str) -> Result<Selection, RuleError> {
    if text.is_empty() {
        return rule("empty path");
    }
    check_alphabet(text)?;
    if !text.starts_with('/') {
        if text.contains('/') {
            return rule("a path must start with '/'");
        }
        return Ok(Selection::Prefix(text.to_owned()));
    }
    if text == "/" {
        return Ok(Selection::Path(text.to_owned()));
    }
    let path = text.strip_suffix('/').unwrap_or(text);
    check_levels(path)?;
    check_reserved(&path[1..])?;
    Ok(Selection::Path(path.to_owned()))
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric()
        || c == ' '
        || c.is_whitespace() && !c.is_control()
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

/// Parse `KEY=VALUE` (the value may be empty and may contain `=`).
///
/// # Errors
/// The tag rule broken: shape, length, alphabet, the reserved `aws:` prefix.
pub fn parse_tag(text: &str) -> Result<(String, String), RuleError> {
    let Some((key, value)) = text.split_once('=') else {
        return rule("expected KEY=VALUE");
    };
    let key_len = key.chars().count();
    if key_len == 0 {
        return rule("empty tag key");
    }
    if key_len > MAX_TAG_KEY {
        return rule(format!("tag key longer than {MAX_TAG_KEY} characters"));
    }
    if value.chars().count() > MAX_TAG_VALUE {
        return rule(format!("tag value longer than {MAX_TAG_VALUE} characters"));
    }
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return rule("tag keys beginning with 'aws:' are reserved");
    }
    if let Some(bad) = text.chars().find(|c| !tag_char(*c)) {
        return rule(format!(
            "tag contains {}; allowed are letters, digits, spaces and _ . : / = + - @",
            describe(bad)
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Check a description's length.
///
/// # Errors
/// When it is longer than Parameter Store allows.
pub fn check_description(text: &str) -> Result<(), RuleError> {
    if text.chars().count() > MAX_DESCRIPTION {
        return rule(format!(
            "description longer than {MAX_DESCRIPTION} characters"
        ));
    }
    Ok(())
}

/// Show a character in a message without letting it act on the terminal.
fn describe(c: char) -> String {
    if c == ' ' {
        "a space".to_owned()
    } else if c.is_whitespace() {
        "whitespace".to_owned()
    } else if c.is_control() || !c.is_ascii() {
        format!("'{}'", c.escape_unicode())
    } else {
        format!("'{c}'")
    }
}

/// A name as shown in a message: control and non-ASCII characters escaped,
/// so that an invalid name cannot act on the terminal.
#[must_use]
pub fn shown(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_graphic()) {
        name.to_owned()
    } else {
        name.escape_debug().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(name: &str) -> String {
        check_name(name).expect_err(name).to_string()
    }

    #[test]
    fn accepts_parameter_store_names() {
        for name in [
            "a",
            "prod.billing.db_url",
            "/a",
            "/Dev/Production/East/Project-ABC/MyParameter",
            "/x/ssm",
            "/x/aws/y",
            "my-aws-key",
            "as",
            "/ss",
            "A_b.C-d",
            "/Level-1/L2/L3/L4/L5/L6/L7/L8/L9/L10/L11/L12/L13/L14/parameter-name",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_the_alphabet_rule() {
        assert!(bad("").contains("empty"));
        assert!(bad("a b").contains("contains a space"));
        assert!(bad("a\tb").contains("contains whitespace"));
        assert!(bad("caf\u{e9}").contains("'\\u{e9}'"));
        assert!(bad("a\u{1b}[31m").contains("'\\u{1b}'"));
        for c in ["$", ":", "#", "*", "@", "+", "=", ",", "\\", "'"] {
            let message = bad(&format!("/app/x{c}y"));
            assert!(
                message.contains(&format!("'{c}'")) && message.contains("allowed are"),
                "{c}: {message}"
            );
        }
    }

    #[test]
    fn names_the_hierarchy_rules() {
        assert!(bad("app/db").contains("must start with '/'"));
        assert!(bad("/").contains("no name"));
        assert!(bad("/app//db").contains("empty level"));
        assert!(bad("/app/").contains("ends with '/'"));
        let fifteen = format!("/{}", vec!["l"; 15].join("/"));
        assert_eq!(check_name(&fifteen), Ok(()));
        let sixteen = format!("/{}", vec!["l"; 16].join("/"));
        assert_eq!(bad(&sixteen), "16 levels, more than 15");
    }

    #[test]
    fn aws_and_ssm_are_reserved_in_any_case() {
        for name in [
            "aws",
            "awsTestParameter",
            "SSM-testparameter",
            "Ssm.x",
            "AwS",
            "/aws/testparam1",
            "/AWS/x",
            "/ssm/x",
            "/awsome/x",
            "/sSm",
        ] {
            assert!(bad(name).contains("'aws' or 'ssm'"), "{name}");
        }
    }

    #[test]
    fn length_counts_the_arn_prefix() {
        // The user guide's example: 45 characters before the name.
        assert_eq!(length_with_arn("ExampleParameterName", "us-east-2"), 65);
        assert_eq!(length_with_arn("/ExampleParameterName", "us-east-2"), 65);
        assert_eq!(length_with_arn("/a/b", "us-east-2"), 48);
        let room = MAX_NAME_WITH_ARN - 45;
        let fits = format!("/{}", "n".repeat(room));
        assert_eq!(check_name_length(&fits, "us-east-2"), Ok(()));
        assert_eq!(check_name_length(&fits[1..], "us-east-2"), Ok(()));
        let over = format!("/{}", "n".repeat(room + 1));
        assert_eq!(
            check_name_length(&over, "us-east-2")
                .unwrap_err()
                .to_string(),
            "1012 characters with the ARN prefix in us-east-2, more than 1011"
        );
        // A longer partition and region leave less room.
        assert!(check_name_length(&fits, "us-gov-west-1").is_err());
        assert!(check_name_length(&fits, "cn-north-1").is_err());
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition("us-iso-east-1"), "aws-iso");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(partition("us-isof-south-1"), "aws-iso-f");
    }

    #[test]
    fn selections() {
        assert_eq!(check_selection("/"), Ok(Selection::Path("/".into())));
        assert_eq!(
            check_selection("/app/prod/"),
            Ok(Selection::Path("/app/prod".into()))
        );
        assert_eq!(
            check_selection("staging.billing."),
            Ok(Selection::Prefix("staging.billing.".into()))
        );
        let err = |t: &str| check_selection(t).unwrap_err().to_string();
        assert!(err("app/prod").contains("must start with '/'"));
        assert!(err("/app//prod").contains("empty level"));
        assert!(err("/aws/service").contains("reserved"));
        assert!(err("/app prod").contains("a space"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn tags() {
        assert_eq!(
            parse_tag("team=billing"),
            Ok(("team".into(), "billing".into()))
        );
        assert_eq!(parse_tag("k="), Ok(("k".into(), String::new())));
        assert_eq!(
            parse_tag("url=a=b:c/d+e-f@g h.i_j"),
            Ok(("url".into(), "a=b:c/d+e-f@g h.i_j".into()))
        );
        assert_eq!(
            parse_tag("équipe=façade"),
            Ok(("équipe".into(), "façade".into()))
        );
        let err = |t: &str| parse_tag(t).unwrap_err().to_string();
        assert!(err("novalue").contains("KEY=VALUE"));
        assert!(err("=v").contains("empty tag key"));
        assert!(err("aws:x=v").contains("reserved"));
        assert!(err("AWS:x=v").contains("reserved"));
        assert!(err("k=a$b").contains("'$'"));
        assert!(err("k=a\nb").contains("whitespace"));
        assert!(err(&format!("{}=v", "k".repeat(129))).contains("128"));
        assert!(err(&format!("k={}", "v".repeat(257))).contains("256"));
        assert!(parse_tag(&format!("{}={}", "k".repeat(128), "v".repeat(256))).is_ok());
    }

    #[test]
    fn descriptions() {
        assert_eq!(check_description(&"é".repeat(1024)), Ok(()));
        assert!(check_description(&"d".repeat(1025)).is_err());
    }

    #[test]
    fn shown_escapes_what_could_act_on_a_terminal() {
        assert_eq!(shown("/app/db"), "/app/db");
        assert_eq!(shown("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(shown("a b"), "a b".escape_debug().to_string());
    }
}
