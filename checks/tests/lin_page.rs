//! The HTML page of `check lin --html`, as a browser shows it: the page is rendered by
//! headless Chromium (its script included) and the resulting DOM is checked. The tests
//! need Chromium (`apt-get install chromium`); CI installs it.

mod common;
use common::{check, porcupine, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh folder for this test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("check-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The DOM of `page` after its script ran, in a 1400×1000 window.
fn dom(page: &Path) -> String {
    let url = format!("file://{}", page.display());
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--virtual-time-budget=2000",
        "--dump-dom",
        url.as_str(),
    ];
    for browser in ["chromium", "chromium-browser", "/usr/bin/chromium"] {
        if let Ok(o) = Command::new(browser).args(args).output() {
            assert!(
                o.status.success(),
                "{browser} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return String::from_utf8_lossy(&o.stdout).into_owned();
        }
    }
    panic!(
        "these tests render the page in headless Chromium, which is not installed: \
         apt-get install chromium"
    );
}

/// Writes the page of `history` checked against `model` and returns its DOM.
fn page_dom(dir: &Path, history: &str, model: &str, code: i32) -> String {
    let page = dir.join(format!("{model}.html"));
    let o = check(&[
        "lin",
        history,
        "--model",
        model,
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(code), "{}{}", stdout(&o), stderr(&o));
    dom(&page)
}

#[test]
fn the_failing_read_of_etcd_000_is_selected_centred_and_explained() {
    let dir = temp_dir("lin-page-etcd");
    let dom = page_dom(&dir, &porcupine("jepsen/etcd_000.log"), "etcd", 1);
    // Operation #43 (process 11's read of 2) cannot be placed.
    assert!(
        dom.contains("class=\"op blocked sel\" id=\"p0o43\""),
        "the failing read is selected"
    );
    assert!(
        dom.contains("data-centred=\"p0o43\""),
        "the script scrolled the failing read into the middle of the timeline"
    );
    let reason = "after the 42-operation prefix the state is 1; this read returned 2";
    assert!(
        dom.contains(&format!(
            "<b>✗ read -&gt; 2</b> (process 11) cannot be placed: {reason}."
        )),
        "the reason is above the timeline"
    );
    // The side panel, as the script filled it.
    let panel = &dom[dom.find("<aside class=\"panel\">").expect("a side panel")..];
    let panel = &panel[..panel.find("</aside>").unwrap()];
    for detail in [
        "<h3>read -&gt; 2</h3>",
        "<dd>process 11</dd>",
        "<dt>called</dt><dd>84</dd>",
        "<dt>returned</dt><dd>85</dd>",
        "<dt>state after the prefix</dt><dd class=\"state\">1</dd>",
        reason,
    ] {
        assert!(panel.contains(detail), "{detail} not in {panel}");
    }
    // The failing bar carries its whole label.
    assert!(dom.contains("<span class=\"lb\"><b>✗</b>read -&gt; 2</span>"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_partitioned_history_offers_every_key_failing_first() {
    let dir = temp_dir("lin-page-kv");
    let dom = page_dom(&dir, &porcupine("kv/c10-bad.txt"), "kv", 1);
    let select = &dom[dom.find("<select id=\"parts\"").expect("a part selector")..];
    let select = &select[..select.find("</select>").unwrap()];
    let options: Vec<&str> = select.split("<option").skip(1).collect();
    assert_eq!(options.len(), 10, "one per key: {select}");
    assert!(
        options[0].contains("key \"7\": not linearizable"),
        "{select}"
    );
    assert!(
        options[1..].iter().all(|o| !o.contains("not linearizable")),
        "{select}"
    );
    // Only the failing key's part is shown, with its read selected.
    assert_eq!(dom.matches("<section class=\"part\"").count(), 10);
    assert_eq!(
        dom.matches(" hidden=\"\"").count() + dom.matches(" hidden>").count(),
        9
    );
    assert!(dom.contains("class=\"op blocked sel\""));
    assert!(
        dom.contains("this get returned \"\""),
        "the reason names the read"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
