//! `joule node --config FILE`: a node from a TOML file, with flags that override it.
//!
//! ```toml
//! datadir = "/var/lib/joule"          # default: <user data dir>/joule/node
//! genesis = "genesis.toml"            # a genesis file (TOML), or "dev" for the dev chain's
//! roles = ["authority", "provider"]   # any of authority, provider, full (default: full)
//!
//! [rpc]
//! addr = "127.0.0.1:8545"             # JSON-RPC over HTTP and WebSocket
//! enabled = true
//! max_connections = 100
//!
//! [metrics]
//! addr = "127.0.0.1:9615"             # Prometheus `GET /metrics`; off when absent
//!
//! [authority]
//! key = "keys/authority.json"         # keystore v3 file, or a file with a 0x-hex secret
//!
//! [provider]
//! key = "keys/provider.json"
//! stake = "100000000000"              # bonded and kept topped up
//! fee = "1"                           # per transaction
//!
//! [provider.strategy]                 # see joule_market::StrategyConfig
//! price_per_fuel = 1
//! max_fuel_per_job = 1000000000
//! capacity = 2
//! offer_lifetime_blocks = 20
//! ```
//!
//! Relative paths in the file are relative to the file's directory. Unknown keys are errors, so
//! a typo never silently turns a setting off. Encrypted key files ask for their passphrase on
//! the terminal unless `--password-file` or `--password-env` says where it is.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use joule_ledger::{Amount, Genesis};
use joule_market::StrategyConfig;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::keys::PassphraseArgs;
use crate::keystore;
use crate::provider::{Behaviour, ProviderConfig};
use crate::rpc::RpcConfig;
use crate::service::{self, NodeSpec};

/// What a node does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Proposes and votes on blocks (its address must be a genesis authority).
    Authority,
    /// Sells compute: stakes, offers, runs jobs, earns credits.
    Provider,
    /// Keeps the chain and serves JSON-RPC.
    Full,
}

/// The config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Data directory.
    pub datadir: Option<PathBuf>,
    /// Genesis file, or `dev`.
    pub genesis: Option<String>,
    /// Roles.
    #[serde(default)]
    pub roles: BTreeSet<Role>,
    /// JSON-RPC.
    #[serde(default)]
    pub rpc: RpcSection,
    /// The authority's key.
    pub authority: Option<KeySection>,
    /// The provider's key and settings.
    pub provider: Option<ProviderSection>,
    /// Prometheus metrics.
    #[serde(default)]
    pub metrics: MetricsSection,
}

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Where to serve `GET /metrics` (off when absent).
    pub addr: Option<SocketAddr>,
}

/// `[rpc]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcSection {
    /// Listen address.
    pub addr: SocketAddr,
    /// Whether to serve.
    pub enabled: bool,
    /// Most concurrent connections.
    pub max_connections: u32,
}

impl Default for RpcSection {
    fn default() -> Self {
        let d = RpcConfig::default();
        RpcSection {
            addr: d.addr,
            enabled: true,
            max_connections: d.max_connections,
        }
    }
}

/// `[authority]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySection {
    /// Key file.
    pub key: PathBuf,
}

/// `[provider]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// Key file.
    pub key: PathBuf,
    /// Stake bonded and kept topped up.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub stake: Amount,
    /// Fee per transaction.
    #[serde(
        default = "default_fee",
        with = "joule_ledger::primitives::serde_helpers::amount"
    )]
    pub fee: Amount,
    /// Prices and capacity.
    pub strategy: StrategyConfig,
}

fn default_fee() -> Amount {
    1
}

/// Flags of `joule node`; each overrides the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct NodeArgs {
    /// TOML config file (see `joule_node::config` docs for every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory [default: <user data dir>/joule/node].
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// Genesis file (TOML), or `dev` for the development chain's genesis.
    #[arg(long, value_name = "FILE|dev")]
    pub genesis: Option<String>,
    /// Role of this node; repeat for several (authority, provider, full).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<Role>,
    /// Stop cleanly once this block is committed.
    #[arg(long, value_name = "N")]
    pub until_block: Option<u64>,
    /// JSON-RPC.
    #[command(flatten)]
    pub rpc: crate::dev::RpcArgs,
    /// Keys.
    #[command(flatten)]
    pub keys: NodeKeyArgs,
    /// Prometheus metrics.
    #[command(flatten)]
    pub metrics: crate::metrics::MetricsArgs,
}

/// Key flags of `joule node`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Keys")]
pub struct NodeKeyArgs {
    /// The authority's key file (keystore v3 or 0x-hex).
    #[arg(long = "authority.key", value_name = "FILE")]
    pub authority_key: Option<PathBuf>,
    /// The provider's key file (keystore v3 or 0x-hex).
    #[arg(long = "provider.key", value_name = "FILE")]
    pub provider_key: Option<PathBuf>,
    /// Where passphrases come from.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// The settings a node runs with once file and flags are merged and checked.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Data directory.
    pub datadir: PathBuf,
    /// Genesis.
    pub genesis: Genesis,
    /// Roles.
    pub roles: BTreeSet<Role>,
    /// JSON-RPC, unless off.
    pub rpc: Option<RpcConfig>,
    /// Authority key file.
    pub authority_key: Option<PathBuf>,
    /// Provider key file and settings.
    pub provider: Option<ProviderSection>,
    /// Metrics address.
    pub metrics: Option<SocketAddr>,
}

fn relative_to(base: Option<&Path>, path: PathBuf) -> PathBuf {
    match base {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    }
}

/// Reads a config file.
pub fn load(path: &Path) -> anyhow::Result<NodeConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config {}", path.display()))
}

/// Reads a genesis file (TOML) or takes `dev`; the genesis is validated.
pub fn genesis(name: &str, base: Option<&Path>) -> anyhow::Result<Genesis> {
    let genesis = if name == "dev" {
        crate::dev::dev_genesis()
    } else {
        let path = relative_to(base, PathBuf::from(name));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading genesis {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("genesis {}", path.display()))?
    };
    genesis.validate().context("invalid genesis")?;
    Ok(genesis)
}

/// Merges the file (if any) and the flags, and checks that the roles have what they need.
pub fn resolve(args: &NodeArgs) -> anyhow::Result<Resolved> {
    let (file, base) = match &args.config {
        Some(path) => (load(path)?, path.parent().map(Path::to_path_buf)),
        None => (NodeConfig::default(), None),
    };
    let base = base.as_deref();
    let datadir = match (&args.datadir, file.datadir) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => relative_to(base, d),
        (None, None) => dirs::data_dir()
            .context("no user data directory on this system; set datadir")?
            .join("joule")
            .join("node"),
    };
    let Some(genesis_name) = args.genesis.clone().or(file.genesis) else {
        bail!("no genesis: pass --genesis FILE (or `dev`) or set `genesis` in the config file");
    };
    let genesis_base = if args.genesis.is_some() { None } else { base };
    let genesis = genesis(&genesis_name, genesis_base)?;
    let mut roles: BTreeSet<Role> = if args.roles.is_empty() {
        file.roles
    } else {
        args.roles.iter().copied().collect()
    };
    if roles.is_empty() {
        roles.insert(Role::Full);
    }
    let rpc = if file.rpc.enabled {
        args.rpc.config_over(RpcConfig {
            addr: file.rpc.addr,
            max_connections: file.rpc.max_connections,
            ..RpcConfig::default()
        })
    } else {
        None
    };
    let authority_key = args
        .keys
        .authority_key
        .clone()
        .or(file.authority.map(|a| relative_to(base, a.key)));
    let mut provider = file.provider.map(|mut p| {
        p.key = relative_to(base, p.key);
        p
    });
    if let (Some(p), Some(key)) = (&mut provider, &args.keys.provider_key) {
        p.key = key.clone();
    }
    if roles.contains(&Role::Authority) && authority_key.is_none() {
        bail!(
            "role authority needs a key: set [authority] key in the config or pass --authority.key"
        );
    }
    if roles.contains(&Role::Provider) {
        let Some(p) = &provider else {
            bail!(
                "role provider needs a [provider] section (key, stake, strategy) in the config file"
            );
        };
        p.strategy
            .validate()
            .context("invalid [provider.strategy]")?;
        crate::provider::check_stake(p.stake, &genesis.market).context("[provider] stake")?;
    }
    Ok(Resolved {
        datadir,
        genesis,
        roles,
        rpc,
        authority_key,
        provider,
        metrics: args.metrics.addr.or(file.metrics.addr),
    })
}

/// Runs `joule node` until Ctrl-C.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    crate::logging::init("info");
    let resolved = resolve(&args)?;
    let passphrase = args.keys.passphrase.source();
    let authority = match (
        &resolved.authority_key,
        resolved.roles.contains(&Role::Authority),
    ) {
        (Some(path), true) => {
            let key = keystore::read_key(path, &passphrase)
                .with_context(|| format!("reading the authority key {}", path.display()))?;
            if !resolved.genesis.authorities.contains(&key.address()) {
                bail!(
                    "the authority key's address {} is not a genesis authority",
                    key.address()
                );
            }
            Some(key)
        }
        _ => None,
    };
    let mut providers = Vec::new();
    if let (Some(p), true) = (&resolved.provider, resolved.roles.contains(&Role::Provider)) {
        let key = keystore::read_key(&p.key, &passphrase)
            .with_context(|| format!("reading the provider key {}", p.key.display()))?;
        providers.push((
            key,
            ProviderConfig {
                strategy: p.strategy.clone(),
                stake: p.stake,
                fee: p.fee,
                dir: resolved.datadir.join("provider"),
                behaviour: Behaviour::Honest,
            },
        ));
    }
    std::fs::create_dir_all(&resolved.datadir)
        .with_context(|| format!("creating data directory {}", resolved.datadir.display()))?;
    let chain = service::open_chain(&resolved.datadir, resolved.genesis.clone())?;
    info!(
        target: "node",
        datadir = %resolved.datadir.display(),
        chain_id = resolved.genesis.chain_id,
        head = chain.head().number,
        roles = ?resolved.roles,
        "joule node started"
    );
    let spec = NodeSpec {
        datadir: resolved.datadir,
        genesis: resolved.genesis,
        authority,
        providers,
        rpc: resolved.rpc,
        until_block: args.until_block,
        metrics: resolved.metrics,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = service::stop_signal()?;
        service::run(spec, chain, shutdown, |_| async {}).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const FULL: &str = r#"
datadir = "data"
genesis = "dev"
roles = ["authority", "provider"]

[rpc]
addr = "127.0.0.1:9545"
max_connections = 7

[authority]
key = "keys/authority.key"

[provider]
key = "keys/provider.json"
stake = "100000000000"

[provider.strategy]
price_per_fuel = 3
max_fuel_per_job = 1000000
capacity = 2
offer_lifetime_blocks = 20
"#;

    #[test]
    fn a_full_config_resolves_with_paths_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = write(dir.path(), "node.toml", FULL);
        let args = NodeArgs {
            config: Some(config),
            ..NodeArgs::default()
        };
        let r = resolve(&args).unwrap();
        assert_eq!(r.datadir, dir.path().join("data"));
        assert_eq!(r.roles, [Role::Authority, Role::Provider].into());
        let rpc = r.rpc.unwrap();
        assert_eq!(rpc.addr, "127.0.0.1:9545".parse().unwrap());
        assert_eq!(rpc.max_connections, 7);
        assert_eq!(r.authority_key, Some(dir.path().join("keys/authority.key")));
        let p = r.provider.unwrap();
        assert_eq!(p.key, dir.path().join("keys/provider.json"));
        assert_eq!(p.stake, 100_000_000_000);
        assert_eq!(p.fee, 1);
        assert_eq!(p.strategy.price_per_fuel, 3);
        assert_eq!(r.genesis, crate::dev::dev_genesis());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = write(dir.path(), "node.toml", FULL);
        let args = NodeArgs {
            config: Some(config),
            datadir: Some("/elsewhere".into()),
            roles: vec![Role::Full],
            rpc: crate::dev::RpcArgs {
                addr: Some("127.0.0.1:0".parse().unwrap()),
                ..Default::default()
            },
            ..NodeArgs::default()
        };
        let r = resolve(&args).unwrap();
        assert_eq!(r.datadir, PathBuf::from("/elsewhere"));
        assert_eq!(r.roles, [Role::Full].into());
        assert_eq!(r.rpc.unwrap().addr.port(), 0);
        let off = NodeArgs {
            rpc: crate::dev::RpcArgs {
                off: true,
                ..Default::default()
            },
            ..args
        };
        assert!(resolve(&off).unwrap().rpc.is_none());
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("genesis = \"dev\"\nrol = [\"full\"]\n", "unknown field"),
            (
                "genesis = \"dev\"\nroles = [\"miner\"]\n",
                "unknown variant",
            ),
            ("roles = [\"full\"]\n", "no genesis"),
            (
                "genesis = \"dev\"\nroles = [\"authority\"]\n",
                "needs a key",
            ),
            (
                "genesis = \"dev\"\nroles = [\"provider\"]\n",
                "[provider] section",
            ),
            ("genesis = \"missing.toml\"\n", "reading genesis"),
            (
                "genesis = \"dev\"\nroles = [\"provider\"]\n[provider]\nkey = \"k\"\nstake = \"5\"\n\
                 [provider.strategy]\nprice_per_fuel = 1\nmax_fuel_per_job = 1\ncapacity = 1\n\
                 offer_lifetime_blocks = 5\n",
                "below the chain's minimum stake",
            ),
            (
                "genesis = \"dev\"\nroles = [\"provider\"]\n[provider]\nkey = \"k\"\n\
                 stake = \"100000000000\"\n[provider.strategy]\nprice_per_fuel = 0\n\
                 max_fuel_per_job = 1\ncapacity = 1\noffer_lifetime_blocks = 5\n",
                "price_per_fuel",
            ),
            (
                "genesis = \"dev\"\n[rpc]\naddr = \"nowhere\"\n",
                "invalid socket address",
            ),
        ];
        for (text, expected) in cases {
            let config = write(dir.path(), "bad.toml", text);
            let err = resolve(&NodeArgs {
                config: Some(config),
                ..NodeArgs::default()
            })
            .unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.contains(expected), "{text:?}: {msg}");
        }
    }

    #[test]
    fn a_genesis_file_is_read_and_validated() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = crate::dev::dev_genesis();
        write(dir.path(), "genesis.toml", &toml::to_string(&g).unwrap());
        assert_eq!(genesis("genesis.toml", Some(dir.path())).unwrap(), g);
        g.authorities.clear();
        write(dir.path(), "empty.toml", &toml::to_string(&g).unwrap());
        let err = genesis("empty.toml", Some(dir.path())).unwrap_err();
        assert!(format!("{err:#}").contains("authority"), "{err:#}");
    }
}
