//! The HTML page of a trace validation: every node's summary, then each disagreement
//! with the state before, the step, and what the runtime did beside what the model's
//! step does, the effects that differ marked. Self-contained: no script, no fetch.

use super::super::validate::Verdict;
use crate::engine::html::Esc;
use std::fmt::Write as _;

/// The page for `v`, titled `title` (the run or the files it checked).
pub fn html(v: &Verdict, title: &str) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let verdict = if v.agrees() {
        "every trace agrees with the message-level model"
    } else {
        "the runtime DISAGREES with the message-level model"
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>raft trace validation: {}</title>\n<style>\
body{{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:72em;color:#222}}\
h1{{font-size:1.3em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}\
.bad{{color:#b00020;font-weight:600}} .ok{{color:#1b5e20}} section{{border:1px solid #b00020;border-radius:6px;padding:.6em 1em;margin:1em 0}}\
.cols{{display:grid;grid-template-columns:1fr 1fr;gap:1em}} ol{{margin:.2em 0}} li.differs{{background:#fde7ea}}\
code{{font-family:ui-monospace,monospace;font-size:.95em}}\
</style></head><body>\n<h1>raft trace validation: {}</h1>\n<p class=\"{}\">{}</p>\n",
        Esc(title),
        Esc(title),
        if v.agrees() { "ok" } else { "bad" },
        verdict
    );
    out.push_str("<table><tr><th>node</th><th>trace</th><th>starts</th><th>steps</th><th>idle ticks</th><th>receipts matched</th><th>verdict</th></tr>\n");
    for n in &v.nodes {
        let _ = writeln!(
            out,
            "<tr><td>n{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            n.node,
            Esc(&n.file),
            n.starts,
            n.steps,
            n.idle_ticks,
            n.receipts_matched,
            if n.agrees { "ok" } else { "bad" },
            if n.agrees { "agrees" } else { "disagrees" }
        );
    }
    out.push_str("</table>\n");
    for f in &v.findings {
        let _ = writeln!(
            out,
            "<section data-node=\"{}\"><h2>n{}: {} at <code>{}</code></h2>",
            f.node,
            f.node,
            Esc(f.rule),
            Esc(&f.at)
        );
        if !f.step.is_empty() {
            let _ = writeln!(
                out,
                "<p><b>step</b> ({}): <code>{}</code></p>",
                Esc(&f.action),
                Esc(&f.step)
            );
        }
        let _ = writeln!(
            out,
            "<p><b>state before</b>: <code>{}</code></p>",
            Esc(&f.state_before.join(", "))
        );
        if !f.performed.is_empty() || !f.model.is_empty() {
            out.push_str("<div class=\"cols\">");
            for (title, list, other) in [
                ("the runtime did", &f.performed, &f.model),
                ("the model's step does", &f.model, &f.performed),
            ] {
                let _ = write!(out, "<div><b>{title}</b><ol>");
                if list.is_empty() {
                    out.push_str("<li>(nothing)</li>");
                }
                for e in list {
                    let class = if other.contains(e) { "" } else { " class=\"differs\"" };
                    let _ = write!(out, "<li{class}><code>{}</code></li>", Esc(e));
                }
                out.push_str("</ol></div>");
            }
            out.push_str("</div>\n");
        }
        let _ = writeln!(
            out,
            "<p class=\"bad\">disagrees: {}</p></section>",
            Esc(&f.why)
        );
    }
    out.push_str("</body></html>\n");
    out
}
