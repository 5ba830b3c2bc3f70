//! `joule keys`: create, list and inspect the encrypted key files of [`crate::keystore`].

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use joule_ledger::SecretKey;

use crate::keystore::{self, KeystoreError, PassphraseSource, ScryptParams};

/// `joule keys …`: the keys that sign bids, offers and transactions.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The `joule keys` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Create a new random key and save it encrypted (keystore v3, scrypt + AES-128-CTR).
    New(NewArgs),
    /// List the keys in the keystore directory (address and file, without decrypting).
    List(ListArgs),
    /// Print the address and public key of a key file or of a hex secret.
    Inspect(InspectArgs),
}

/// Where the keystore directory is.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Keystore")]
pub struct KeystoreDirArgs {
    /// Keystore directory [default: <user data dir>/joule/dev/keystore].
    #[arg(long, value_name = "DIR")]
    pub keystore: Option<PathBuf>,
}

impl KeystoreDirArgs {
    /// The directory: `--keystore`, or `keystore/` in the data directory of `joule dev`.
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        match &self.keystore {
            Some(dir) => Ok(dir.clone()),
            None => Ok(crate::dev::default_datadir()?.join("keystore")),
        }
    }
}

/// Where the passphrase comes from (default: asked on the terminal).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Passphrase")]
pub struct PassphraseArgs {
    /// Read the passphrase from this file (one trailing newline is ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "password_env")]
    pub password_file: Option<PathBuf>,
    /// Read the passphrase from this environment variable (for example JOULE_PASSWORD).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
}

impl PassphraseArgs {
    /// The source these flags name.
    pub fn source(&self) -> PassphraseSource {
        match (&self.password_file, &self.password_env) {
            (Some(path), _) => PassphraseSource::File(path.clone()),
            (None, Some(var)) => PassphraseSource::Env(var.clone()),
            (None, None) => PassphraseSource::Prompt,
        }
    }
}

/// `joule keys new [--out FILE] [--keystore DIR]`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Write the key to this file instead of `<keystore>/<address>.json`.
    #[arg(long, value_name = "FILE", conflicts_with = "keystore")]
    pub out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// log2 of scrypt's n (tests only: anything below the default 18 is weak).
    #[arg(long, value_name = "LOG_N", default_value_t = 18, hide = true)]
    pub scrypt_log_n: u8,
    // The flattened groups come last: their help heading applies to every flag after them.
    #[command(flatten)]
    pub dir: KeystoreDirArgs,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `joule keys list [--keystore DIR] [--json]`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print one JSON array.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub dir: KeystoreDirArgs,
}

/// `joule keys inspect FILE | --secret HEX [--json] [--show-secret]`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A keystore file, or a plain 0x-hex key file like those `joule dev` writes.
    #[arg(value_name = "FILE", required_unless_present = "secret")]
    pub file: Option<PathBuf>,
    /// Inspect this hex secret key instead of a file.
    #[arg(long, value_name = "HEX", conflicts_with = "file")]
    pub secret: Option<String>,
    /// Also print the secret key.
    #[arg(long)]
    pub show_secret: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Runs a `joule keys` command, printing to stdout.
pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    run_to(args, &mut stdout.lock())
}

/// Runs a `joule keys` command, printing to `w`.
pub fn run_to(args: KeysArgs, w: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::New(args) => new(args, w),
        KeysCommand::List(args) => list(args, w),
        KeysCommand::Inspect(args) => inspect(args, w),
    }
}

fn new(args: NewArgs, w: &mut impl Write) -> anyhow::Result<()> {
    let n = 1u64
        .checked_shl(u32::from(args.scrypt_log_n))
        .context("--scrypt-log-n is too large")?;
    let params = ScryptParams::new(n, 8, 1).context("--scrypt-log-n")?;
    let key = SecretKey::random();
    let path = match &args.out {
        Some(path) => path.clone(),
        None => args
            .dir
            .dir()?
            .join(format!("{}.json", hex::encode(key.address().0))),
    };
    // Fail before asking for a passphrase, not after.
    if path.exists() {
        return Err(KeystoreError::AlreadyExists(path).into());
    }
    let passphrase = args.passphrase.source().read_new()?;
    let file = keystore::encrypt(&key, passphrase.as_bytes(), &params);
    keystore::save(&path, &file)?;
    if args.json {
        let v = serde_json::json!({
            "address": key.address().to_string(),
            "file": path.display().to_string(),
        });
        writeln!(w, "{v}")?;
    } else {
        writeln!(w, "address  {}", key.address())?;
        writeln!(w, "file     {}", path.display())?;
    }
    Ok(())
}

fn list(args: ListArgs, w: &mut impl Write) -> anyhow::Result<()> {
    let dir = args.dir.dir()?;
    let mut keys = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for entry in entries {
                let path = entry
                    .with_context(|| format!("listing {}", dir.display()))?
                    .path();
                if !path.is_file() {
                    continue;
                }
                match keystore::load(&path).and_then(|f| f.address()) {
                    Ok(address) => keys.push((address, path)),
                    Err(e) => eprintln!("skipping {}: {e}", path.display()),
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    }
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    if args.json {
        let v: Vec<_> = keys
            .iter()
            .map(|(address, path)| {
                serde_json::json!({
                    "address": address.map(|a| a.to_string()),
                    "file": path.display().to_string(),
                })
            })
            .collect();
        writeln!(w, "{}", serde_json::Value::Array(v))?;
    } else if keys.is_empty() {
        eprintln!("no keys in {}", dir.display());
    } else {
        for (address, path) in &keys {
            let address = address.map_or_else(|| "(no address in file)".into(), |a| a.to_string());
            writeln!(w, "{address}  {}", path.display())?;
        }
    }
    Ok(())
}

fn inspect(args: InspectArgs, w: &mut impl Write) -> anyhow::Result<()> {
    let key = match (&args.file, &args.secret) {
        (Some(path), _) => read(path, &args.passphrase.source())?,
        (None, Some(hex)) => {
            let hex = hex.trim();
            let hex = if hex.starts_with("0x") || hex.starts_with("0X") {
                hex.to_owned()
            } else {
                format!("0x{hex}")
            };
            SecretKey::from_hex(&hex).context("--secret is not a 32-byte hex secret key")?
        }
        (None, None) => bail!("give a key FILE or --secret HEX"),
    };
    let public = format!("0x{}", hex::encode(key.public_key_uncompressed()));
    let secret = args
        .show_secret
        .then(|| format!("0x{}", hex::encode(key.to_bytes())));
    if args.json {
        let mut v = serde_json::json!({
            "address": key.address().to_string(),
            "public_key": public,
        });
        if let Some(path) = &args.file {
            v["file"] = path.display().to_string().into();
        }
        if let Some(secret) = secret {
            v["secret"] = secret.into();
        }
        writeln!(w, "{v}")?;
    } else {
        writeln!(w, "address     {}", key.address())?;
        writeln!(w, "public key  {public}")?;
        if let Some(secret) = secret {
            writeln!(w, "secret      {secret}")?;
        }
    }
    Ok(())
}

fn read(path: &Path, passphrase: &PassphraseSource) -> anyhow::Result<SecretKey> {
    keystore::read_key(path, passphrase).with_context(|| format!("reading key {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        keys: KeysArgs,
    }

    fn parse(args: &[&str]) -> KeysCommand {
        let argv = std::iter::once("keys").chain(args.iter().copied());
        Cli::try_parse_from(argv).expect("parses").keys.command
    }

    #[test]
    fn no_flags_gives_the_defaults() {
        let KeysCommand::New(new) = parse(&["new"]) else {
            panic!("not `new`")
        };
        assert_eq!(new.out, None);
        assert_eq!(new.dir.keystore, None);
        assert_eq!(new.passphrase.source(), PassphraseSource::Prompt);
        assert_eq!(new.scrypt_log_n, 18);
        assert!(!new.json);
        let KeysCommand::List(list) = parse(&["list"]) else {
            panic!("not `list`")
        };
        assert_eq!(list.dir.keystore, None);
        assert!(!list.json);
        let KeysCommand::Inspect(inspect) = parse(&["inspect", "k.json"]) else {
            panic!("not `inspect`")
        };
        assert_eq!(inspect.file, Some(PathBuf::from("k.json")));
        assert_eq!(inspect.secret, None);
        assert!(!inspect.show_secret && !inspect.json);
        assert_eq!(inspect.passphrase.source(), PassphraseSource::Prompt);
    }

    #[test]
    fn passphrase_flags_choose_the_source_and_conflict() {
        let KeysCommand::Inspect(i) = parse(&["inspect", "f", "--password-env", "JOULE_PASSWORD"])
        else {
            panic!("not `inspect`")
        };
        assert_eq!(
            i.passphrase.source(),
            PassphraseSource::Env("JOULE_PASSWORD".into())
        );
        let KeysCommand::New(n) = parse(&["new", "--password-file", "pw"]) else {
            panic!("not `new`")
        };
        assert_eq!(n.passphrase.source(), PassphraseSource::File("pw".into()));
        let both = [
            "keys",
            "new",
            "--password-file",
            "pw",
            "--password-env",
            "V",
        ];
        assert!(Cli::try_parse_from(both).is_err());
        let both = ["keys", "inspect", "f", "--secret", "0x01"];
        assert!(Cli::try_parse_from(both).is_err());
        assert!(Cli::try_parse_from(["keys", "inspect"]).is_err());
        let both = ["keys", "new", "--out", "f", "--keystore", "d"];
        assert!(Cli::try_parse_from(both).is_err());
    }

    #[test]
    fn inspect_a_secret_never_prints_it_unless_asked() {
        let key = SecretKey::from_seed("inspect");
        let secret = hex::encode(key.to_bytes());
        let run = |show: bool| {
            let mut out = Vec::new();
            let args = KeysArgs {
                command: KeysCommand::Inspect(InspectArgs {
                    file: None,
                    secret: Some(secret.clone()),
                    passphrase: PassphraseArgs::default(),
                    show_secret: show,
                    json: true,
                }),
            };
            run_to(args, &mut out).expect("inspects");
            serde_json::from_slice::<serde_json::Value>(&out).expect("one JSON object")
        };
        let v = run(false);
        assert_eq!(v["address"], key.address().to_string());
        assert_eq!(
            v["public_key"],
            format!("0x{}", hex::encode(key.public_key_uncompressed()))
        );
        assert!(v.get("secret").is_none());
        assert_eq!(run(true)["secret"], format!("0x{secret}"));
    }
}
