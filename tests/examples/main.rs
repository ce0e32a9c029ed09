//! The deployment examples (`Dockerfile.example`, `examples/`), checked
//! rather than trusted: a wrong example is how a user's first hour goes bad.
//!
//! - Dockerfiles: hadolint passes, every ignored rule is needed and has a
//!   reason, the build stage copies enough to build, and the static variant's
//!   claim about CA certificates holds (psc-exec in a mount namespace whose
//!   /etc/ssl holds nothing but `certs/ca-certificates.crt`).
//! - systemd: `systemd-analyze verify` and `security` on the unit, and the
//!   unit's own environment and ExecStart run against moto_server.
//! - ECS and IAM: the task definition registers on moto's ECS, both policies
//!   are accepted by moto's IAM, the task role policy grants exactly what the
//!   task definition references, and the admin policy exactly what `psc`
//!   calls (recorded on moto).
//! - Containers without a Docker engine: psc-exec as PID 1 of a fresh PID
//!   namespace (`unshare --pid --fork --mount-proc`), with and without
//!   `--init`.
//!
//! Every external tool is optional locally (the test prints why it skipped)
//! and required under `CI`, where a skip would hide a broken example.
//!
//! One test binary, a module per home: `docker`, `systemd`, `ecs` (and
//! IAM), `pid1`; `common` holds what they share.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod common;
mod docker;
mod ecs;
mod pid1;
mod systemd;
