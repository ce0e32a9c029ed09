//! PID 1 without a Docker engine: psc-exec in a fresh PID namespace.

use crate::common::*;
use crate::ecs::{TASK_ROLE_POLICY, container, container_environment, recorded_requests};

/// A shell that traps TERM when asked, reports, prints `ready` and waits.
pub(crate) fn app_script(trap_term: bool) -> String {
    let trap = if trap_term {
        "trap 'echo got TERM; exit 0' TERM\n"
    } else {
        ""
    };
    format!(
        "{trap}trap 'echo USR1: alive after TERM; exit 0' USR1\n\
         echo \"pid1=$(cat /proc/1/comm) me=$$ parent=$PPID\"\n\
         echo ready\n\
         while :; do sleep 0.02; done\n"
    )
}

/// `psc-exec --init` as PID 1: SIGTERM from outside the namespace (what
/// `docker stop` or ECS sends) reaches the application, which exits 0
/// from its trap; without a trap it dies, and psc-exec reports 143.
#[test]
pub(crate) fn init_as_pid_1_forwards_sigterm_to_the_application() {
    let unshare = require!(unshare(&["--pid", "--fork", "--mount-proc"]));
    for (trap, expected_code, expected_rest) in
        [(true, 0, vec!["got TERM".to_owned()]), (false, 143, vec![])]
    {
        let script = app_script(trap);
        let mut child = in_pid_namespace(
            &unshare,
            &bin("psc-exec"),
            &["--init", "--", "sh", "-c", &script],
        )
        .spawn()
        .expect("spawn unshare");
        let lines = Lines::of(&mut child);
        let before = lines.until_ready();
        assert_eq!(before, ["pid1=psc-exec me=2 parent=1"], "trap={trap}");
        kill(only_child(child.id()), Signal::SIGTERM).unwrap();
        let rest = lines.rest();
        let status = wait(&mut child);
        let stderr = stderr_of(&mut child);
        assert_eq!(rest, expected_rest, "trap={trap} {stderr}");
        assert_eq!(status.code(), Some(expected_code), "trap={trap} {stderr}");
    }
}

/// Without --init, psc-exec execs and the application itself is PID 1.
/// The kernel drops a signal sent to a namespace's PID 1 when PID 1 has no
/// handler for it, so a shell without a TERM trap survives SIGTERM (a
/// container that only `docker stop`'s SIGKILL ends). Shown with USR1,
/// which the shell traps: it answers after TERM, so TERM did nothing. The
/// same script outside a PID namespace dies of that TERM: PID 1 is the
/// only difference. An application that handles TERM itself is fine.
#[test]
pub(crate) fn without_init_the_application_as_pid_1_ignores_sigterm() {
    let unshare = require!(unshare(&["--pid", "--fork", "--mount-proc"]));
    // PID 1 without a TERM handler.
    let script = app_script(false);
    let mut child = in_pid_namespace(&unshare, &bin("psc-exec"), &["--", "sh", "-c", &script])
        .spawn()
        .expect("spawn unshare");
    let lines = Lines::of(&mut child);
    assert_eq!(lines.until_ready(), ["pid1=sh me=1 parent=0"]);
    let pid1 = only_child(child.id());
    kill(pid1, Signal::SIGTERM).unwrap();
    kill(pid1, Signal::SIGUSR1).unwrap();
    assert_eq!(lines.rest(), ["USR1: alive after TERM"]);
    let status = wait(&mut child);
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut child));

    // The same script and signals, not as PID 1: TERM kills it.
    let mut command = cmd("psc-exec", "http://127.0.0.1:9");
    command
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn psc-exec");
    let lines = Lines::of(&mut child);
    let before = lines.until_ready();
    assert!(!before[0].starts_with("pid1=sh "), "{before:?}");
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    kill(pid, Signal::SIGUSR1).unwrap();
    assert_eq!(lines.rest(), Vec::<String>::new());
    assert_eq!(wait(&mut child).signal(), Some(Signal::SIGTERM as i32));

    // PID 1 that traps TERM itself handles it.
    let script = app_script(true);
    let mut child = in_pid_namespace(&unshare, &bin("psc-exec"), &["--", "sh", "-c", &script])
        .spawn()
        .expect("spawn unshare");
    let lines = Lines::of(&mut child);
    lines.until_ready();
    kill(only_child(child.id()), Signal::SIGTERM).unwrap();
    assert_eq!(lines.rest(), ["got TERM"]);
    assert_eq!(wait(&mut child).code(), Some(0));
}

/// The ECS container, without ECS: the task definition's entryPoint
/// (psc-exec --init) as PID 1 of a PID namespace, its environment as is,
/// its command replaced by a script. psc-exec resolves every reference
/// from moto with GetParameters alone (what the task role policy grants),
/// and the SIGTERM of a StopTask reaches the application.
#[test]
pub(crate) fn ecs_container_resolves_its_environment_as_pid_1_and_stops_on_sigterm() {
    let unshare = require!(unshare(&["--pid", "--fork", "--mount-proc"]));
    if !support::moto_available() {
        return;
    }
    let moto = Moto::start();
    let container = container();
    let environment = container_environment(&container);
    let references = references(&environment);
    seed(&moto, &references);
    moto.start_recording();

    let entry_point = strings(&container["entryPoint"]);
    assert_eq!(entry_point[0], "/usr/local/bin/psc-exec");
    let mut script = String::from("trap 'echo got TERM; exit 0' TERM\n");
    for name in environment.keys() {
        script.push_str(&format!("echo \"{name}=${name}\"\n"));
    }
    script
        .push_str("echo \"pid1=$(cat /proc/1/comm)\"\necho ready\nwhile :; do sleep 0.02; done\n");
    let mut args: Vec<&str> = entry_point[1..].iter().map(String::as_str).collect();
    args.extend(["sh", "-c", &script]);
    let mut command = in_pid_namespace(&unshare, &bin("psc-exec"), &args);
    command
        .envs(&environment)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/psc-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/psc-test-credentials",
        );
    let mut child = command.spawn().expect("spawn unshare");
    let lines = Lines::of(&mut child);
    let before = lines.until_ready();
    let mut expected: Vec<String> = environment
        .iter()
        .map(|(name, value)| match value.strip_prefix("SECRET ") {
            Some(reference) => format!("{name}={}", seeded_value(reference.trim())),
            None => format!("{name}={value}"),
        })
        .collect();
    expected.push("pid1=psc-exec".to_owned());
    assert_eq!(before, expected);
    kill(only_child(child.id()), Signal::SIGTERM).unwrap();
    assert_eq!(lines.rest(), ["got TERM"]);
    let status = wait(&mut child);
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut child));

    let policy = json(TASK_ROLE_POLICY);
    let requests = recorded_requests(&moto);
    assert!(!requests.is_empty());
    for (action, names) in requests {
        assert_eq!(action, "ssm:GetParameters");
        for name in names {
            assert!(
                allows(&policy, &action, &parameter_arn(&name)),
                "{action} on {name} is not granted"
            );
        }
    }
}
