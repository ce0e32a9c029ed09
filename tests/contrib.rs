//! Shell completions (bash, zsh, fish) and man pages in `contrib/`,
//! generated from the clap definitions of `psc-exec` and `psc`. They are
//! committed (packagers install them from there; psc-exec's binary does
//! not carry a generator) and this test fails when they drift from the
//! code. To regenerate them after changing an option:
//!
//!     PSC_UPDATE_CONTRIB=1 cargo test --test contrib

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib")
}

/// Every generated file: its path under `contrib/` and its content.
fn generated() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    // The crate's version without the target `--version` adds: the pages
    // are the same for every build.
    let commands = [
        psc_exec::cli::Cli::command(),
        psc_exec::admin::cli::Cli::command(),
    ]
    .map(|command| command.version(env!("CARGO_PKG_VERSION")));
    for command in commands {
        let name = command.get_name().to_owned();
        for (shell, file) in [
            (Shell::Bash, format!("completions/{name}.bash")),
            (Shell::Zsh, format!("completions/_{name}")),
            (Shell::Fish, format!("completions/{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command.clone(), &name, &mut out);
            files.push((file, out));
        }
        let mut command = command;
        command.build();
        let mut out = Vec::new();
        clap_mangen::Man::new(command.clone())
            .render(&mut out)
            .expect("render");
        files.push((format!("man/{name}.1"), out));
        // One page per subcommand (psc-set.1, ...), as git does.
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            // clap names are &'static str (without its `string` feature).
            let sub_name: &'static str =
                Box::leak(format!("{name}-{}", sub.get_name()).into_boxed_str());
            let mut out = Vec::new();
            clap_mangen::Man::new(sub.clone().name(sub_name))
                .render(&mut out)
                .expect("render");
            files.push((format!("man/{sub_name}.1"), out));
        }
    }
    files
}

#[test]
fn completions_and_man_pages_match_the_clap_definitions() {
    let files = generated();
    let update = std::env::var_os("PSC_UPDATE_CONTRIB").is_some();
    let mut stale = Vec::new();
    for (file, content) in &files {
        let path = contrib().join(file);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(content) {
            stale.push(file.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date with the clap definitions: {stale:?}; regenerate with \
         PSC_UPDATE_CONTRIB=1 cargo test --test contrib"
    );
    // Nothing else lives there: a file no longer generated is an error too.
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(contrib().join(dir)).unwrap() {
            let name = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(
                files.iter().any(|(f, _)| *f == name),
                "contrib/{name} is not generated any more: remove it"
            );
        }
    }
}

#[test]
fn the_generated_files_cover_every_option() {
    let files = generated();
    let text = |file: &str| {
        String::from_utf8(files.iter().find(|(f, _)| f == file).unwrap().1.clone()).unwrap()
    };
    for arg in psc_exec::cli::Cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            for file in ["completions/psc-exec.bash", "completions/_psc-exec"] {
                assert!(text(file).contains(long), "{file} lacks --{long}");
            }
            // roff escapes every hyphen.
            let roff = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
            assert!(
                text("man/psc-exec.1").contains(&roff),
                "man/psc-exec.1 lacks {roff}"
            );
        }
    }
    assert!(text("man/psc.1").contains("decrypt\\-env"));
    assert!(text("man/psc-set.1").contains("overwrite"));
}
