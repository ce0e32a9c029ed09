# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_psc_global_optspecs
    string join \n v/verbose debug region= h/help V/version
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
complete -c psc -n "__fish_psc_needs_command" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_needs_command" -s V -l version -d 'Print version'
complete -c psc -n "__fish_psc_needs_command" -f -a "set" -d 'Store a secret (SecureString unless --type says otherwise)'
complete -c psc -n "__fish_psc_needs_command" -f -a "set-file" -d 'Store a file\'s content as a secret, byte for byte'
complete -c psc -n "__fish_psc_needs_command" -f -a "get" -d 'Print one value on stdout'
complete -c psc -n "__fish_psc_needs_command" -f -a "delete" -d 'Delete parameters'
complete -c psc -n "__fish_psc_needs_command" -f -a "ls" -d 'List parameter names, sorted; never values'
complete -c psc -n "__fish_psc_needs_command" -f -a "ll" -d 'Long listing: name, type, version, last modified, tier, description'
complete -c psc -n "__fish_psc_needs_command" -f -a "decrypt-env" -d 'Print `export VAR=\'value\'` lines for the references in the environment'
complete -c psc -n "__fish_psc_needs_command" -f -a "import-env" -d 'Move a dotenv file into Parameter Store: one SecureString per variable under PATH (`/app/dev` + `DB_URL` -> `/app/dev/DB_URL`), names keeping their case, for `psc-exec --path PATH`'
complete -c psc -n "__fish_psc_needs_command" -f -a "bake" -d 'Write serverless-secret-baker\'s `secret-baker-secrets.json` for `psc-exec --baked`: each SecureString\'s KMS ciphertext (as Parameter Store returns it without decryption) and its ARN, so that a deployment carries its secrets pinned, and starts with KMS Decrypt alone, no Parameter Store call'
complete -c psc -n "__fish_psc_needs_command" -f -a "file" -d 'A service\'s parameters as one YAML file (psyml\'s format), secrets encrypted with KMS so that the file can live in git'
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
complete -c psc -n "__fish_psc_using_subcommand set" -l debug -d 'The original psc\'s flag: the same as -vv'
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
complete -c psc -n "__fish_psc_using_subcommand set-file" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand set-file" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand get" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand get" -l json -d 'Print a JSON object (name, type, version, value, last_modified) followed by a newline'
complete -c psc -n "__fish_psc_using_subcommand get" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand get" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand delete" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation (required when stdin is not a terminal)'
complete -c psc -n "__fish_psc_using_subcommand delete" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand delete" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand ls" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand ls" -s r -l recursive -d 'Include every level below PATH'
complete -c psc -n "__fish_psc_using_subcommand ls" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand ls" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand ll" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand ll" -s r -l recursive -d 'Include every level below PATH'
complete -c psc -n "__fish_psc_using_subcommand ll" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand ll" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand ll" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -l on-missing -d 'What to do when a parameter does not exist: `fail` (exit 1 naming every missing one, print nothing), `keep` (print nothing for it: the variable keeps its `SECRET ...` value, with a warning) or `unset` (print `unset VAR`, with a warning). The same rules as psc-exec' -r -f -a "fail\t'Exit 125 before starting anything, naming every missing parameter'
keep\t'Leave the variable as it was (`SECRET ...`), with a warning'
unset\t'Remove the variable from the child\'s environment, with a warning'"
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand decrypt-env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand import-env" -l path -d 'The path to put the variables under (`/app/dev`)' -r
complete -c psc -n "__fish_psc_using_subcommand import-env" -l key-id -d 'The KMS key for the SecureStrings (default: `alias/aws/ssm`)' -r
complete -c psc -n "__fish_psc_using_subcommand import-env" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand import-env" -l overwrite -d 'Replace parameters that exist already'
complete -c psc -n "__fish_psc_using_subcommand import-env" -l dry-run -d 'Check the file and print the names that would be written; write nothing'
complete -c psc -n "__fish_psc_using_subcommand import-env" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand import-env" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand import-env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand bake" -l out -d 'The file to write (replaced whole, mode 0600)' -r -F
complete -c psc -n "__fish_psc_using_subcommand bake" -l from -d 'Read more PARAMETER forms from FILE, one per line' -r -F
complete -c psc -n "__fish_psc_using_subcommand bake" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand bake" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand bake" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand bake" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "encrypt" -d 'Encrypt every SecureString value: types become lower case and `encrypted_with` records the key. Values already `securestring` are kept byte for byte (no call). Prints the file, or rewrites it with --in-place'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "decrypt" -d 'Print the file with every value decrypted (no `encrypted_with`). A file without ciphertexts costs no KMS call'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "refresh" -d 'Re-encrypt every secret under the key the alias points at now. When that is the key recorded in `encrypted_with`: exit 1, nothing to do'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "save" -d 'Put every parameter (overwriting), with Parameter Store\'s type, `kmskey` as the KMS key of SecureStrings, the description and the tags (added, never removed: `sync` removes). Prints each name and its new version'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "nuke" -d 'Delete the file\'s parameters, and only those. Names that did not exist are reported on stderr (exit 1); the others are still deleted'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "export" -d 'Print `export NAME=\'value\'` lines (psyml\'s names: `/` and `-` become `_`, then upper case), restored exactly by bash, dash and zsh'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "diff" -d 'Compare the file with Parameter Store under `path` (every level, every page): `+ name` only in the file, `- name` only in the store, `~ name (value, type, description, tags, key)` different. Sorted, never a value. Exit 0 when equal, 1 when different, 2 on error'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "sync" -d 'Make Parameter Store equal to the file: put what `diff` shows as `+` and `~` (values, types, descriptions, keys; tags added and removed), delete `-` only with --delete. Prints what it changed, in `diff`\'s form; afterwards `diff` is empty'
complete -c psc -n "__fish_psc_using_subcommand file; and not __fish_seen_subcommand_from encrypt decrypt refresh save nuke export diff sync help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from encrypt" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from encrypt" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from encrypt" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from encrypt" -s i -l in-place -d 'Rewrite FILE (atomically: a new file beside it, renamed over it) instead of printing'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from encrypt" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from encrypt" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from encrypt" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from decrypt" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from decrypt" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from decrypt" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from decrypt" -s i -l in-place -d 'Rewrite FILE (atomically: a new file beside it, renamed over it) instead of printing'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from decrypt" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from decrypt" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from decrypt" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from refresh" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from refresh" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from refresh" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from refresh" -s i -l in-place -d 'Rewrite FILE (atomically: a new file beside it, renamed over it) instead of printing'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from refresh" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from refresh" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from refresh" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from save" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from save" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from save" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from save" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from save" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from save" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from nuke" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from nuke" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from nuke" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from nuke" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from nuke" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from nuke" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from export" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from export" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from export" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from export" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from export" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from diff" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from diff" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from diff" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from diff" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from diff" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -l key-alias -d 'The psyml key\'s alias' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -l key-region -d 'The psyml key\'s region' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -l region -d 'AWS region (default: the SDK\'s chain: AWS_REGION, profile, IMDS)' -r
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -l delete -d 'Also delete the parameters under `path` that the file does not list'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -l dry-run -d 'Change nothing: print the differences'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -s v -l verbose -d 'More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG` (a tracing filter such as `debug`) wins over it. Logs name parameters, never values'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -l debug -d 'The original psc\'s flag: the same as -vv'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from sync" -s h -l help -d 'Print help'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "encrypt" -d 'Encrypt every SecureString value: types become lower case and `encrypted_with` records the key. Values already `securestring` are kept byte for byte (no call). Prints the file, or rewrites it with --in-place'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "decrypt" -d 'Print the file with every value decrypted (no `encrypted_with`). A file without ciphertexts costs no KMS call'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "refresh" -d 'Re-encrypt every secret under the key the alias points at now. When that is the key recorded in `encrypted_with`: exit 1, nothing to do'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "save" -d 'Put every parameter (overwriting), with Parameter Store\'s type, `kmskey` as the KMS key of SecureStrings, the description and the tags (added, never removed: `sync` removes). Prints each name and its new version'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "nuke" -d 'Delete the file\'s parameters, and only those. Names that did not exist are reported on stderr (exit 1); the others are still deleted'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print `export NAME=\'value\'` lines (psyml\'s names: `/` and `-` become `_`, then upper case), restored exactly by bash, dash and zsh'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "diff" -d 'Compare the file with Parameter Store under `path` (every level, every page): `+ name` only in the file, `- name` only in the store, `~ name (value, type, description, tags, key)` different. Sorted, never a value. Exit 0 when equal, 1 when different, 2 on error'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "sync" -d 'Make Parameter Store equal to the file: put what `diff` shows as `+` and `~` (values, types, descriptions, keys; tags added and removed), delete `-` only with --delete. Prints what it changed, in `diff`\'s form; afterwards `diff` is empty'
complete -c psc -n "__fish_psc_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "set" -d 'Store a secret (SecureString unless --type says otherwise)'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "set-file" -d 'Store a file\'s content as a secret, byte for byte'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "get" -d 'Print one value on stdout'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "delete" -d 'Delete parameters'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "ls" -d 'List parameter names, sorted; never values'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "ll" -d 'Long listing: name, type, version, last modified, tier, description'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "decrypt-env" -d 'Print `export VAR=\'value\'` lines for the references in the environment'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "import-env" -d 'Move a dotenv file into Parameter Store: one SecureString per variable under PATH (`/app/dev` + `DB_URL` -> `/app/dev/DB_URL`), names keeping their case, for `psc-exec --path PATH`'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "bake" -d 'Write serverless-secret-baker\'s `secret-baker-secrets.json` for `psc-exec --baked`: each SecureString\'s KMS ciphertext (as Parameter Store returns it without decryption) and its ARN, so that a deployment carries its secrets pinned, and starts with KMS Decrypt alone, no Parameter Store call'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "file" -d 'A service\'s parameters as one YAML file (psyml\'s format), secrets encrypted with KMS so that the file can live in git'
complete -c psc -n "__fish_psc_using_subcommand help; and not __fish_seen_subcommand_from set set-file get delete ls ll decrypt-env import-env bake file help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "encrypt" -d 'Encrypt every SecureString value: types become lower case and `encrypted_with` records the key. Values already `securestring` are kept byte for byte (no call). Prints the file, or rewrites it with --in-place'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "decrypt" -d 'Print the file with every value decrypted (no `encrypted_with`). A file without ciphertexts costs no KMS call'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "refresh" -d 'Re-encrypt every secret under the key the alias points at now. When that is the key recorded in `encrypted_with`: exit 1, nothing to do'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "save" -d 'Put every parameter (overwriting), with Parameter Store\'s type, `kmskey` as the KMS key of SecureStrings, the description and the tags (added, never removed: `sync` removes). Prints each name and its new version'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "nuke" -d 'Delete the file\'s parameters, and only those. Names that did not exist are reported on stderr (exit 1); the others are still deleted'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "export" -d 'Print `export NAME=\'value\'` lines (psyml\'s names: `/` and `-` become `_`, then upper case), restored exactly by bash, dash and zsh'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "diff" -d 'Compare the file with Parameter Store under `path` (every level, every page): `+ name` only in the file, `- name` only in the store, `~ name (value, type, description, tags, key)` different. Sorted, never a value. Exit 0 when equal, 1 when different, 2 on error'
complete -c psc -n "__fish_psc_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "sync" -d 'Make Parameter Store equal to the file: put what `diff` shows as `+` and `~` (values, types, descriptions, keys; tags added and removed), delete `-` only with --delete. Prints what it changed, in `diff`\'s form; afterwards `diff` is empty'
