//! `joule node --config FILE` as a child process.

use std::process::Command;

use joule_ledger::SecretKey;
use joule_node::dev::{DEV_AUTHORITY_SEED, DEV_PROVIDER_SEED};

fn joule() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_joule"));
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1");
    cmd
}

fn hex_key(seed: &str) -> String {
    format!("0x{}\n", hex::encode(SecretKey::from_seed(seed).to_bytes()))
}

#[test]
fn an_authority_and_provider_node_runs_from_its_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(
        dir.path().join("keys/authority.key"),
        hex_key(DEV_AUTHORITY_SEED),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("keys/provider.key"),
        hex_key(DEV_PROVIDER_SEED),
    )
    .unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        r#"
datadir = "data"
genesis = "dev"
roles = ["authority", "provider"]

[rpc]
addr = "127.0.0.1:0"

[authority]
key = "keys/authority.key"

[provider]
key = "keys/provider.key"
stake = "100000000000"

[provider.strategy]
price_per_fuel = 2
max_fuel_per_job = 1000000000
capacity = 1
offer_lifetime_blocks = 20
"#,
    )
    .unwrap();
    let out = joule()
        .args(["node", "--until-block", "3", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("joule node started"), "{log}");
    assert!(log.contains("registering as a provider"), "{log}");
    assert!(log.contains("reached --until-block"), "{log}");
    assert!(dir.path().join("data/db").exists());
    assert!(dir.path().join("data/provider/journal.json").exists());
}

#[test]
fn a_bad_config_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(&config, "genesis = \"dev\"\nroles = [\"authority\"]\n").unwrap();
    let out = joule()
        .args(["node", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("role authority needs a key"), "{err}");

    // A key that is not a genesis authority cannot run as one.
    std::fs::write(dir.path().join("stranger.key"), hex_key("not-an-authority")).unwrap();
    let out = joule()
        .args([
            "node",
            "--genesis",
            "dev",
            "--role",
            "authority",
            "--authority.key",
        ])
        .arg(dir.path().join("stranger.key"))
        .arg("--datadir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a genesis authority"), "{err}");
}

#[test]
fn help_explains_every_flag_group() {
    let out = joule().args(["node", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--config",
        "--datadir",
        "--genesis",
        "--role",
        "JSON-RPC:",
        "--rpc.addr",
        "Keys:",
        "--authority.key",
        "--provider.key",
        "Passphrase:",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}
