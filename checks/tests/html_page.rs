//! `check <exercise> --html FILE`: the page is written, and headless Chromium renders it
//! with one row per step, one lane per process and the arrows the script draws.
//!
//! These tests need Chromium (`chromium`, `chromium-browser` or `google-chrome` on the
//! PATH, or `CHROMIUM=/path/to/it`). Without it they fail and say how to install it; they
//! never skip, so that CI cannot pass without looking at the page.
//!
//! Cost: `raft_page_draws_the_shortest_counterexample` runs the full
//! `check raft --bug commit-previous-term` (about a minute in release builds, several on
//! a loaded machine); the others take seconds.

mod common;

use common::{check, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary: `$CHROMIUM`, else the first of the usual names on the PATH.
fn chromium() -> PathBuf {
    const INSTALL: &str = "Install it with `apt-get install chromium` (Debian; \
                           `chromium-browser` on Ubuntu), or set CHROMIUM=/path/to/chrome";
    if let Some(p) = std::env::var_os("CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "headless Chromium is needed to render the --html page, and CHROMIUM={} is no \
             file. {INSTALL}",
            p.display()
        );
        return p;
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "headless Chromium is needed to render the --html page, and none was found \
         (looked for {} on the PATH and in /usr/bin). {INSTALL}",
        names.join(", ")
    )
}

/// Runs Chromium headless on `page` with `args`; panics if it fails or takes over two
/// minutes. Returns its standard output.
fn headless(page: &Path, profile: &Path, args: &[&str]) -> String {
    let url = format!("file://{}", page.display());
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium().display()));
    let started = Instant::now();
    while child.try_wait().expect("wait for chromium").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish rendering {url} within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("chromium's output");
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM after the page's script ran.
fn dump_dom(page: &Path, profile: &Path) -> String {
    headless(page, profile, &["--dump-dom"])
}

/// Screenshots the page at 1400×1000 into `png` and returns the PNG's size in bytes.
fn screenshot(page: &Path, profile: &Path, png: &Path) -> u64 {
    headless(
        page,
        profile,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,1000",
        ],
    );
    let bytes = std::fs::read(png).expect("chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG"),
        "not a PNG: {}",
        png.display()
    );
    bytes.len() as u64
}

/// Every value of attribute `attr` in `html`, in document order.
fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest[..rest.find('"').expect("a closed attribute")].to_string()
        })
        .collect()
}

/// How many of the trace's arrows are of `kind`.
fn arrows_of(trace: &Value, kind: &str) -> usize {
    trace["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|s| s["arrows"].as_array().expect("arrows").iter())
        .filter(|a| a["kind"] == kind)
        .count()
}

/// Runs `check ARGS --html page --trace-out json` in a fresh directory and returns the
/// directory, the page and the JSON report.
fn run_with_page(name: &str, args: &[&str], code: i32) -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("check-html-{name}-"))
        .tempdir()
        .unwrap();
    let page = dir.path().join(format!("{name}.html"));
    let json = dir.path().join(format!("{name}.json"));
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--html",
        page.to_str().unwrap(),
        "--trace-out",
        json.to_str().unwrap(),
    ]);
    let o = check(&all);
    assert_eq!(o.status.code(), Some(code), "{}{}", stdout(&o), stderr(&o));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (dir, page, report)
}

/// Keeps a copy of a screenshot under `$CHECK_HTML_SHOTS`, if set, for people to look at.
fn keep(png: &Path) {
    if let Some(dir) = std::env::var_os("CHECK_HTML_SHOTS") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(png, dir.join(png.file_name().unwrap())).unwrap();
    }
}

/// Cost: the full raft run, about a minute in release builds.
#[test]
fn raft_page_draws_the_shortest_counterexample() {
    let (dir, page, report) = run_with_page(
        "raft-commit-previous-term",
        &["raft", "--bug", "commit-previous-term"],
        1,
    );
    let trace = &report["counterexample"];
    assert_eq!(trace["length"], 14);
    let profile = dir.path().join("profile");
    let dom = dump_dom(&page, &profile);

    assert!(
        dom.contains("LeaderCompleteness"),
        "the broken property is named"
    );
    assert_eq!(
        attribute_values(&dom, "data-step"),
        (1..=14).map(|n| n.to_string()).collect::<Vec<_>>(),
        "one row per step"
    );
    assert_eq!(attribute_values(&dom, "data-lane"), ["n1", "n2", "n3"]);
    // The script ran: one arrow per exchange (Raft's messages are atomic exchanges).
    let exchanges = arrows_of(trace, "exchange");
    assert!(exchanges >= 7, "elections, AppendEntries, term updates");
    assert_eq!(dom.matches("class=\"arrow exchange\"").count(), exchanges);
    // The header says the trace is shortest and replayed.
    assert!(dom.contains("shortest: no shorter counterexample exists"));
    assert!(dom.contains("replayed from its actions"));
    // The final state: the property, its explanation, the fields it names.
    assert!(dom.contains("id=\"broken\" data-property=\"LeaderCompleteness\""));
    assert!(dom.contains("n2 leads term 4 with log [2]"));
    assert!(dom.contains("class=\"fv named\" data-field=\"n2.log\""));
    // Collections changed element by element.
    assert!(dom.contains("<ins>+term 2: n2</ins>"), "history.leaders");
    assert!(dom.contains("<ins>+2</ins>"), "n2's log grows by one entry");

    let png = dir.path().join("raft-commit-previous-term.png");
    let size = screenshot(&page, &profile, &png);
    assert!(size > 40_000, "a near-empty screenshot ({size} bytes)");
    keep(&png);
}

#[test]
fn twopc_page_joins_each_message_to_its_delivery() {
    let (dir, page, report) = run_with_page(
        "twopc-decide-before-logging",
        &["twopc", "--bug", "decide-before-logging"],
        1,
    );
    let trace = &report["counterexample"];
    // The JSON carries the lanes, actors and arrows the page draws.
    assert_eq!(
        trace["lanes"],
        serde_json::json!(["coord", "p1", "p2", "p3"])
    );
    assert_eq!(trace["steps"][0]["actor"], "coord");
    let first = &trace["steps"][0]["arrows"][0];
    assert_eq!(
        (&first["from"], &first["to"], &first["kind"]),
        (&"coord".into(), &"p1".into(), &"send".into())
    );
    let messages = trace["steps"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "network.messages")
        .expect("Begin sends the Prepares");
    assert_eq!(
        messages["added"],
        serde_json::json!([
            "coord -> p1 Prepare",
            "coord -> p2 Prepare",
            "coord -> p3 Prepare"
        ])
    );
    assert_eq!(messages["removed"], serde_json::json!([]));

    let profile = dir.path().join("profile");
    let dom = dump_dom(&page, &profile);
    let length = trace["length"].as_u64().unwrap() as usize;
    assert_eq!(attribute_values(&dom, "data-step").len(), length);
    assert_eq!(
        attribute_values(&dom, "data-lane"),
        ["coord", "p1", "p2", "p3"]
    );
    assert!(dom.contains("Stability"));
    let (sends, delivers, loses) = (
        arrows_of(trace, "send"),
        arrows_of(trace, "deliver"),
        arrows_of(trace, "lose"),
    );
    assert!(delivers > 0 && sends > delivers);
    // Every delivery is drawn from its send; the sends never delivered are stubs.
    assert_eq!(dom.matches("class=\"arrow message\"").count(), delivers);
    assert_eq!(dom.matches("class=\"arrow lost\"").count(), loses);
    assert_eq!(
        dom.matches("class=\"arrow inflight\"").count(),
        sends - delivers - loses
    );
    assert_eq!(
        dom.matches("class=\"arrow exchange\"").count(),
        arrows_of(trace, "exchange")
    );

    let png = dir.path().join("twopc-decide-before-logging.png");
    let size = screenshot(&page, &profile, &png);
    assert!(size > 40_000, "a near-empty screenshot ({size} bytes)");
    keep(&png);
}

#[test]
fn a_run_without_a_counterexample_writes_a_page_that_says_so() {
    let (dir, page, report) = run_with_page("twopc-holds", &["twopc", "--participants", "2"], 0);
    assert!(report["counterexample"].is_null());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("No counterexample"));
    assert!(html.contains("exhausted: every reachable state was checked"));
    for p in report["properties"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        assert!(
            html.contains(&format!("data-property=\"{name}\"")),
            "{name} is in the property table"
        );
    }
    assert!(!html.contains("data-step="));
    // Only the page, the report and nothing half-written are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn an_html_file_in_a_missing_directory_fails_before_running() {
    let o = check(&["raft", "--html", "/nonexistent-dir/page.html"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--html /nonexistent-dir/page.html"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty(), "nothing was run: {}", stdout(&o));
}
