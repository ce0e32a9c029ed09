complete -c psc-exec -l on-missing -d 'What to do when a parameter does not exist: `fail` (exit 125 naming every missing one), `keep` (leave the variable as it was, with a warning) or `unset` (remove the variable from COMMAND\'s environment)' -r -f -a "fail\t'Exit 125 before starting anything, naming every missing parameter'
keep\t'Leave the variable as it was (`SECRET ...`), with a warning'
unset\t'Remove the variable from the child\'s environment, with a warning'"
complete -c psc-exec -l timeout -d 'Give up when resolution (retries included) takes longer than this, e.g. `30s`, `2m`' -r
complete -c psc-exec -l max-attempts -d 'Attempts per GetParameters call, the first included. Throttling, 5xx and connection errors are retried with exponential backoff and jitter; access and validation errors fail at once. Defaults to `AWS_MAX_ATTEMPTS` when that is set, else 30 (the deadline is the real bound)' -r
complete -c psc-exec -l attempt-timeout -d 'Time limit for one attempt, so a stalled connection is retried instead of eating the whole timeout' -r
complete -c psc-exec -l splay -d 'Wait a random time up to this long before the first call, to spread a fleet\'s start over time (rolling restarts), e.g. `5s`' -r
complete -c psc-exec -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc-exec -l ca-bundle -d 'Trust only the CA certificates in this PEM file for the calls, instead of the system\'s (`SSL_CERT_FILE` / `SSL_CERT_DIR` are then ignored). For psc-exec alone: COMMAND\'s environment is unchanged. AWS endpoints chain to the five Amazon Trust Services roots (Amazon Root CA 1-4, Starfield Services Root G2); a file of those loads in a fraction of the time of a system bundle' -r -F
complete -c psc-exec -l path -d 'Load every parameter under PATH into the environment (repeatable; `PSC_EXEC_PATH` takes a comma-separated list). The variable is the parameter\'s name after PATH, case kept; a variable already in the environment wins (with a warning), and a later path wins over an earlier one. A path may not set `LD_*` or `PSC_EXEC_*`' -r
complete -c psc-exec -l path-names -d 'How parameter names become variable names: `keep` (as they are; anything that is not a variable name is an error) or `upper` (chamber\'s: upper-case, `-` and `.` to `_`)' -r -f -a "keep\t'The name after the path, case kept (`db_url`); deeper levels joined with `_` under `--recursive`. Anything that is not a variable name is an error'
upper\t'chamber\'s mapping: upper-case, `-` and `.` to `_` (`db-url` -> `DB_URL`)'"
complete -c psc-exec -l baked -d 'Decrypt every entry of FILE into the environment: a serverless-secret-baker file (`secret-baker-secrets.json`, as `psc bake` writes it), `{"NAME":{"ciphertext":..,"arn":..}}`. Each is one KMS Decrypt under the context `{"PARAMETER_ARN": arn}` in the ARN\'s region; no Parameter Store call. The values are those baked at deploy. A variable already in the environment wins (with a warning); a baked variable wins over a `--path` one' -r -F
complete -c psc-exec -l secrets-dir -d 'Directory for `SECRET_FILE` variables\' files (default: `$RUNTIME_DIRECTORY`, else `/run/psc-exec`). Created 0700 when missing; refused when it is a symlink, another user\'s, or writable by others' -r -F
complete -c psc-exec -l file-mode -d 'Mode of the files: `0400` (default) or `0440`, nothing wider' -r
complete -c psc-exec -l file-owner -d 'Owner of the files, `UID:GID` (root only), for images whose command drops privileges' -r
complete -c psc-exec -l format -d 'Output of `--check`: `table` or `json`' -r -f -a "table\t'Aligned columns for people'
json\t'A JSON array of rows for pipelines'"
complete -c psc-exec -l recursive -d 'With `--path`, every level below PATH too; deeper levels join with `_` (`/app/prod/db/url` -> `db_url`)'
complete -c psc-exec -l expand-args -d 'Replace `${NAME}` in COMMAND\'s arguments (never the program) with the variable\'s final value; `$${` is a literal `${`. The values are then visible in `/proc/<pid>/cmdline` to every user of the host: prefer the environment or files'
complete -c psc-exec -l init -d 'Run COMMAND as a child and stay as its parent, a correct PID 1 for containers (like tini): forward every signal to it, reap every process that exits (orphans included), and exit with its status (128+N when killed by signal N). Without it, psc-exec execs'
complete -c psc-exec -l signal-group -d 'With `--init`, send forwarded signals to the child\'s whole process group instead of the child alone'
complete -c psc-exec -l check -d 'Resolve everything exactly as a launch would, print one row per reference variable (variable, reference, type, version, status: ok, missing, denied, bad key) and exit: 0 when every reference would resolve, 125 otherwise. Never prints a value. COMMAND is optional and not run'
complete -c psc-exec -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_EXEC_LOG` (a tracing filter such as `debug`) wins over it. Logs name variables and parameters, never values'
complete -c psc-exec -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc-exec -s V -l version -d 'Print version'
