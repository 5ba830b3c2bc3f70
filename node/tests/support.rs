//! A `joule dev` child process for end-to-end tests: start it on a data directory, read its
//! log as it goes, call its JSON-RPC, kill it with SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `joule dev`.
pub struct DevNode {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub rpc: String,
    /// Every log line so far.
    log: Arc<Mutex<Vec<String>>>,
    runtime: tokio::runtime::Runtime,
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DevNode {
    /// Starts `joule dev` on `datadir` with RPC on a free port, plus `extra` flags.
    pub fn start(datadir: &Path, extra: &[&str]) -> DevNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_joule"))
            .args(["dev", "--rpc.addr", "127.0.0.1:0", "--datadir"])
            .arg(datadir)
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        // Keep draining the log so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut node = DevNode {
            child,
            rpc: String::new(),
            log,
            runtime,
        };
        let line = node.wait_for_log("JSON-RPC listening", Duration::from_secs(60));
        let addr = field(&line, "addr").expect("RPC address in the log");
        node.rpc = format!("http://{addr}");
        node
    }

    /// Waits until a log line contains `needle` and returns the first such line.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} within {within:?}; log:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Kills the process with SIGKILL (no clean shutdown).
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Calls `method` with positional `params`; `Err` carries the JSON-RPC error.
    pub fn try_call(&self, method: &str, params: Vec<Value>) -> Result<Value, String> {
        use joule_node::rpc::client::{call, connect};
        self.runtime.block_on(async {
            let client = connect(&self.rpc).map_err(|e| format!("{e:#}"))?;
            call(&client, method, params)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    /// Calls `method`, panicking on an error.
    pub fn call(&self, method: &str, params: Vec<Value>) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Polls `check` once per 100 ms until it returns `Some`, for at most `within`.
    pub fn poll<T>(&self, what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(v) = check() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The balance of `address` as a number.
    pub fn balance(&self, address: &joule_ledger::Address) -> u128 {
        let account = self.call("state_getAccount", vec![serde_json::json!(address)]);
        account["balance"].as_str().unwrap().parse().unwrap()
    }

    /// The head block number.
    pub fn head(&self) -> u64 {
        self.call("chain_head", vec![])["number"].as_u64().unwrap()
    }
}

/// `GET /metrics` from the address the node logged, as text.
pub fn scrape_metrics(node: &DevNode) -> String {
    use std::io::{Read, Write};
    let line = node.wait_for_log("metrics listening", Duration::from_secs(30));
    let addr = field(&line, "addr").expect("metrics address in the log");
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// The value of a metric line `name value` (or `name{labels} value`) in a scrape.
pub fn metric(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// The value of `key=value` in a log line (values may be quoted).
pub fn field(line: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(prefix.as_str()))
        .map(|v| v.trim_matches('"').to_owned())
}

/// Runs `joule` with `args` and returns its output.
pub fn joule(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(args)
        .output()
        .unwrap()
}

/// A fresh temporary directory and a `dev` data directory inside it.
pub fn datadir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    (dir, data)
}

/// A `joule dev --no-demo` in its own temporary directory, killed when dropped.
pub struct Dev {
    /// The process (killed when dropped, before the directory goes).
    _node: DevNode,
    /// Its JSON-RPC URL.
    pub rpc: String,
    /// Its data directory (removed after the process is gone).
    pub dir: tempfile::TempDir,
}

/// Starts a [`Dev`] without the demo job, so tests own every transaction.
pub fn start_dev() -> Dev {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), &["--no-demo"]);
    Dev {
        rpc: node.rpc.clone(),
        _node: node,
        dir,
    }
}
