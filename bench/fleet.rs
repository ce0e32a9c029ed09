//! Fleet simulation: N psc-exec processes start at once, each with R
//! references, against an SSM endpoint throttling at RATE calls/s (a token
//! bucket, like Parameter Store's default 40/s per account and region).
//!
//! Every process must exec its child with the right values; the child
//! checks all of them and exits 0, so one unresolved or wrong value fails
//! the run. Prints completion times (p50/p99/max), total calls and the floor
//! ((successful calls - burst) / rate).
//!
//! With `FLEET_SOURCE=baked` the same fleet reads its values from a baked
//! file (`--baked`, serverless-secret-baker's format) instead: one KMS
//! `Decrypt` per reference and no Parameter Store call, against a KMS
//! endpoint throttling at RATE Decrypt/s (default 5,500, KMS's request
//! quota for symmetric cryptographic operations in most regions; burst 1 s
//! of it). The endpoint answers each Decrypt with the ciphertext itself as
//! the plaintext (the file's "ciphertexts" are the base64 of the values):
//! what is measured is the launch, not the cryptography.
//!
//! Run: `cargo bench --bench fleet` (release build), or for a quick look
//! `cargo bench --profile dev --bench fleet`. Environment: FLEET_PROCESSES
//! (200), FLEET_REFERENCES (30), FLEET_SOURCE (`ssm` or `baked`),
//! FLEET_RATE (40; baked 5500), FLEET_BURST (40; baked the rate),
//! PSC_EXEC_BIN (default: the binary cargo built).

// The benchmark reports its progress on stderr.
#![allow(clippy::print_stderr)]

mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/fault.rs"]
mod fault;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use fault::{Action, AwsStore, FakeSsm, TokenBucket, throttled};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, and a benchmark is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("fleet: a benchmark; run it with `cargo bench --bench fleet` (or scripts/bench)");
        return;
    }
    let processes = setting("FLEET_PROCESSES", 200);
    let references = setting("FLEET_REFERENCES", 30);
    let baked = match std::env::var("FLEET_SOURCE").as_deref() {
        Ok("baked") => true,
        Ok("ssm") | Err(_) => false,
        Ok(other) => panic!("FLEET_SOURCE is ssm or baked, not {other}"),
    };
    let rate = setting("FLEET_RATE", if baked { 5500 } else { 40 }) as f64;
    let burst = setting("FLEET_BURST", if baked { rate as usize } else { 40 }) as f64;
    let binary =
        std::env::var("PSC_EXEC_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_psc-exec").to_owned());

    let mut store = AwsStore::new();
    for i in 0..references {
        store.put(&format!("/fleet/p{i:03}"), &format!("value-{i:03}"));
    }
    let bucket = Arc::new(TokenBucket::new(rate, burst));
    let fake = FakeSsm::start(move |call| {
        if !bucket.take() {
            throttled()
        } else if baked {
            decrypted(call)
        } else {
            store.answer(&call.names)
        }
    });

    // A gate: every process waits on a FIFO until all are spawned, then one
    // write releases them together.
    let dir = tempfile::tempdir().expect("tempdir");
    let gate = dir.path().join("gate");
    nix::unistd::mkfifo(&gate, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let check: String = (0..references)
        .map(|i| format!(r#"[ "$P{i:03}" = value-{i:03} ] && "#))
        .collect::<String>()
        + "exit 0; exit 1";
    // The baked file: "ciphertext" = base64 of the value (see the top).
    let baked_file = dir.path().join("secret-baker-secrets.json");
    let entries: Vec<String> = (0..references)
        .map(|i| {
            format!(
                r#""P{i:03}":{{"ciphertext":"{}","arn":"arn:aws:ssm:us-east-1:123456789012:parameter/fleet/p{i:03}"}}"#,
                base64::engine::general_purpose::STANDARD.encode(format!("value-{i:03}"))
            )
        })
        .collect();
    std::fs::write(&baked_file, format!("{{{}}}", entries.join(","))).expect("baked file");
    let mut children = Vec::with_capacity(processes);
    let spawning = Instant::now();
    for _ in 0..processes {
        let mut command = Command::new("sh");
        common::clean_aws_env(&mut command, &fake.endpoint())
            .env("GATE", &gate)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
            .args(["-c", r#"read -r _ < "$GATE"; exec "$@""#, "sh"])
            .arg(&binary);
        if baked {
            command.arg("--baked").arg(&baked_file);
        } else {
            for i in 0..references {
                command.env(format!("P{i:03}"), format!("SECRET /fleet/p{i:03}"));
            }
        }
        command.args(["--", "sh", "-c", &check]);
        children.push(command.spawn().expect("spawn psc-exec"));
    }
    let spawned = spawning.elapsed();
    let mut release = std::fs::OpenOptions::new()
        .write(true)
        .open(&gate)
        .expect("open gate");
    let started = Instant::now();
    std::io::Write::write_all(&mut release, "\n".repeat(processes).as_bytes()).expect("release");
    // Collect exits as they happen, each timed from the common start.
    let (tx, rx) = std::sync::mpsc::channel();
    for child in children {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let output = child.wait_with_output().expect("wait");
            let _ = tx.send((started.elapsed(), output));
        });
    }
    drop(tx);
    let _keep_open_until_all_read = release;
    let mut times = Vec::with_capacity(processes);
    let mut failures = Vec::new();
    for (elapsed, output) in rx {
        times.push(elapsed);
        if !output.status.success() {
            failures.push(format!(
                "{:?}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    // GetParameters takes 10 names; Decrypt one ciphertext.
    let calls_each = if baked {
        references
    } else {
        references.div_ceil(10)
    };
    // The throttle's floor: the burst is served at once, the rest at the
    // rate.
    let floor = Duration::from_secs_f64(((processes * calls_each) as f64 - burst).max(0.0) / rate);
    let max = *times.last().unwrap();
    println!(
        "fleet: {processes} processes x {references} {} ({calls_each} calls each), throttle {rate}/s (burst {burst})",
        if baked {
            "baked references (KMS Decrypt)"
        } else {
            "references (GetParameters)"
        }
    );
    println!("  spawned (gated) in  {:>8.2?}", spawned);
    println!("  completion p50      {:>8.2?}", pct(0.50));
    println!("  completion p99      {:>8.2?}", pct(0.99));
    println!("  completion max      {:>8.2?}", max);
    println!("  floor ((calls - burst) / rate) {:>8.2?}", floor);
    if floor > Duration::ZERO {
        println!(
            "  max / floor         {:>8.2} (target: at most 1.3)",
            max.as_secs_f64() / floor.as_secs_f64()
        );
    } else {
        println!("  (every call fits in the burst: no throttle floor)");
    }
    println!(
        "  total calls         {:>8} ({} needed, {} throttled)",
        fake.calls(),
        processes * calls_each,
        fake.calls() - processes * calls_each
    );
    println!("  failed processes    {:>8}", failures.len());
    for failure in failures.iter().take(5) {
        println!("    {failure}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}

/// KMS `Decrypt` as the baked fleet needs it: the plaintext is the
/// ciphertext blob itself; a request without the `PARAMETER_ARN` context
/// is refused as KMS would (the context is part of the ciphertext).
fn decrypted(call: &fault::Call) -> Action {
    let blob = call.body["CiphertextBlob"].as_str().unwrap_or_default();
    if call.target != "TrentService.Decrypt"
        || call.body["EncryptionContext"]["PARAMETER_ARN"]
            .as_str()
            .is_none()
    {
        return fault::aws_error(400, "InvalidCiphertextException", "");
    }
    Action::Respond {
        status: 200,
        body: serde_json::json!({
            "KeyId": "arn:aws:kms:us-east-1:123456789012:key/fleet",
            "Plaintext": blob,
        })
        .to_string(),
    }
}
