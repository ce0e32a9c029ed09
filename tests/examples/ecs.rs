//! ECS and IAM: the task definition on moto, the policies, exactly what is referenced and called.

use crate::common::*;

pub(crate) const TASK_DEFINITION: &str = "examples/ecs/task-definition.json";
pub(crate) const TASK_ROLE_POLICY: &str = "examples/ecs/task-role-policy.json";
pub(crate) const ADMIN_POLICY: &str = "examples/iam/psc-admin-policy.json";

pub(crate) fn container() -> Value {
    let definition = json(TASK_DEFINITION);
    let containers = definition["containerDefinitions"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    containers[0].clone()
}

pub(crate) fn container_environment(container: &Value) -> BTreeMap<String, String> {
    container["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
pub(crate) fn ecs_task_definition_registers_on_moto() {
    let moto = require!(moto());
    let aws = require!(aws_cli());
    let file = repo(TASK_DEFINITION);
    let out = run(support::aws_command(&aws, &moto.endpoint())
        .args(["ecs", "register-task-definition", "--cli-input-json"])
        .arg(format!("file://{}", file.display())));
    out.assert_code(0);
    let registered = &parse_json(&out)["taskDefinition"];
    assert_eq!(registered["family"], "app", "{out}");
    let got = &registered["containerDefinitions"][0];
    let want = container();
    assert_eq!(
        got["entryPoint"],
        serde_json::json!(["/usr/local/bin/psc-exec", "--init", "--"])
    );
    assert_eq!(got["command"], serde_json::json!(["node", "server.js"]));
    assert_eq!(got["environment"], want["environment"]);
    assert_eq!(
        registered["taskRoleArn"],
        format!("arn:aws:iam::{ACCOUNT}:role/app-task")
    );
}

/// Both policies are valid IAM JSON as moto's IAM checks it (version,
/// effects, `service:Action` names, condition operators); a malformed one
/// is refused, so the check can fail.
#[test]
pub(crate) fn iam_policies_are_accepted_by_moto() {
    let moto = require!(moto());
    let aws = require!(aws_cli());
    let suffix = std::process::id();
    for (name, file) in [
        ("psc-exec-task", TASK_ROLE_POLICY),
        ("psc-admin", ADMIN_POLICY),
    ] {
        let name = format!("{name}-{suffix}");
        let out = run(support::aws_command(&aws, &moto.endpoint())
            .args(["iam", "create-policy", "--policy-name", &name])
            .arg("--policy-document")
            .arg(format!("file://{}", repo(file).display())));
        out.assert_code(0);
        let policy = &parse_json(&out)["Policy"];
        assert_eq!(policy["PolicyName"], name.as_str(), "{out}");
        assert_eq!(policy["DefaultVersionId"], "v1", "{out}");
    }
    let malformed = read(TASK_ROLE_POLICY).replacen("\"Allow\"", "\"Alow\"", 1);
    let out = run(support::aws_command(&aws, &moto.endpoint())
        .args(["iam", "create-policy", "--policy-name"])
        .arg(format!("malformed-{suffix}"))
        .args(["--policy-document", &malformed]));
    out.assert_code(255);
    assert!(out.stderr().contains("MalformedPolicyDocument"), "{out}");
}

/// Least privilege, checked both ways: every reference in the task
/// definition is granted (GetParameters on its parameter ARN, and
/// GetSecretValue on the secret for Secrets Manager references), and every
/// granted parameter or secret is referenced. No wildcard action, no `*`
/// resource; kms:Decrypt only through Parameter Store / Secrets Manager.
#[test]
pub(crate) fn task_role_policy_grants_exactly_what_the_task_references() {
    let policy = json(TASK_ROLE_POLICY);
    let container = container();
    let environment = container_environment(&container);
    assert_eq!(environment["AWS_REGION"], REGION);
    let references = references(&environment);
    assert!(references.len() >= 3, "{references:?}");
    let mut needed_ssm = BTreeSet::new();
    let mut needed_secrets = BTreeSet::new();
    for reference in &references {
        let name = parameter_name(reference);
        let arn = parameter_arn(name);
        assert!(
            allows(&policy, "ssm:GetParameters", &arn),
            "{reference}: no ssm:GetParameters on {arn}"
        );
        needed_ssm.insert(arn);
        if let Some(id) = name.strip_prefix(SECRETS_MANAGER) {
            // A secret's ARN ends in - and six random characters.
            let secret = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}-AbC123");
            assert!(
                allows(&policy, "secretsmanager:GetSecretValue", &secret),
                "{reference}: no secretsmanager:GetSecretValue on {secret}"
            );
            needed_secrets.insert(secret);
        }
    }
    assert!(
        !needed_secrets.is_empty(),
        "the example shows a Secrets Manager reference"
    );

    let mut actions = BTreeSet::new();
    for statement in statements(&policy) {
        assert_eq!(statement["Effect"], "Allow");
        let resources = strings(&statement["Resource"]);
        assert!(!resources.iter().any(|r| r == "*"), "{statement}");
        for action in strings(&statement["Action"]) {
            assert!(!action.contains('*'), "{statement}");
            match action.as_str() {
                "ssm:GetParameters" => {
                    for resource in &resources {
                        assert!(needed_ssm.contains(resource), "not referenced: {resource}");
                    }
                }
                "secretsmanager:GetSecretValue" => {
                    for resource in &resources {
                        assert!(
                            needed_secrets.iter().any(|s| glob(resource, s)),
                            "not referenced: {resource}"
                        );
                    }
                }
                "kms:Decrypt" => {
                    let via = strings(&statement["Condition"]["StringEquals"]["kms:ViaService"]);
                    assert!(
                        via.contains(&format!("ssm.{REGION}.amazonaws.com")),
                        "{statement}"
                    );
                    assert!(
                        via.contains(&format!("secretsmanager.{REGION}.amazonaws.com")),
                        "{statement}"
                    );
                }
                other => panic!("the runtime needs no {other}"),
            }
            actions.insert(action);
        }
    }
    assert_eq!(
        actions,
        [
            "kms:Decrypt",
            "secretsmanager:GetSecretValue",
            "ssm:GetParameters"
        ]
        .map(str::to_owned)
        .into(),
    );
}

/// One recorded request: the action (`ssm:PutParameter`) and the
/// parameter names it names.
pub(crate) fn recorded_requests(moto: &Moto) -> Vec<(String, Vec<String>)> {
    moto.recording()
        .into_iter()
        .map(|(target, body)| {
            let action = target
                .strip_prefix("AmazonSSM.")
                .map(|a| format!("ssm:{a}"))
                .unwrap_or_else(|| format!("unexpected:{target}"));
            let mut names = Vec::new();
            for key in ["Name", "ResourceId"] {
                if let Some(name) = body[key].as_str() {
                    names.push(name.to_owned());
                }
            }
            if let Some(list) = body["Names"].as_array() {
                names.extend(list.iter().filter_map(|n| n.as_str().map(str::to_owned)));
            }
            (action, names)
        })
        .collect()
}

/// The psc admin policy grants what `psc` calls, no more: every command a
/// user runs (set, set with tags, overwrite with tags, get, ls, ll,
/// decrypt-env, delete) is recorded on moto, and the SSM actions it made
/// are exactly the policy's, on parameters its resources cover.
#[test]
pub(crate) fn psc_admin_policy_covers_exactly_what_psc_calls() {
    if !support::moto_available() {
        return;
    }
    let moto = Moto::start();
    moto.start_recording();
    let policy = json(ADMIN_POLICY);
    let root = format!("/app/psc-examples-{}", std::process::id());
    let (a, b, c) = (
        format!("{root}/log_level"),
        format!("{root}/db_password"),
        format!("{root}/api_token"),
    );
    let psc = |args: &[&str]| {
        let mut command = cmd("psc", &moto.endpoint());
        command.env("AWS_REGION", REGION).args(args);
        let out = run(&mut command);
        out.assert_code(0);
        out
    };
    psc(&["set", "--type", "String", &a, "debug"]);
    psc(&["set", &b, "s3cret"]);
    psc(&["set", "--tag", "team=billing", &c, "t0ken"]);
    psc(&["set", "--overwrite", "--tag", "team=payments", &c, "t0ken2"]);
    assert_eq!(psc(&["get", &b]).stdout().trim_end(), "s3cret");
    assert_eq!(psc(&["ls", &root]).stdout().lines().count(), 3);
    psc(&["ll", &root]);
    let mut command = cmd("psc", &moto.endpoint());
    command
        .env("AWS_REGION", REGION)
        .env("DB_PASSWORD", format!("SECRET {b}"))
        .arg("decrypt-env");
    run(&mut command).assert_code(0);
    psc(&["delete", "--yes", &a, &b, &c]);

    let mut called = BTreeSet::new();
    for (action, names) in recorded_requests(&moto) {
        if action == "ssm:DescribeParameters" {
            // No resource-level permission exists for it: Resource "*".
            assert!(allows(&policy, &action, "*"), "{action}");
        }
        for name in &names {
            assert!(
                allows(&policy, &action, &parameter_arn(name)),
                "{action} on {name} is not granted"
            );
        }
        called.insert(action);
    }
    let granted: BTreeSet<String> = statements(&policy)
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .filter(|a| a.starts_with("ssm:"))
        .collect();
    assert_eq!(called, granted, "what psc called vs what the policy grants");
    // Kept apart from the runtime: the task role can write nothing.
    let runtime = json(TASK_ROLE_POLICY);
    for action in [
        "ssm:PutParameter",
        "ssm:DeleteParameters",
        "ssm:AddTagsToResource",
    ] {
        assert!(
            !allows(&runtime, action, &parameter_arn("/app/prod/db_url")),
            "{action}"
        );
    }
}

// ------------------------------------------------- PID 1, no Docker engine
