//! `joule keys` as a real child process, with the passphrase in an environment variable and a
//! small scrypt n (the hidden `--scrypt-log-n`) so the tests are fast.

use std::path::Path;
use std::process::{Command, Output};

use joule_ledger::SecretKey;
use joule_node::keystore::{self, PassphraseSource};

const PASSPHRASE: &str = "correct horse battery staple";

fn joule(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(args)
        .env("JOULE_PASSWORD", PASSPHRASE)
        .output()
        .expect("the joule binary runs")
}

fn ok_json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON value")
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// `joule keys new` into `dir` with a fast n; returns its JSON report.
fn new_key(dir: &Path) -> serde_json::Value {
    ok_json(&joule(&[
        "keys",
        "new",
        "--keystore",
        utf8(dir),
        "--password-env",
        "JOULE_PASSWORD",
        "--scrypt-log-n",
        "10",
        "--json",
    ]))
}

#[test]
fn new_list_and_inspect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keystore = dir.path().join("keystore");
    let a = new_key(&keystore);
    let b = new_key(&keystore);
    let a_address = a["address"].as_str().expect("address");
    assert!(a_address.starts_with("0x") && a_address.len() == 42, "{a}");
    assert_ne!(a["address"], b["address"]);
    let a_file = Path::new(a["file"].as_str().expect("file")).to_owned();
    assert!(a_file.starts_with(&keystore), "{a}");

    // The file is a keystore v3 document holding the key it says, readable by the library.
    let key = keystore::read_key(&a_file, &PassphraseSource::Given(PASSPHRASE.into()))
        .expect("the library decrypts what `keys new` wrote");
    assert_eq!(key.address().to_string(), a_address);
    let file = keystore::load(&a_file).expect("loads");
    assert_eq!(file.crypto.kdfparams.n, 1024);
    assert_eq!(
        file.address.as_deref(),
        Some(a_address.trim_start_matches("0x"))
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a_file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // `list` shows both, with their files, and skips what is not a key file.
    std::fs::write(keystore.join("notes.txt"), "not a key").expect("write");
    let o = joule(&["keys", "list", "--keystore", utf8(&keystore), "--json"]);
    let listed = ok_json(&o);
    let listed = listed.as_array().expect("an array");
    assert_eq!(listed.len(), 2, "{listed:?}");
    for made in [&a, &b] {
        assert!(listed.contains(made), "{made} not in {listed:?}");
    }
    assert!(String::from_utf8_lossy(&o.stderr).contains("notes.txt"));
    let o = joule(&["keys", "list", "--keystore", utf8(&keystore)]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).expect("utf-8");
    assert!(
        text.lines()
            .any(|l| l.starts_with(a_address) && l.ends_with(utf8(&a_file))),
        "{text}"
    );

    // `inspect` decrypts with the passphrase and prints address and public key, not the secret.
    let v = ok_json(&joule(&[
        "keys",
        "inspect",
        utf8(&a_file),
        "--password-env",
        "JOULE_PASSWORD",
        "--json",
    ]));
    assert_eq!(v["address"], a_address);
    assert_eq!(
        v["public_key"],
        format!("0x{}", hex::encode(key.public_key_uncompressed()))
    );
    assert!(v.get("secret").is_none(), "{v}");
    let v = ok_json(&joule(&[
        "keys",
        "inspect",
        utf8(&a_file),
        "--password-env",
        "JOULE_PASSWORD",
        "--json",
        "--show-secret",
    ]));
    assert_eq!(v["secret"], format!("0x{}", hex::encode(key.to_bytes())));

    // A wrong passphrase fails with the MAC error.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not it\n").expect("write");
    let o = joule(&[
        "keys",
        "inspect",
        utf8(&a_file),
        "--password-file",
        utf8(&wrong),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("wrong passphrase"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn new_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("mine.json");
    let args = [
        "keys",
        "new",
        "--out",
        utf8(&out),
        "--password-env",
        "JOULE_PASSWORD",
        "--scrypt-log-n",
        "10",
        "--json",
    ];
    let first = ok_json(&joule(&args));
    let before = std::fs::read(&out).expect("written");
    let o = joule(&args);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).expect("still there"), before);
    let key = keystore::read_key(&out, &PassphraseSource::Given(PASSPHRASE.into())).expect("reads");
    assert_eq!(first["address"], key.address().to_string());
}

#[test]
fn new_without_a_passphrase_source_value_fails_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["keys", "new", "--keystore", utf8(dir.path())])
        .args([
            "--password-env",
            "JOULE_TEST_UNSET_PASSWORD",
            "--scrypt-log-n",
            "10",
        ])
        .env_remove("JOULE_TEST_UNSET_PASSWORD")
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("JOULE_TEST_UNSET_PASSWORD"));
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "no key file is left behind"
    );
}

#[test]
fn inspect_a_secret_and_a_dev_key_file() {
    // The Ethereum address vector also used in joule-ledger's crypto tests.
    let secret = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let v = ok_json(&joule(&["keys", "inspect", "--secret", secret, "--json"]));
    assert_eq!(v["address"], "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23");
    assert!(v.get("secret").is_none());
    let pk = v["public_key"].as_str().expect("public key");
    assert!(pk.starts_with("0x04") && pk.len() == 2 + 130, "{pk}");

    let o = joule(&["keys", "inspect", "--secret", secret]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).expect("utf-8");
    assert!(
        text.contains("address     0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"),
        "{text}"
    );
    assert!(!text.contains(secret), "{text}");

    // The plain hex file `joule dev` writes needs no passphrase.
    let dir = tempfile::tempdir().expect("temp dir");
    let dev_key = dir.path().join("dev-requester.key");
    let key = SecretKey::from_seed(joule_node::dev::DEV_REQUESTER_SEED);
    std::fs::write(&dev_key, format!("0x{}\n", hex::encode(key.to_bytes()))).expect("write");
    let v = ok_json(&joule(&["keys", "inspect", utf8(&dev_key), "--json"]));
    assert_eq!(v["address"], key.address().to_string());
}
