//! A `joule dev` child process on a free port, for tests that drive the node from outside.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `joule dev`, killed when dropped.
pub struct Dev {
    child: Child,
    /// Its JSON-RPC URL (`http://127.0.0.1:PORT`).
    pub rpc: String,
    /// Its data directory.
    pub dir: tempfile::TempDir,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `joule dev` on a free port in a fresh data directory and waits for its RPC server.
pub fn start_dev() -> Dev {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["dev", "--rpc.addr", "127.0.0.1:0", "--datadir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                && line.contains("JSON-RPC listening")
            {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("joule dev did not start its RPC server");
    Dev {
        child,
        rpc: format!("http://{addr}"),
        dir,
    }
}
