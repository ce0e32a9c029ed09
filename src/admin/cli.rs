//! Command-line interface of `psc` (clap derive). The doc comments are the
//! `--help` text; every command's help ends with an "Examples:" block.

use std::fmt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::name;
use crate::cli::OnMissing;

/// Put, read, list and remove secrets in AWS Systems Manager Parameter Store.
///
/// The companion of psc-exec: it shares its AWS configuration (credentials
/// chain, AWS_REGION, AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS), its reference
/// forms and its error style. Only `get`, `decrypt-env` and `file decrypt`
/// and `file export` ever print a value; `ls` and `ll` never fetch one. Names are checked against Parameter
/// Store's rules before any call.
///
/// Exit status: 0 success; 1 failure (AWS error, parameter not found or
/// already there, value too large or not UTF-8, prompt not confirmed);
/// 2 usage error (bad option, invalid name, path, tag or reference, a
/// malformed psyml file; nothing was read or sent). `file diff`: 1 when the
/// file and Parameter Store differ. Ctrl-C at a prompt restores the terminal and stops
/// psc by the signal (status 130 in the shell).
#[derive(Debug, Parser)]
#[command(
    name = "psc",
    version = crate::cli::VERSION,
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = "Examples:
  psc set /app/prod/db_password                 (prompts without echo)
  psc set --type String /app/prod/log_level debug
  psc set-file /app/prod/tls_key key.pem
  psc get /app/prod/db_password
  psc ls -r /app/prod
  psc ll /app/prod
  psc delete /app/prod/old_token
  DB_URL='SECRET /app/prod/db_url' psc decrypt-env
  psc file diff superman.yml"
)]
pub struct Cli {
    /// More logging on stderr: -v info, -vv debug, -vvv trace. `PSC_LOG`
    /// (a tracing filter such as `debug`) wins over it. Logs name
    /// parameters, never values.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// The original psc's flag: the same as -vv.
    #[arg(long, global = true, hide = true)]
    pub debug: bool,

    /// AWS region (default: the SDK's chain: AWS_REGION, profile, IMDS).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a secret (SecureString unless --type says otherwise).
    ///
    /// With no VALUE, or `-`, the value is read from stdin, so it stays out
    /// of shell history and `ps`: on a terminal it is prompted for twice
    /// without echo (one line; the terminal limits it to 4095 bytes);
    /// otherwise stdin is read to its end and stored byte for byte,
    /// a trailing newline included (`printf %s "$v" | psc set NAME` stores
    /// no newline). Prints the new version number on stdout.
    ///
    /// A name is `a-zA-Z0-9_.-`, with `/` between levels (then it must
    /// start with `/`), at most 15 levels, at most 1011 characters counting
    /// the ARN before it, and must not start with `aws` or `ssm` in any case.
    #[command(after_help = "Examples:
  psc set /app/prod/db_password                      (prompts twice, no echo)
  pwgen -s 32 1 | tr -d '\\n' | psc set /app/prod/session_key
  psc set --type String /app/prod/log_level debug
  psc set --type StringList /app/prod/hosts a.example,b.example
  psc set --overwrite --tag team=billing /app/prod/db_password -
  psc set --tier Advanced /app/prod/big_json - < big.json")]
    Set(SetArgs),

    /// Store a file's content as a secret, byte for byte.
    ///
    /// Parameter Store stores UTF-8 text: a file that is not valid UTF-8
    /// is refused before any call (base64-encode binary data first). Over
    /// the tier's size (4096 bytes Standard, 8192 Advanced) is an error
    /// before any call. Prints the new version number on stdout.
    #[command(after_help = "Examples:
  psc set-file /app/prod/tls_key key.pem
  psc set-file --overwrite --tier Advanced /app/prod/ca_bundle bundle.pem
  base64 -w0 keystore.p12 > ks.b64 && psc set-file /app/prod/keystore ks.b64")]
    SetFile(SetFileArgs),

    /// Print one value on stdout.
    ///
    /// REFERENCE is any form psc-exec accepts: a name, `name:3` (version),
    /// `name:label`, a parameter ARN, `/aws/reference/secretsmanager/ID`,
    /// and `#key` for one key of a JSON value.
    ///
    /// Newlines: the value is written exactly as stored. Only when stdout
    /// is a terminal is a newline added after a value that does not end
    /// with one, so the shell prompt starts on its own line; into a pipe or
    /// a file nothing is added (`psc get A | psc set B` copies exactly).
    #[command(after_help = "Examples:
  psc get /app/prod/db_password
  psc get /app/prod/db_password:3                     (version 3)
  psc get '/aws/reference/secretsmanager/prod/db#password'
  psc get --json /app/prod/db_password | jq -r .version
  psc get /app/prod/tls_key > key.pem                 (byte-exact)")]
    Get(GetArgs),

    /// Delete parameters.
    ///
    /// Asks for confirmation when stdin is a terminal; without a terminal
    /// `--yes` is required. Deleted names are printed on stdout; names that
    /// did not exist are reported in one line on stderr and make the exit
    /// status 1 (the others are still deleted).
    #[command(after_help = "Examples:
  psc delete /app/prod/old_token
  psc delete --yes /app/dev/a /app/dev/b
  psc ls -r /app/dev | xargs psc delete --yes")]
    Delete(DeleteArgs),

    /// List parameter names, sorted; never values.
    ///
    /// PATH starting with `/` lists the parameters directly under it (all
    /// levels below it with -r); other text lists the names that begin with
    /// it (the dotted style, `staging.billing.`). Without PATH: the top
    /// level, or every parameter with -r. Paginates through everything.
    #[command(after_help = "Examples:
  psc ls /app/prod
  psc ls -r /app/prod
  psc ls staging.billing.
  psc ls -r | wc -l")]
    Ls(ListArgs),

    /// Long listing: name, type, version, last modified, tier, description.
    ///
    /// The same selection as `ls`; never values. Times are UTC.
    #[command(after_help = "Examples:
  psc ll /app/prod
  psc ll -r /app")]
    Ll(ListArgs),

    /// Print `export VAR='value'` lines for the references in the environment.
    ///
    /// Compatibility with the original psc: every variable whose value is
    /// `SECRET <reference>` is resolved exactly as psc-exec does it, and
    /// printed single-quoted so that bash, dash and zsh restore any value
    /// (quotes, newlines, `$`, backticks) exactly. With --on-missing unset,
    /// a missing reference prints `unset VAR`; with keep it prints nothing.
    /// Nothing is printed unless every reference resolved as --on-missing
    /// allows.
    ///
    /// Prefer psc-exec: decrypt-env puts the values through your shell and
    /// exports them to every command that shell starts afterwards, and
    /// anything that captures the output (a `set -x` trace, a CI log, a
    /// terminal scroll-back) captures the secrets. psc-exec hands them to
    /// exactly one process, through execve, without printing them.
    #[command(after_help = "Examples:
  eval \"$(psc decrypt-env)\"                     (bash, dash, zsh)
  source <(psc decrypt-env)                     (bash, zsh)
  DB_URL='SECRET /app/prod/db_url' psc decrypt-env
  psc decrypt-env --on-missing unset")]
    DecryptEnv(DecryptEnvArgs),

    /// Move a dotenv file into Parameter Store: one SecureString per
    /// variable under PATH (`/app/dev` + `DB_URL` -> `/app/dev/DB_URL`),
    /// names keeping their case, for `psc-exec --path PATH`.
    ///
    /// One strict dialect: `KEY=VALUE` lines, optional `export `, `#`
    /// comments and blank lines; `'...'` literal, `"..."` with `\n \" \\`
    /// escapes (both may span lines), unquoted values verbatim to the end of
    /// the line. Duplicate keys, invalid names, `$VAR` interpolation and
    /// empty values are errors naming the line, and every line and name is
    /// checked before the first write: nothing is half-imported. Existing
    /// parameters need --overwrite. Prints the names written, never a value.
    #[command(after_help = "Examples:
  psc import-env --path /app/dev .env
  psc import-env --path /app/prod --key-id alias/app-prod --dry-run prod.env")]
    ImportEnv(ImportEnvArgs),

    /// Write serverless-secret-baker's `secret-baker-secrets.json` for
    /// `psc-exec --baked`: each SecureString's KMS ciphertext (as Parameter
    /// Store returns it without decryption) and its ARN, so that a
    /// deployment carries its secrets pinned, and starts with KMS Decrypt
    /// alone, no Parameter Store call.
    ///
    /// Each PARAMETER is `NAME=parameter[:version|:label]`, or a bare
    /// parameter, which is then also the variable's name, as the plugin
    /// names it (`DB_TOKEN`; a bare `/app/db_token` is a variable of that
    /// very name, for programs that read it by name). `--from FILE` reads the
    /// same forms one per line (blank lines and `#` comments skipped). The
    /// file is the plugin's exact format (compact JSON, keys in the order
    /// given), written atomically and mode 0600, and only when every
    /// parameter exists and is a Standard-tier SecureString: a String or
    /// StringList would be baked as plaintext, and an Advanced one is
    /// envelope-encrypted, which a KMS Decrypt cannot open. Never decrypts
    /// anything.
    #[command(after_help = "Examples:
  psc bake --out secret-baker-secrets.json DB_PASSWORD=/svc/prod/db_password API_KEY=/svc/prod/api_key:3
  psc bake --out secret-baker-secrets.json --from secrets.list
  psc-exec --baked secret-baker-secrets.json -- node server.js")]
    Bake(BakeArgs),

    /// A service's parameters as one YAML file (psyml's format), secrets
    /// encrypted with KMS so that the file can live in git.
    ///
    /// The format is psyml's (PyPI `psyml`), read and written exactly, so a
    /// psyml user switches by changing the command name (an example file
    /// is below). The parameter is `path` + `name`. The case of `type` is the
    /// encryption state: `SecureString` holds plaintext, `securestring` the
    /// base64 of a KMS ciphertext made under the psyml key (`--key-alias`,
    /// `PSYML_KEY_ALIAS`, default alias/psyml, in `--key-region`,
    /// `PSYML_KEY_REGION`, default ap-southeast-2) with the encryption
    /// context `{"Client": "psyml", "Name": NAME}` (the name as written).
    /// Beyond psyml: `type: StringList` with a YAML list value. Refused, naming the parameter:
    /// plain values that YAML 1.1 reads as something else than the text
    /// (yes, null, 0755, 1.10, dates) and mappings; quote them. A whole
    /// number like 2 means "2".
    ///
    /// Every file is checked whole before the first call: a bad file is
    /// exit 2 and costs nothing. Values are never logged; `diff` never
    /// prints one.
    #[command(
        subcommand,
        after_help = "A file:
  path: /apps/superman/
  region: us-east-1
  kmskey: alias/superman
  tags: {team: billing}
  parameters:
  - name: api_token
    description: The token
    value: 5a5468-786448467a59-326436
    type: SecureString

Examples:
  psc file encrypt --in-place superman.yml
  psc file diff superman.yml
  psc file sync --delete superman.yml
  eval \"$(psc file export superman.yml)\""
    )]
    File(FileCommand),
}

/// `psc bake`.
#[derive(Debug, Args)]
pub struct BakeArgs {
    /// The file to write (replaced whole, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Read more PARAMETER forms from FILE, one per line.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// `NAME=parameter[:version|:label]`, or a bare parameter.
    #[arg(value_name = "PARAMETER")]
    pub parameters: Vec<String>,
}

/// `psc import-env`.
#[derive(Debug, Args)]
pub struct ImportEnvArgs {
    /// The path to put the variables under (`/app/dev`).
    #[arg(long)]
    pub path: String,

    /// The dotenv file.
    pub file: PathBuf,

    /// The KMS key for the SecureStrings (default: `alias/aws/ssm`).
    #[arg(long, value_name = "KEY")]
    pub key_id: Option<String>,

    /// Replace parameters that exist already.
    #[arg(long)]
    pub overwrite: bool,

    /// Check the file and print the names that would be written; write
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The `psc file` commands.
#[derive(Debug, Subcommand)]
pub enum FileCommand {
    /// Encrypt every SecureString value: types become lower case and
    /// `encrypted_with` records the key. Values already `securestring` are
    /// kept byte for byte (no call). Prints the file, or rewrites it with
    /// --in-place.
    #[command(after_help = "Examples:
  psc file encrypt --in-place superman.yml
  PSYML_KEY_ALIAS=alias/team17 psc file encrypt superman.yml > superman.enc.yml")]
    Encrypt(RewriteArgs),

    /// Print the file with every value decrypted (no `encrypted_with`). A
    /// file without ciphertexts costs no KMS call.
    #[command(after_help = "Examples:
  psc file decrypt superman.yml
  psc file decrypt --in-place superman.yml        (then edit, then encrypt)")]
    Decrypt(RewriteArgs),

    /// Re-encrypt every secret under the key the alias points at now.
    /// When that is the key recorded in `encrypted_with`: exit 1, nothing
    /// to do.
    #[command(after_help = "Examples:
  psc file refresh --in-place superman.yml")]
    Refresh(RewriteArgs),

    /// Put every parameter (overwriting), with Parameter Store's type,
    /// `kmskey` as the KMS key of SecureStrings, the description and the
    /// tags (added, never removed: `sync` removes). Prints each name and
    /// its new version.
    #[command(after_help = "Examples:
  psc file save superman.yml")]
    Save(FileArgs),

    /// Delete the file's parameters, and only those. Names that did not
    /// exist are reported on stderr (exit 1); the others are still deleted.
    #[command(after_help = "Examples:
  psc file nuke superman.yml")]
    Nuke(FileArgs),

    /// Print `export NAME='value'` lines (psyml's names: `/` and `-` become
    /// `_`, then upper case), restored exactly by bash, dash and zsh.
    #[command(after_help = "Examples:
  eval \"$(psc file export superman.yml)\"")]
    Export(FileArgs),

    /// Compare the file with Parameter Store under `path` (every level,
    /// every page): `+ name` only in the file, `- name` only in the store,
    /// `~ name (value, type, description, tags, key)` different. Sorted,
    /// never a value. Exit 0 when equal, 1 when different, 2 on error.
    #[command(after_help = "Examples:
  psc file diff superman.yml
  psc file diff superman.yml >/dev/null || echo 'out of date'")]
    Diff(FileArgs),

    /// Make Parameter Store equal to the file: put what `diff` shows as
    /// `+` and `~` (values, types, descriptions, keys; tags added and
    /// removed), delete `-` only with --delete. Prints what it changed, in
    /// `diff`'s form; afterwards `diff` is empty.
    #[command(after_help = "Examples:
  psc file sync --dry-run superman.yml
  psc file sync --delete superman.yml")]
    Sync(SyncArgs),
}

/// The file and the psyml key, for every `psc file` command.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The psyml file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub key: KeyOptions,
}

/// Where the psyml key is, as psyml reads it.
#[derive(Debug, Args)]
pub struct KeyOptions {
    /// The psyml key's alias.
    #[arg(
        long,
        env = "PSYML_KEY_ALIAS",
        default_value = "alias/psyml",
        value_name = "ALIAS"
    )]
    pub key_alias: String,

    /// The psyml key's region.
    #[arg(
        long,
        env = "PSYML_KEY_REGION",
        default_value = "ap-southeast-2",
        value_name = "REGION"
    )]
    pub key_region: String,
}

/// `encrypt`, `decrypt` and `refresh`.
#[derive(Debug, Args)]
pub struct RewriteArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Rewrite FILE (atomically: a new file beside it, renamed over it)
    /// instead of printing.
    #[arg(short, long)]
    pub in_place: bool,
}

/// `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Also delete the parameters under `path` that the file does not
    /// list.
    #[arg(long)]
    pub delete: bool,

    /// Change nothing: print the differences.
    #[arg(long)]
    pub dry_run: bool,
}

/// `psc set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The parameter's name.
    pub name: String,

    /// The value; omit it or give `-` to read it from stdin.
    #[arg(allow_hyphen_values = true)]
    pub value: Option<ValueArg>,

    /// Words after the value (`psc set NAME correct horse battery`): a
    /// usage error that counts them and never shows them, since they are
    /// most likely the rest of an unquoted value.
    #[arg(hide = true)]
    pub extra: Vec<ValueArg>,

    #[command(flatten)]
    pub put: PutOptions,
}

/// `psc set-file`.
#[derive(Debug, Args)]
pub struct SetFileArgs {
    /// The parameter's name.
    pub name: String,

    /// The file whose bytes are the value.
    pub path: PathBuf,

    #[command(flatten)]
    pub put: PutOptions,
}

/// Options shared by `set` and `set-file`.
#[derive(Debug, Args)]
pub struct PutOptions {
    /// The parameter type. A new parameter is a SecureString unless this
    /// says otherwise; with --overwrite and no --type, an existing
    /// parameter keeps its type.
    #[arg(long = "type", value_enum, ignore_case = true, value_name = "TYPE")]
    pub kind: Option<Kind>,

    /// A description (at most 1024 characters; not secret: `ll` shows it).
    #[arg(long, value_parser = parse_description, value_name = "TEXT")]
    pub description: Option<String>,

    /// The KMS key for a SecureString (key id, alias/NAME or ARN); default:
    /// the account's `alias/aws/ssm`.
    #[arg(long, value_name = "KEY")]
    pub key_id: Option<String>,

    /// The storage tier: Standard (values up to 4096 bytes), Advanced (up
    /// to 8192 bytes, charged) or Intelligent-Tiering (Advanced only when
    /// needed). Without it the Standard limit is checked and Parameter
    /// Store applies the account's default tier.
    #[arg(long, value_enum, ignore_case = true, value_name = "TIER")]
    pub tier: Option<Tier>,

    /// Replace the value of an existing parameter (its version goes up by
    /// one). Without it, an existing name is an error.
    #[arg(long)]
    pub overwrite: bool,

    /// A tag, KEY=VALUE; repeat for more. With --overwrite the tags are
    /// added to (or updated on) the existing parameter.
    #[arg(long = "tag", value_parser = parse_tag, value_name = "KEY=VALUE")]
    pub tags: Vec<(String, String)>,
}

/// `psc get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to read: a name, `name:version`, `name:label`, an ARN or
    /// `/aws/reference/secretsmanager/ID`, optionally followed by `#key`.
    pub reference: String,

    /// Print a JSON object (name, type, version, value, last_modified)
    /// followed by a newline.
    #[arg(long)]
    pub json: bool,
}

/// `psc delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The parameters to delete.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,

    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,
}

/// `psc ls` and `psc ll`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// A path (`/app/prod`) or a name prefix (`staging.billing.`).
    pub path: Option<String>,

    /// Include every level below PATH.
    #[arg(short, long)]
    pub recursive: bool,
}

/// `psc decrypt-env`.
#[derive(Debug, Args)]
pub struct DecryptEnvArgs {
    /// What to do when a parameter does not exist: `fail` (exit 1 naming
    /// every missing one, print nothing), `keep` (print nothing for it:
    /// the variable keeps its `SECRET ...` value, with a warning) or `unset`
    /// (print `unset VAR`, with a warning). The same rules as psc-exec.
    // psc-exec's own descriptions of the values speak of its exit status
    // and child: hidden here, the text above says it for psc.
    #[arg(
        long,
        value_enum,
        default_value = "fail",
        hide_possible_values = true,
        value_name = "fail|keep|unset"
    )]
    pub on_missing: OnMissing,
}

/// Parameter types, spelled as Parameter Store spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Plain text.
    #[value(name = "String")]
    String,
    /// Comma-separated values.
    #[value(name = "StringList")]
    StringList,
    /// Encrypted with KMS.
    #[value(name = "SecureString")]
    SecureString,
}

/// Storage tiers, spelled as Parameter Store spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tier {
    /// Values up to 4096 bytes.
    #[value(name = "Standard")]
    Standard,
    /// Values up to 8192 bytes.
    #[value(name = "Advanced")]
    Advanced,
    /// Standard, or Advanced when the value needs it.
    #[value(name = "Intelligent-Tiering")]
    IntelligentTiering,
}

/// A value given on the command line. Its `Debug` is redacted so that no
/// log of the parsed arguments can show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ValueArg(pub String);

impl fmt::Debug for ValueArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueArg(** redacted **)")
    }
}

impl From<String> for ValueArg {
    fn from(value: String) -> Self {
        Self(value)
    }
}

fn parse_tag(text: &str) -> Result<(String, String), String> {
    name::parse_tag(text).map_err(|e| e.to_string())
}

fn parse_description(text: &str) -> Result<String, String> {
    name::check_description(text)
        .map(|()| text.to_owned())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("psc").chain(args.iter().copied()))
    }

    #[test]
    fn set_takes_values_that_look_like_options() {
        let Command::Set(set) = parse(&["set", "/a/b", "-x-not-a-flag"]).unwrap().command else {
            panic!("set");
        };
        assert_eq!(set.value, Some(ValueArg("-x-not-a-flag".into())));
        let Command::Set(set) = parse(&["set", "/a/b", "-"]).unwrap().command else {
            panic!("set");
        };
        assert_eq!(set.value, Some(ValueArg("-".into())));
        let cli = parse(&["set", "--overwrite", "/a/b", "v", "--type", "string", "-vv"]).unwrap();
        assert_eq!(cli.verbose, 2);
        let Command::Set(set) = cli.command else {
            panic!("set");
        };
        assert!(set.put.overwrite);
        assert_eq!(set.put.kind, Some(Kind::String));
        assert_eq!(set.value, Some(ValueArg("v".into())));
    }

    #[test]
    fn value_is_redacted_in_debug() {
        let cli = parse(&["set", "/a/b", "hunter2-sentinel"]).unwrap();
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn spelled_as_parameter_store_spells_them() {
        let cli = parse(&[
            "set-file",
            "/a",
            "f",
            "--type",
            "SecureString",
            "--tier",
            "Intelligent-Tiering",
            "--tag",
            "team=billing",
            "--tag",
            "empty=",
        ])
        .unwrap();
        let Command::SetFile(args) = cli.command else {
            panic!("set-file");
        };
        assert_eq!(args.put.kind, Some(Kind::SecureString));
        assert_eq!(args.put.tier, Some(Tier::IntelligentTiering));
        assert_eq!(
            args.put.tags,
            [
                ("team".to_owned(), "billing".to_owned()),
                ("empty".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn invalid_arguments_are_usage_errors() {
        for args in [
            &["set", "/a", "v", "--tag", "novalue"][..],
            &["set", "/a", "v", "--tag", "aws:reserved=x"],
            &["set", "/a", "v", "--description", &"d".repeat(1025)],
            &["set", "/a", "v", "--type", "Binary"],
            &["delete"],
            &["get"],
            &["ls", "--json"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
