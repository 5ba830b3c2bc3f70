//! `joule dev` as a real child process on a temporary data directory.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn joule() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_joule"));
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1");
    cmd
}

fn head_of(output: &str) -> Option<u64> {
    let line = output.lines().find(|l| l.contains("joule dev started"))?;
    let rest = &line[line.find("head=")? + 5..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn dev_commits_blocks_and_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("dev");
    let first = joule()
        .args([
            "dev",
            "--rpc.addr",
            "127.0.0.1:0",
            "--until-block",
            "2",
            "--datadir",
        ])
        .arg(&datadir)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&first.stdout).to_string()
        + &String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{log}");
    assert_eq!(head_of(&log), Some(0), "{log}");
    assert!(
        log.contains("committed block") && log.contains("number=2"),
        "{log}"
    );
    assert!(datadir.join("keys/dev-requester.key").exists());

    let second = joule()
        .args([
            "dev",
            "--rpc.addr",
            "127.0.0.1:0",
            "--until-block",
            "3",
            "--datadir",
        ])
        .arg(&datadir)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&second.stdout).to_string()
        + &String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{log}");
    assert_eq!(
        head_of(&log),
        Some(2),
        "resumed from the last committed block: {log}"
    );
    assert!(log.contains("number=3"), "{log}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = joule()
        .args(["dev", "--rpc.addr", "127.0.0.1:0", "--datadir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no block committed in time");
        let line = lines.next().expect("joule dev exited early").unwrap();
        if line.contains("committed block") && line.contains("number=1") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}: {rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("stopped cleanly")),
        "{rest:?}"
    );
}
