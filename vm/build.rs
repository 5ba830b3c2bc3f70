//! Builds the guest SDK and the example jobs in `vm/jobs` for `wasm32-unknown-unknown` and puts
//! the modules in `$OUT_DIR/jobs/<name>.wasm` for `joule_vm::examples`.
//!
//! The nested cargo uses its own target directory under OUT_DIR (the outer build holds the lock on
//! the workspace one), a clean environment (no outer RUSTFLAGS, wrappers such as clippy-driver,
//! or profile overrides), the job workspace's committed Cargo.lock (`--locked`), and path
//! remapping so that the modules do not depend on where the repository is checked out.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const JOBS: [&str; 5] = [
    "hash_chain",
    "primes",
    "matmul",
    "mandelbrot",
    "pointer_chase",
];
const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo; qed"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo; qed"));
    let jobs_dir = manifest_dir.join("jobs");
    println!("cargo::rerun-if-changed={}", jobs_dir.display());

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = out_dir.join("jobs-target");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&jobs_dir)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = matches!(key, "CARGO_HOME" | "CARGO_MAKEFLAGS" | "CARGO_NET_OFFLINE")
            || key.starts_with("CARGO_REGISTRIES_")
            || key.starts_with("CARGO_HTTP_");
        let outer = key.starts_with("CARGO_")
            || key.starts_with("__CARGO")
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "PROFILE"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
            );
        if outer && !keep {
            cmd.env_remove(key);
        }
    }
    let flags = [
        "-Cdebuginfo=0".to_string(),
        format!("--remap-path-prefix={}=/joule/vm/jobs", jobs_dir.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home().display()),
    ];
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));

    let status = cmd.status();
    let ok = matches!(&status, Ok(s) if s.success());
    if !ok {
        let hint = if target_installed() {
            "see the cargo output above".to_string()
        } else {
            format!("the {TARGET} target is not installed: run `rustup target add {TARGET}`")
        };
        panic!(
            "building the Joule example jobs in {} for {TARGET} failed ({status:?}): {hint}",
            jobs_dir.display()
        );
    }

    let built = target_dir.join(TARGET).join("release");
    let dest = out_dir.join("jobs");
    std::fs::create_dir_all(&dest).expect("creating OUT_DIR/jobs");
    for job in JOBS {
        let from = built.join(format!("joule_job_{job}.wasm"));
        let to = dest.join(format!("{job}.wasm"));
        if let Err(e) = std::fs::copy(&from, &to) {
            panic!("copying {} to {}: {e}", from.display(), to.display());
        }
    }
}

fn cargo_home() -> PathBuf {
    if let Some(home) = env::var_os("CARGO_HOME") {
        return home.into();
    }
    env::var_os("HOME")
        .map(|h| Path::new(&h).join(".cargo"))
        .unwrap_or_default()
}

/// Whether the sysroot of the rustc cargo uses has the wasm32 standard library.
fn target_installed() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
}
