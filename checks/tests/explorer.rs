//! `check ... --explore ADDR`: the check runs first, and the Explorer it then serves opens
//! at the CLI's shortest counterexample and labels actions in the CLI's protocol words.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback address with a port free a moment ago.
fn free_loopback() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("an address").to_string()
}

/// `GET path` and the body, if the status is 200, retrying for a few seconds while the
/// server starts (the Explorer line is printed just before it binds).
fn get(addr: &str, path: &str) -> Option<String> {
    for _ in 0..50 {
        if let Some(body) = get_once(addr, path) {
            return Some(body);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn get_once(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.lines()
        .next()?
        .contains(" 200 ")
        .then(|| body.to_string())
}

#[test]
fn the_explorer_opens_at_the_shortest_counterexample_in_protocol_words() {
    let addr = free_loopback();
    let mut child = Command::new(env!("CARGO_BIN_EXE_check"))
        .args([
            "twopc",
            "--bug",
            "decide-before-logging",
            "--explore",
            &addr,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("check starts");
    let stderr = BufReader::new(child.stderr.take().expect("piped"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut link = None;
    for line in stderr.lines() {
        let line = line.expect("stderr is text");
        if let Some(rest) = line.strip_prefix("Explorer: ") {
            link = Some(rest.to_string());
            break;
        }
        assert!(Instant::now() < deadline, "no Explorer line in time");
    }
    let link = link.expect("an Explorer line on stderr");
    let result = std::panic::catch_unwind(|| {
        // "http://ADDR/#/steps/0/0/5/... opens at the counterexample to Stability (9 steps)"
        assert!(link.contains("opens at the counterexample to"), "{link}");
        let url = link.split(' ').next().unwrap();
        let path = url
            .split_once("#/steps")
            .map(|(_, p)| p.to_string())
            .unwrap_or_else(|| panic!("no path in {link}"));
        let steps = path.trim_matches('/').split('/').count() - 1;
        assert!(link.contains(&format!("({steps} steps)")), "{link}");
        // The path's first step, then the whole path, resolve in the Explorer.
        let first: Vec<&str> = path.trim_matches('/').split('/').take(1).collect();
        let init = get(&addr, &format!("/.states/{}", first[0])).expect("the first step");
        assert!(init.contains("coord begins"), "{init}");
        let end = get(&addr, &format!("/.states{path}")).expect("the whole path resolves");
        // Labels are protocol words, not Debug names of actions.
        assert!(
            end.contains("timer fires") || end.contains("receives"),
            "{end}"
        );
        assert!(!end.contains("Step(") && !end.contains("Begin"), "{end}");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
