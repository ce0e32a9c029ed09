# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_psc_global_optspecs
    string join \n v/verbose region= h/help V/version
end

function __fish_psc_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_psc_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_psc_using_subcommand
    set -l cmd (__fish_psc_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c psc -n "__fish_psc_needs_command" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_needs_command" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_needs_command" -s V -l version -d 'Print version'
complete -c psc -n "__fish_psc_needs_command" -f -a "set" -d 'Store a secret (SecureString unless --type says otherwise)'
complete -c psc -n "__fish_psc_needs_command" -f -a "set-file" -d 'Store a file\'s content as a secret, byte for byte'
complete -c psc -n "__fish_psc_needs_command" -f -a "get" -d 'Print one value on stdout'
complete -c psc -n "__fish_psc_needs_command" -f -a "delete" -d 'Delete parameters'
complete -c psc -n "__fish_psc_needs_command" -f -a "ls" -d 'List parameter names, sorted; never values'
complete -c psc -n "__fish_psc_needs_command" -f -a "ll" -d 'Long listing: name, type, version, last modified, tier, description'
complete -c psc -n "__fish_psc_needs_command" -f -a "decrypt-env" -d 'Print `export VAR=\'value\'` lines for the references in the environment'
complete -c psc -n "__fish_psc_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c psc -n "__fish_psc_using_subcommand set" -l type -d 'The parameter type. A new parameter is a SecureString unless this says otherwise; with --overwrite and no --type, an existing parameter keeps its type' -r -f -a "String\t'Plain text'
StringList\t'Comma-separated values'
SecureString\t'Encrypted with KMS'"
complete -c psc -n "__fish_psc_using_subcommand set" -l description -d 'A description (at most 1024 characters; not secret: `ll` shows it)' -r
complete -c psc -n "__fish_psc_using_subcommand set" -l key-id -d 'The KMS key for a SecureString (key id, alias/NAME or ARN); default: the account\'s `alias/aws/ssm`' -r
complete -c psc -n "__fish_psc_using_subcommand set" -l tier -d 'The storage tier: Standard (values up to 4096 bytes), Advanced (up to 8192 bytes, charged) or Intelligent-Tiering (Advanced only when needed). Without it the Standard limit is checked and Parameter Store applies the account\'s default tier' -r -f -a "Standard\t'Values up to 4096 bytes'
Advanced\t'Values up to 8192 bytes'
Intelligent-Tiering\t'Standard, or Advanced when the value needs it'"
complete -c psc -n "__fish_psc_using_subcommand set" -l tag -d 'A tag, KEY=VALUE; repeat for more. With --overwrite the tags are added to (or updated on) the existing parameter' -r
complete -c psc -n "__fish_psc_using_subcommand set" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand set" -l overwrite -d 'Replace the value of an existing parameter (its version goes up by one). Without it, an existing name is an error'
complete -c psc -n "__fish_psc_using_subcommand set" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand set-file" -l type -d 'The parameter type. A new parameter is a SecureString unless this says otherwise; with --overwrite and no --type, an existing parameter keeps its type' -r -f -a "String\t'Plain text'
StringList\t'Comma-separated values'
SecureString\t'Encrypted with KMS'"
complete -c psc -n "__fish_psc_using_subcommand set-file" -l description -d 'A description (at most 1024 characters; not secret: `ll` shows it)' -r
complete -c psc -n "__fish_psc_using_subcommand set-file" -l key-id -d 'The KMS key for a SecureString (key id, alias/NAME or ARN); default: the account\'s `alias/aws/ssm`' -r
complete -c psc -n "__fish_psc_using_subcommand set-file" -l tier -d 'The storage tier: Standard (values up to 4096 bytes), Advanced (up to 8192 bytes, charged) or Intelligent-Tiering (Advanced only when needed). Without it the Standard limit is checked and Parameter Store applies the account\'s default tier' -r -f -a "Standard\t'Values up to 4096 bytes'
Advanced\t'Values up to 8192 bytes'
Intelligent-Tiering\t'Standard, or Advanced when the value needs it'"
complete -c psc -n "__fish_psc_using_subcommand set-file" -l tag -d 'A tag, KEY=VALUE; repeat for more. With --overwrite the tags are added to (or updated on) the existing parameter' -r
complete -c psc -n "__fish_psc_using_subcommand set-file" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand set-file" -l overwrite -d 'Replace the value of an existing parameter (its version goes up by one). Without it, an existing name is an error'
complete -c psc -n "__fish_psc_using_subcommand set-file" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand set-file" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand get" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand get" -l json -d 'Print a JSON object (name, type, version, value, last_modified) followed by a newline'
complete -c psc -n "__fish_psc_using_subcommand get" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand delete" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation (required when stdin is not a terminal)'
complete -c psc -n "__fish_psc_using_subcommand delete" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand ls" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand ls" -s r -l recursive -d 'Include every level below PATH'
complete -c psc -n "__fish_psc_using_subcommand ls" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand ll" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand ll" -s r -l recursive -d 'Include every level below PATH'
complete -c psc -n "__fish_psc_using_subcommand ll" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand ll" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -l on-missing -d 'What to do when a parameter does not exist: `fail` (exit 1 naming every missing one, print nothing), `keep` (print nothing for it: the variable keeps its `SECRET ...` value, with a warning) or `unset` (print `unset VAR`, with a warning). The same rules as psc-exec' -r -f -a "fail\t'Exit 125 before starting anything, naming every missing parameter'
keep\t'Leave the variable as it was (`SECRET ...`), with a warning'
unset\t'Remove the variable from the child\'s environment, with a warning'"
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "set" -d 'Store a secret (SecureString unless --type says otherwise)'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "set-file" -d 'Store a file\'s content as a secret, byte for byte'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "get" -d 'Print one value on stdout'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "delete" -d 'Delete parameters'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "ls" -d 'List parameter names, sorted; never values'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "ll" -d 'Long listing: name, type, version, last modified, tier, description'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "decrypt-env" -d 'Print `export VAR=\'value\'` lines for the references in the environment'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
