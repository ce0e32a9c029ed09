//! Parsing and validating references: the text after `SECRET ` in a
//! variable's value. Pure: no I/O, no AWS types.
//!
//! ```text
//! reference := target [":" selector] ["#" key]
//! target    := name                                  staging.billing.db_url, /app/prod/db_url
//!            | "/aws/reference/secretsmanager/" id   a Secrets Manager secret through Parameter Store
//!            | "arn:" partition ":ssm:" region ":" account ":parameter" ["/"] name
//! selector  := version | label                       /app/db_url:3, /app/db_url:live
//! key       := one top-level key of a JSON object    /aws/reference/secretsmanager/prod/db#password
//! ```

use std::fmt;

/// Prefix that makes Parameter Store read a Secrets Manager secret.
pub const SECRETS_MANAGER_PREFIX: &str = "/aws/reference/secretsmanager/";

/// `GetParameters` accepts names of up to 2048 characters (selector included).
const MAX_REQUEST_NAME: usize = 2048;

/// Labels are at most 100 characters (`LabelParameterVersion`).
const MAX_SELECTOR: usize = 100;

/// A parsed reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    text: String,
    target: Target,
    selector: Option<String>,
    key: Option<String>,
    /// The name sent to `GetParameters` (base name and selector), built
    /// once: every lookup afterwards borrows it.
    request: String,
    /// Length of the base name at the start of `request`.
    base_len: usize,
}

/// What a reference points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A parameter in the caller's account and region.
    Name(String),
    /// A Secrets Manager secret id, read through Parameter Store.
    SecretsManager(String),
    /// A parameter by ARN: required for parameters shared from another account.
    Arn {
        /// The ARN without selector.
        arn: String,
        /// The region named in the ARN: the call for it goes there.
        region: String,
        /// The parameter name inside the ARN.
        name: String,
    },
}

/// Why a reference was rejected. The message names the rule, never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceError(String);

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReferenceError {}

impl ReferenceError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, ReferenceError> {
    Err(ReferenceError::new(message))
}

impl Reference {
    /// Parse the text after `SECRET `. Surrounding whitespace is trimmed.
    ///
    /// # Errors
    /// When the text is not a reference Parameter Store could answer.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let text = text.trim();
        if text.is_empty() {
            return err("empty reference");
        }
        // Names, ARNs and selectors never contain '#': the first one starts the key.
        let (body, key) = match text.split_once('#') {
            Some((_, "")) => return err("'#' with no key after it"),
            Some((body, key)) => (body, Some(key.to_owned())),
            None => (text, None),
        };
        let (target, selector) = if body.starts_with("arn:") {
            parse_arn(body)?
        } else {
            let (name, selector) = split_selector(body)?;
            (parse_target_name(name)?, selector)
        };
        let mut request = match &target {
            Target::Name(name) => name.clone(),
            Target::SecretsManager(id) => format!("{SECRETS_MANAGER_PREFIX}{id}"),
            Target::Arn { arn, .. } => arn.clone(),
        };
        let base_len = request.len();
        if let Some(selector) = &selector {
            request.push(':');
            request.push_str(selector);
        }
        if request.len() > MAX_REQUEST_NAME {
            return err(format!("longer than {MAX_REQUEST_NAME} characters"));
        }
        Ok(Self {
            text: text.to_owned(),
            target,
            selector,
            key,
            request,
            base_len,
        })
    }

    /// The reference as written (trimmed).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the reference points at.
    #[must_use]
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The version or label selector, if any.
    #[must_use]
    pub fn selector(&self) -> Option<&str> {
        self.selector.as_deref()
    }

    /// The JSON key to extract, if any.
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The region the call must go to, when the reference names one (ARNs).
    #[must_use]
    pub fn region(&self) -> Option<&str> {
        match &self.target {
            Target::Arn { region, .. } => Some(region),
            _ => None,
        }
    }

    /// The name without selector, as sent to `GetParameters`.
    #[must_use]
    pub fn base_name(&self) -> &str {
        &self.request[..self.base_len]
    }

    /// The string sent in `GetParameters`' `Names`: base name and selector.
    /// It names what is fetched: the `#key` is not part of it, and an ARN
    /// (the only form called outside the configured region) carries its
    /// region.
    #[must_use]
    pub fn request_name(&self) -> &str {
        &self.request
    }

    /// [`Self::request_name`], taken.
    #[must_use]
    pub fn into_request_name(self) -> String {
        self.request
    }

    /// The same reference without its `#key`: what is fetched. Two references
    /// that differ only by key are fetched once.
    #[must_use]
    pub fn without_key(&self) -> Self {
        let text = match self.text.split_once('#') {
            Some((body, _)) => body.to_owned(),
            None => self.text.clone(),
        };
        Self {
            text,
            key: None,
            ..self.clone()
        }
    }

    /// The identity of the stored item as a response may name it.
    ///
    /// AWS returns `Name` without the selector and moto returns a Secrets
    /// Manager reference under the secret's own name, so one call must never
    /// hold two requests with the same identity: the response could not be
    /// mapped back.
    #[must_use]
    pub fn identity(&self) -> &str {
        match &self.target {
            Target::Name(name) | Target::Arn { name, .. } => canonical_name(name),
            Target::SecretsManager(id) => canonical_name(id),
        }
    }
}

/// `/foo` (one level) is stored as `foo`: both spell the same parameter.
#[must_use]
pub fn canonical_name(name: &str) -> &str {
    match name.strip_prefix('/') {
        Some(rest) if !rest.is_empty() && !rest.contains('/') => rest,
        _ => name,
    }
}

fn split_selector(body: &str) -> Result<(&str, Option<String>), ReferenceError> {
    match body.split_once(':') {
        None => Ok((body, None)),
        Some((_, "")) => err("empty selector after ':'"),
        Some((name, selector)) => {
            validate_selector(selector)?;
            Ok((name, Some(selector.to_owned())))
        }
    }
}

fn validate_selector(selector: &str) -> Result<(), ReferenceError> {
    if selector.len() > MAX_SELECTOR {
        return err(format!("selector longer than {MAX_SELECTOR} characters"));
    }
    if let Some(bad) = selector
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return err(format!(
            "selector contains {}: a selector is a version number or a label (a-z A-Z 0-9 _ . -)",
            describe(bad)
        ));
    }
    Ok(())
}

fn parse_target_name(name: &str) -> Result<Target, ReferenceError> {
    if name.is_empty() {
        return err("empty parameter name");
    }
    if let Some(id) = name.strip_prefix(SECRETS_MANAGER_PREFIX) {
        if id.is_empty() {
            return err("empty secret id after /aws/reference/secretsmanager/");
        }
        // Secret names allow a-z A-Z 0-9 / _ + = . @ -
        if let Some(bad) = id.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '=' | '.' | '@' | '-'))
        }) {
            return err(format!(
                "secret id contains {}: allowed are a-z A-Z 0-9 / _ + = . @ -",
                describe(bad)
            ));
        }
        return Ok(Target::SecretsManager(id.to_owned()));
    }
    validate_name(name)?;
    Ok(Target::Name(name.to_owned()))
}

/// Parameter Store's alphabet for names: `a-zA-Z0-9_.-/`.
fn validate_name(name: &str) -> Result<(), ReferenceError> {
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
    {
        return err(format!(
            "parameter name contains {}: allowed are a-z A-Z 0-9 _ . - /",
            describe(bad)
        ));
    }
    if name.contains("//") {
        return err("parameter name contains an empty level ('//')");
    }
    if name.ends_with('/') {
        return err("parameter name ends with '/'");
    }
    Ok(())
}

fn parse_arn(body: &str) -> Result<(Target, Option<String>), ReferenceError> {
    const SHAPE: &str =
        "malformed ARN (expected arn:<partition>:ssm:<region>:<account-id>:parameter/<name>)";
    let parts: Vec<&str> = body.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts[..] else {
        return err(SHAPE);
    };
    let lower_dash = |s: &str, digits: bool| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || (digits && c.is_ascii_digit()))
    };
    if !lower_dash(partition, false) || service != "ssm" || !lower_dash(region, true) {
        return err(SHAPE);
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return err(format!("{SHAPE}: the account id must be 12 digits"));
    }
    let Some(path) = resource.strip_prefix("parameter/") else {
        return err(SHAPE);
    };
    let (path, selector) = split_selector(path)?;
    if path.is_empty() {
        return err(format!("{SHAPE}: empty parameter name"));
    }
    if path.starts_with('/') {
        // parameter/app/db already stands for /app/db: parameter//app/db
        // would name '//app/db', an empty level.
        return err(format!(
            "{SHAPE}: the name after 'parameter/' starts with '/' (an empty level)"
        ));
    }
    validate_name(path)?;
    // arn:...:parameter/app/db holds /app/db; arn:...:parameter/db holds db.
    let name = if path.contains('/') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    let arn = format!("arn:{partition}:ssm:{region}:{account}:parameter/{path}");
    Ok((
        Target::Arn {
            arn,
            region: region.to_owned(),
            name,
        },
        selector,
    ))
}

fn describe(c: char) -> String {
    if c.is_whitespace() {
        "whitespace".to_owned()
    } else if c.is_control() || !c.is_ascii() {
        format!("{:?}", c.escape_unicode().to_string())
    } else {
        format!("'{c}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Reference {
        Reference::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn bad(text: &str) -> String {
        Reference::parse(text).expect_err(text).to_string()
    }

    #[test]
    fn names() {
        let r = ok("  staging.billing.db_url \t");
        assert_eq!(r.target(), &Target::Name("staging.billing.db_url".into()));
        assert_eq!(r.as_str(), "staging.billing.db_url");
        assert_eq!(r.request_name(), "staging.billing.db_url");
        assert_eq!(ok("/app/prod/db_url").identity(), "/app/prod/db_url");
        assert_eq!(ok("/top").identity(), "top");
        assert_eq!(ok("top").identity(), "top");
    }

    #[test]
    fn selectors() {
        let r = ok("/app/prod/db_url:3");
        assert_eq!(r.selector(), Some("3"));
        assert_eq!(r.base_name(), "/app/prod/db_url");
        assert_eq!(r.request_name(), "/app/prod/db_url:3");
        assert_eq!(ok("/app/db:live").selector(), Some("live"));
        assert!(bad("/app/db:").contains("empty selector"));
        assert!(bad("/app/db:a b").contains("selector contains whitespace"));
        assert!(bad("/app/db:1:2").contains("selector contains ':'"));
    }

    #[test]
    fn secrets_manager_and_keys() {
        let r = ok("/aws/reference/secretsmanager/prod/db:AWSPREVIOUS#password");
        assert_eq!(r.target(), &Target::SecretsManager("prod/db".into()));
        assert_eq!(r.selector(), Some("AWSPREVIOUS"));
        assert_eq!(r.key(), Some("password"));
        assert_eq!(
            r.request_name(),
            "/aws/reference/secretsmanager/prod/db:AWSPREVIOUS"
        );
        assert_eq!(r.identity(), "prod/db");
        assert_eq!(
            r.without_key().as_str(),
            "/aws/reference/secretsmanager/prod/db:AWSPREVIOUS"
        );
        assert_eq!(
            ok("/aws/reference/secretsmanager/a+b=c@d").identity(),
            "a+b=c@d"
        );
        assert!(bad("/app/db#").contains("no key"));
        assert!(bad("/aws/reference/secretsmanager/").contains("empty secret id"));
    }

    #[test]
    fn arns() {
        let r = ok("arn:aws:ssm:eu-west-1:111122223333:parameter/app/db_url:3#user");
        assert_eq!(
            r.target(),
            &Target::Arn {
                arn: "arn:aws:ssm:eu-west-1:111122223333:parameter/app/db_url".into(),
                region: "eu-west-1".into(),
                name: "/app/db_url".into(),
            }
        );
        assert_eq!(r.region(), Some("eu-west-1"));
        assert_eq!(
            r.request_name(),
            "arn:aws:ssm:eu-west-1:111122223333:parameter/app/db_url:3"
        );
        assert_eq!(
            ok("arn:aws-cn:ssm:cn-north-1:111122223333:parameter/flat").identity(),
            "flat"
        );
        for text in [
            "arn:aws:ssm:eu-west-1:1111:parameter/x",
            "arn:aws:s3:eu-west-1:111122223333:parameter/x",
            "arn:aws:ssm:eu-west-1:111122223333:secret/x",
            "arn:aws:ssm::111122223333:parameter/x",
            "arn:aws:ssm:eu-west-1:111122223333:parameter/",
            "arn:aws:ssm:eu-west-1:111122223333:parameter//x",
            "arn:aws:ssm:eu-west-1:111122223333:parameter///",
            "arn:aws:ssm",
        ] {
            assert!(bad(text).contains("ARN"), "{text}");
        }
    }

    #[test]
    fn rejects_outside_the_alphabet() {
        assert_eq!(bad("   "), "empty reference");
        assert!(bad("app db").contains("whitespace"));
        assert!(bad("app$(touch x)").contains("'$'"));
        assert!(bad("/app//db").contains("empty level"));
        assert!(bad("/app/").contains("ends with"));
        assert!(bad("caf\u{e9}").contains("allowed are"));
        assert!(bad(&"a".repeat(2049)).contains("longer than 2048"));
    }
}
