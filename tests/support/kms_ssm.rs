//! A Parameter Store endpoint that keeps SecureStrings the way AWS
//! documents it ("How AWS Systems Manager Parameter Store uses AWS KMS"):
//! a Standard SecureString is KMS `Encrypt`ed, here through moto's KMS,
//! under the encryption context `{"PARAMETER_ARN": <its ARN>}`, and
//! GetParameters without decryption returns that blob in base64. moto's own
//! SSM cannot serve baked-secret tests: its "ciphertext" is
//! `kms:<key>:<plaintext>`.
//!
//! Answers `GetParameters` (selectors `:version` and `:label`, `Selector`
//! and `ARN` as AWS returns them; with decryption, the plaintext kept at
//! put), `DescribeParameters` with a `Name` `Equals` filter (with `Tier`)
//! and `GetParametersByPath` (one level, one page). Every call is recorded
//! (fault.rs's endpoint underneath).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};

use super::fault::{Action, Call, FakeSsm, aws_error};
use super::{REGION, block_on};

/// The account moto answers for, in every ARN.
pub const ACCOUNT: &str = "123456789012";

/// One stored version.
#[derive(Debug, Clone)]
struct Version {
    number: i64,
    kind: &'static str,
    /// What GetParameters returns without decryption: the base64 KMS blob
    /// of a SecureString, the text of the others.
    stored: String,
    plaintext: String,
    labels: Vec<String>,
}

#[derive(Debug, Clone)]
struct Stored {
    tier: &'static str,
    versions: Vec<Version>,
}

type Store = Arc<Mutex<BTreeMap<String, Stored>>>;

/// The running endpoint and the moto KMS key it encrypts with.
pub struct KmsSsm {
    fake: FakeSsm,
    store: Store,
    kms: aws_sdk_kms::Client,
    /// The key's id in moto.
    pub key_id: String,
}

/// A parameter's ARN as AWS builds it (`/a/b` -> `parameter/a/b`, `x` ->
/// `parameter/x`).
pub fn arn(name: &str) -> String {
    let name = name.strip_prefix('/').unwrap_or(name);
    format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}")
}

/// `/x` (one level) is stored as `x`, as on AWS.
fn stored_name(name: &str) -> String {
    match name.strip_prefix('/') {
        Some(rest) if !rest.contains('/') => rest.to_owned(),
        _ => name.to_owned(),
    }
}

/// A KMS client for moto at `endpoint`.
pub fn kms_client(endpoint: &str) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .http_client(psc_exec::aws::https_client())
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

impl KmsSsm {
    /// Start one, with a new symmetric key in moto's KMS at `moto`.
    pub fn start(moto: &str) -> Self {
        let kms = kms_client(moto);
        let key_id = block_on(async {
            kms.create_key()
                .description("psc-exec baked tests")
                .send()
                .await
                .expect("CreateKey")
                .key_metadata
                .expect("key metadata")
                .key_id
        });
        let store: Store = Arc::new(Mutex::new(BTreeMap::new()));
        let answering = Arc::clone(&store);
        let fake = FakeSsm::start(move |call| answer(&answering, call));
        Self {
            fake,
            store,
            kms,
            key_id,
        }
    }

    pub fn endpoint(&self) -> String {
        self.fake.endpoint()
    }

    /// Every request so far.
    pub fn recorded(&self) -> Vec<Call> {
        self.fake.recorded()
    }

    /// KMS Encrypt of `bytes` under `{"PARAMETER_ARN": arn}` with this
    /// endpoint's key, in base64: what Parameter Store stores.
    pub fn encrypt(&self, bytes: &[u8], arn: &str) -> String {
        let blob = block_on(async {
            self.kms
                .encrypt()
                .key_id(&self.key_id)
                .plaintext(aws_sdk_kms::primitives::Blob::new(bytes))
                .encryption_context("PARAMETER_ARN", arn)
                .send()
                .await
                .expect("Encrypt")
                .ciphertext_blob
                .expect("ciphertext")
        });
        base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
    }

    /// Put a Standard SecureString (a new version when it exists); returns
    /// the version.
    pub fn put_secure(&self, name: &str, value: &str) -> i64 {
        let stored = self.encrypt(value.as_bytes(), &arn(name));
        self.put_version(name, "SecureString", "Standard", stored, value)
    }

    /// Put an Advanced SecureString. Its stored form here is a plain KMS
    /// blob too; what matters to the tests is the tier AWS reports.
    pub fn put_advanced(&self, name: &str, value: &str) -> i64 {
        let stored = self.encrypt(value.as_bytes(), &arn(name));
        self.put_version(name, "SecureString", "Advanced", stored, value)
    }

    /// Put a `String` or `StringList`: stored as it is.
    pub fn put_plain(&self, name: &str, value: &str, kind: &'static str) -> i64 {
        self.put_version(name, kind, "Standard", value.to_owned(), value)
    }

    fn put_version(
        &self,
        name: &str,
        kind: &'static str,
        tier: &'static str,
        stored: String,
        plaintext: &str,
    ) -> i64 {
        let mut store = self.store.lock().unwrap();
        let entry = store.entry(stored_name(name)).or_insert(Stored {
            tier,
            versions: Vec::new(),
        });
        entry.tier = tier;
        let number = entry.versions.len() as i64 + 1;
        entry.versions.push(Version {
            number,
            kind,
            stored,
            plaintext: plaintext.to_owned(),
            labels: Vec::new(),
        });
        number
    }

    /// Label a version.
    pub fn label(&self, name: &str, version: i64, label: &str) {
        let mut store = self.store.lock().unwrap();
        let stored = store.get_mut(&stored_name(name)).expect("parameter");
        for v in &mut stored.versions {
            v.labels.retain(|l| l != label);
        }
        stored.versions[(version - 1) as usize]
            .labels
            .push(label.to_owned());
    }

    /// The base64 blob stored for `name` at `version`.
    pub fn ciphertext(&self, name: &str, version: i64) -> String {
        self.store.lock().unwrap()[&stored_name(name)].versions[(version - 1) as usize]
            .stored
            .clone()
    }
}

fn respond(body: &Value) -> Action {
    Action::Respond {
        status: 200,
        body: body.to_string(),
    }
}

fn answer(store: &Store, call: &Call) -> Action {
    let store = store.lock().unwrap();
    match call.target.as_str() {
        "AmazonSSM.GetParameters" => {
            let mut parameters = Vec::new();
            let mut invalid = Vec::new();
            for requested in &call.names {
                let (name, selector) = match requested.split_once(':') {
                    Some((name, selector)) => (name, Some(selector)),
                    None => (requested.as_str(), None),
                };
                let name = stored_name(name);
                let found = store.get(&name).and_then(|p| match selector {
                    None => p.versions.last(),
                    Some(s) => match s.parse::<i64>() {
                        Ok(n) => p.versions.iter().find(|v| v.number == n),
                        Err(_) => p.versions.iter().find(|v| v.labels.iter().any(|l| l == s)),
                    },
                });
                let Some(version) = found else {
                    invalid.push(requested.clone());
                    continue;
                };
                let value = if call.with_decryption {
                    &version.plaintext
                } else {
                    &version.stored
                };
                let mut parameter = json!({
                    "Name": name,
                    "Type": version.kind,
                    "Value": value,
                    "Version": version.number,
                    "ARN": arn(&name),
                    "DataType": "text",
                });
                if let Some(selector) = selector {
                    parameter["Selector"] = json!(format!(":{selector}"));
                }
                parameters.push(parameter);
            }
            respond(&json!({"Parameters": parameters, "InvalidParameters": invalid}))
        }
        "AmazonSSM.DescribeParameters" => {
            let filters = call.body["ParameterFilters"].as_array().cloned();
            let wanted: Vec<String> = filters
                .unwrap_or_default()
                .iter()
                .filter(|f| f["Key"] == "Name" && f["Option"] == "Equals")
                .flat_map(|f| f["Values"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(stored_name))
                .collect();
            let parameters: Vec<Value> = wanted
                .iter()
                .filter_map(|name| {
                    store.get(name).map(|p| {
                        let last = p.versions.last().expect("a version");
                        json!({
                            "Name": name,
                            "ARN": arn(name),
                            "Type": last.kind,
                            "Tier": p.tier,
                            "Version": last.number,
                            "DataType": "text",
                        })
                    })
                })
                .collect();
            respond(&json!({"Parameters": parameters}))
        }
        "AmazonSSM.GetParametersByPath" => {
            let path = call.body["Path"].as_str().unwrap_or("/").to_owned();
            let prefix = format!("{}/", path.trim_end_matches('/'));
            let parameters: Vec<Value> = store
                .iter()
                .filter(|(name, _)| {
                    name.strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
                })
                .map(|(name, p)| {
                    let last = p.versions.last().expect("a version");
                    json!({
                        "Name": name,
                        "Type": last.kind,
                        "Value": if call.with_decryption { &last.plaintext } else { &last.stored },
                        "Version": last.number,
                        "ARN": arn(name),
                    })
                })
                .collect();
            respond(&json!({"Parameters": parameters}))
        }
        other => aws_error(400, "InvalidAction", &format!("not served here: {other}")),
    }
}
