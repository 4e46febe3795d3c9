//! The page that `check <exercise> --html FILE` writes: one self-contained HTML file (inline
//! CSS and script, no network) with the same content as the text report, drawn.
//!
//! - A header: the exercise, bounds, bug variant, verdict, coverage, state counts and
//!   times, the property the counterexample breaks (with whether it is shortest and
//!   replayed), and every property's outcome.
//! - The counterexample as a message-sequence diagram: one vertical lane per process
//!   ([`Trace::lanes`]), one row per step (`data-step="N"`). The acting process's lane
//!   carries a dot, the lanes whose fields changed are shaded, and messages are arrows
//!   between lanes: level within a row when the model exchanges them in one step, slanted
//!   from the sending row down to the delivering row when they wait in the network, ending
//!   in a cross when lost, and a short dashed stub when never delivered. Each
//!   row also lists the fields the step changed, collections as `-removed +added`.
//! - The initial state (the first row) and the state that breaks the property (the last),
//!   with the property, its explanation, and the fields the explanation names highlighted.
//! - Without a counterexample, the header and a section that says so.
//!
//! The rows, lanes, dots, shading and text are plain HTML and CSS; only the arrows are
//! drawn by the inline script, because a slanted arrow's ends depend on the rows' heights
//! after the text wraps. Without script the page keeps everything but the arrows, and
//! each step's text still names its messages. A model without lanes gets one lane per
//! field owner (the part of a field's name before its first `.`), so that its steps still
//! show which parts of the state changed.

use super::report::{ArrowKind, Change, Field, RunReport, Trace, Verdict};
use super::text;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::{self, Display, Write as _};

/// Renders the whole page for `report`.
///
/// Guarantees: the page is one HTML document that loads nothing from elsewhere; every
/// string from the report (action descriptions, field values, explanations) is escaped;
/// it has exactly one element with a `data-step` attribute per step of the counterexample
/// (none without one); lane `i` of the diagram has `data-lane="NAME"` in the header.
pub fn render(report: &RunReport) -> String {
    let mut out = String::with_capacity(32 * 1024);
    write_page(&mut out, report).expect("formatting into a String cannot fail");
    out
}

/// Text, HTML-escaped when displayed: for every page `check` writes.
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Pixels from a row's top to its first arrow, between arrows, and below the last.
const PAD_TOP: usize = 30;
const GAP: usize = 26;
const PAD_BOTTOM: usize = 16;
/// The least height of a step row, in pixels.
const ROW_MIN: usize = 44;
/// Room left and right of the outer lanes, in pixels, for arrow labels.
const MARGIN: usize = 28;

/// A lane's width in pixels for `n` lanes: wide for few, narrower for many.
fn lane_width(n: usize) -> usize {
    (520 / n.max(1)).clamp(90, 140)
}

fn write_page(out: &mut String, report: &RunReport) -> fmt::Result {
    let title = match &report.counterexample {
        Some(t) => format!("{}: counterexample to {}", report.exercise, t.property),
        None => format!("{}: {}", report.exercise, text::verdict_line(report)),
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    writeln!(out, "<title>{} · check</title>", Esc(&title))?;
    let diagram = report.counterexample.as_ref().map(Diagram::new);
    out.push_str("<style>\n");
    out.push_str(STYLE);
    if let Some(d) = &diagram {
        d.write_style(out)?;
    }
    out.push_str("</style>\n</head>\n<body>\n");
    write_header(out, report)?;
    match &diagram {
        Some(d) => {
            let expected = report
                .expected_finding
                .as_ref()
                .is_some_and(|f| f.found && f.property == d.trace.property);
            d.write(out, expected)?;
        }
        None => write_no_counterexample(out, report)?,
    }
    out.push_str("</body>\n</html>\n");
    Ok(())
}

fn write_header(out: &mut String, r: &RunReport) -> fmt::Result {
    out.push_str("<header>\n");
    write!(out, "<h1>check {}", Esc(&r.exercise))?;
    if let Some(bug) = &r.bug {
        write!(out, " <span class=\"bug\">--bug {}</span>", Esc(bug))?;
    }
    out.push_str("</h1>\n");
    writeln!(
        out,
        "<p class=\"summary\">bounds {} · strategy {}, {} thread{}, symmetry reduction {}</p>",
        Esc(&text::bounds(r)),
        Esc(&r.strategy),
        r.threads,
        if r.threads == 1 { "" } else { "s" },
        if r.symmetry { "on" } else { "off" }
    )?;
    let class = match (r.verdict, &r.expected_finding) {
        (Verdict::Fails, _) => "v-no",
        (Verdict::Holds, Some(_)) => "v-expected",
        (Verdict::Holds, None) if r.coverage.is_exhausted() => "v-yes",
        (Verdict::Holds, None) | (Verdict::Unknown, _) => "v-bounded",
    };
    writeln!(
        out,
        "<p class=\"verdict {class}\" id=\"verdict\">{}</p>",
        Esc(&text::verdict_line(r))
    )?;
    out.push_str("<div class=\"overview\">\n<dl class=\"facts\">\n");
    if let Some(t) = &r.counterexample {
        let s = if t.length == 1 { "" } else { "s" };
        let shortest = if t.shortest {
            "shortest: no shorter counterexample exists"
        } else {
            "not shortened: shorter ones may exist"
        };
        let replayed = if t.replayed {
            "; replayed from its actions and the violation confirmed at its last step"
        } else {
            ""
        };
        writeln!(
            out,
            "<dt>counterexample</dt><dd>to <b class=\"prop-name\">{}</b> ({}): {} step{s}, {shortest}{replayed}</dd>",
            Esc(&t.property),
            Esc(&t.expectation),
            t.length
        )?;
    }
    if let Some(f) = &r.expected_finding {
        writeln!(
            out,
            "<dt>expected finding</dt><dd>{} is violated: {}</dd>",
            Esc(&f.property),
            Esc(&f.meaning)
        )?;
    }
    writeln!(
        out,
        "<dt>coverage</dt><dd>{}</dd>",
        Esc(&text::coverage(&r.coverage))
    )?;
    writeln!(
        out,
        "<dt>states</dt><dd>{} generated, {} unique, max depth {} steps</dd>",
        text::count(r.states_generated),
        text::count(r.unique_states),
        r.max_depth
    )?;
    write!(
        out,
        "<dt>time</dt><dd>{:.2} s exploring ({} states/s)",
        r.wall_seconds,
        text::count(r.states_per_second as usize)
    )?;
    if r.counterexample.is_some() {
        write!(
            out,
            ", {:.2} s shortening and replaying",
            r.shortening_seconds
        )?;
    }
    out.push_str("</dd>\n</dl>\n");
    out.push_str("<table class=\"props\">\n<thead><tr><th>expectation</th><th>property</th><th>status</th></tr></thead>\n<tbody>\n");
    for p in &r.properties {
        let class = if p.status.is_failure() {
            " class=\"fail\""
        } else if r
            .counterexample
            .as_ref()
            .is_some_and(|t| t.property == p.name)
        {
            " class=\"found\""
        } else {
            ""
        };
        writeln!(
            out,
            "<tr{class} data-property=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            Esc(&p.name),
            Esc(&p.expectation),
            Esc(&p.name),
            Esc(p.status.words())
        )?;
    }
    out.push_str("</tbody>\n</table>\n</div>\n</header>\n");
    Ok(())
}

fn write_no_counterexample(out: &mut String, r: &RunReport) -> fmt::Result {
    out.push_str("<section class=\"none\" id=\"no-counterexample\">\n<h2>No counterexample</h2>\n");
    let within = if r.coverage.is_exhausted() {
        "No property was violated in any reachable state."
    } else {
        "No property was violated within the bound; states beyond it were not checked."
    };
    writeln!(out, "<p>{within}</p>")?;
    writeln!(
        out,
        "<p>Coverage: {}.</p>",
        Esc(&text::coverage(&r.coverage))
    )?;
    if r.verdict == Verdict::Fails {
        writeln!(
            out,
            "<p class=\"fail-note\">The run fails all the same: {}.</p>",
            Esc(&text::verdict_line(r))
        )?;
    }
    out.push_str("</section>\n");
    Ok(())
}

/// An arrow as the script draws it: from lane `f` at row `r1`, slot `s1` (`-1`: the bottom
/// of the row) to lane `t` at row `r2`, slot `s2`.
#[derive(Serialize)]
struct Drawn {
    f: usize,
    t: usize,
    r1: usize,
    s1: i64,
    r2: usize,
    s2: i64,
    /// `exchange`, `message` (waited in the network), `lost`, or `inflight`.
    k: &'static str,
    l: String,
    /// The tooltip: what happened to the message, and when.
    title: String,
}

/// What the script needs: the geometry in pixels and the arrows.
#[derive(Serialize)]
struct Geometry<'a> {
    lane: usize,
    margin: usize,
    pad: usize,
    gap: usize,
    arrows: &'a [Drawn],
}

/// The diagram of one trace, worked out before it is written.
struct Diagram<'a> {
    trace: &'a Trace,
    lanes: Vec<String>,
    lane_w: usize,
    arrows: Vec<Drawn>,
    /// Arrow slots used in each row: 0 is the initial state, 1..=n the steps, n + 1 the
    /// final state.
    slots: Vec<usize>,
    /// Fields of the final state that the explanation names.
    named: BTreeSet<String>,
}

impl<'a> Diagram<'a> {
    fn new(trace: &'a Trace) -> Self {
        let lanes = if trace.lanes.is_empty() {
            owners(&trace.initial_state)
        } else {
            trace.lanes.clone()
        };
        let lane_w = lane_width(lanes.len());
        let mut d = Diagram {
            trace,
            named: named_fields(trace, &lanes),
            lanes,
            lane_w,
            arrows: Vec::new(),
            slots: vec![0; trace.steps.len() + 2],
        };
        d.pair_arrows();
        d
    }

    fn lane(&self, name: &str) -> Option<usize> {
        self.lanes.iter().position(|l| l == name)
    }

    /// Turns each step's arrows into drawn ones: an exchange stays in its row; a send is
    /// joined to the first later delivery or loss of the same message (same ends and
    /// label), or drawn as in flight if there is none; a delivery with no send before it
    /// comes from the initial state; a loss with no send is sent and lost in its row.
    fn pair_arrows(&mut self) {
        struct Open {
            key: (usize, usize, String),
            row: usize,
            slot: usize,
            done: bool,
        }
        let mut open: Vec<Open> = Vec::new();
        let trace = self.trace;
        for step in &trace.steps {
            let row = step.number;
            for a in &step.arrows {
                let (Some(f), Some(t)) = (self.lane(&a.from), self.lane(&a.to)) else {
                    continue;
                };
                let slot = self.slots[row];
                self.slots[row] += 1;
                let key = (f, t, a.label.clone());
                let what = format!("{} -> {} {}", a.from, a.to, a.label);
                let mut drawn = Drawn {
                    f,
                    t,
                    r1: row,
                    s1: slot as i64,
                    r2: row,
                    s2: slot as i64,
                    k: "exchange",
                    l: a.label.clone(),
                    title: format!("step {row}: {what}, sent and received in this step"),
                };
                match a.kind {
                    ArrowKind::Exchange => self.arrows.push(drawn),
                    ArrowKind::Send => open.push(Open {
                        key,
                        row,
                        slot,
                        done: false,
                    }),
                    ArrowKind::Deliver | ArrowKind::Lose => {
                        let lost = a.kind == ArrowKind::Lose;
                        let first_open = open.iter().position(|o| o.key == key && !o.done);
                        let earlier =
                            first_open.or_else(|| open.iter().rposition(|o| o.key == key));
                        let verb = if lost { "lost" } else { "delivered" };
                        drawn.k = if lost { "lost" } else { "message" };
                        match earlier {
                            Some(i) => {
                                open[i].done = true;
                                drawn.r1 = open[i].row;
                                drawn.s1 = open[i].slot as i64;
                                drawn.title = format!(
                                    "{what}: sent at step {}, {verb} at step {row}",
                                    open[i].row
                                );
                            }
                            None if lost => {
                                drawn.title = format!("step {row}: {what}, sent and lost");
                            }
                            None => {
                                drawn.r1 = 0;
                                drawn.s1 = -1;
                                drawn.title =
                                    format!("{what}: in flight initially, delivered at step {row}");
                            }
                        }
                        self.arrows.push(drawn);
                    }
                }
            }
        }
        for o in open.into_iter().filter(|o| !o.done) {
            let (f, t, label) = o.key;
            self.arrows.push(Drawn {
                f,
                t,
                r1: o.row,
                s1: o.slot as i64,
                r2: o.row,
                s2: o.slot as i64,
                k: "inflight",
                title: format!(
                    "{} -> {} {label}: sent at step {}, never delivered",
                    self.lanes[f], self.lanes[t], o.row
                ),
                l: label,
            });
        }
    }

    /// The pixel offset of lane `i`'s centre from the left of the lanes column.
    fn x(&self, i: usize) -> usize {
        MARGIN + i * self.lane_w + self.lane_w / 2
    }

    fn lanes_width(&self) -> usize {
        2 * MARGIN + self.lanes.len() * self.lane_w
    }

    /// The CSS that depends on the lanes: the lanes column's width, and the lane lines
    /// as its background.
    fn write_style(&self, out: &mut String) -> fmt::Result {
        let stops: Vec<String> = (0..self.lanes.len())
            .map(|i| {
                let x = self.x(i);
                format!(
                    "transparent {a}px,#b9c0ca {a}px,#b9c0ca {b}px,transparent {b}px",
                    a = x - 1,
                    b = x + 1
                )
            })
            .collect();
        writeln!(
            out,
            ".lanes{{width:{w}px;flex:0 0 {w}px;background-image:linear-gradient(90deg,{})}}",
            stops.join(","),
            w = self.lanes_width(),
        )
    }

    fn write(&self, out: &mut String, expected: bool) -> fmt::Result {
        let t = self.trace;
        writeln!(
            out,
            "<section id=\"trace\">\n<h2>Counterexample to <span class=\"prop-name\">{}</span>: {} step{}</h2>",
            Esc(&t.property),
            t.length,
            if t.length == 1 { "" } else { "s" }
        )?;
        if expected {
            out.push_str("<p class=\"expected-note\">The expected finding, not a harness failure: the trace below shows it.</p>\n");
        }
        out.push_str(LEGEND);
        out.push_str("<noscript><p class=\"note\">The arrows need JavaScript; each step's text still names its messages.</p></noscript>\n");
        out.push_str("<div class=\"msc\" id=\"msc\">\n");
        // The header row: lane names.
        out.push_str("<div class=\"row head\"><div class=\"num\">step</div><div class=\"lanes\">");
        for (i, l) in self.lanes.iter().enumerate() {
            write!(
                out,
                "<span class=\"lane-name\" data-lane=\"{}\" style=\"left:{}px;width:{}px\">{}</span>",
                Esc(l),
                self.x(i) - self.lane_w / 2,
                self.lane_w,
                Esc(l)
            )?;
        }
        out.push_str(
            "</div><div class=\"text\">what happens, and the fields it changes</div></div>\n",
        );
        self.write_initial(out)?;
        for step in &t.steps {
            self.write_step(out, step)?;
        }
        self.write_final(out)?;
        let w = self.lanes_width();
        writeln!(
            out,
            "<svg class=\"overlay\" id=\"msc-svg\" width=\"{w}\" height=\"10\" aria-hidden=\"true\">{MARKERS}<g id=\"msc-arrows\"></g></svg>"
        )?;
        out.push_str("</div>\n</section>\n");
        let json = serde_json::to_string(&Geometry {
            lane: self.lane_w,
            margin: MARGIN,
            pad: PAD_TOP,
            gap: GAP,
            arrows: &self.arrows,
        })
        .expect("the geometry serializes");
        // `<` only inside strings, where `\u003c` means the same: no `</script>` can end
        // the data early.
        writeln!(
            out,
            "<script type=\"application/json\" id=\"msc-data\">{}</script>",
            json.replace('<', "\\u003c")
        )?;
        out.push_str(SCRIPT);
        Ok(())
    }

    /// The least height of row `row`, for its arrow slots.
    fn min_height(&self, row: usize) -> usize {
        match self.slots[row] {
            0 => ROW_MIN,
            n => (PAD_TOP + (n - 1) * GAP + PAD_BOTTOM).max(ROW_MIN),
        }
    }

    fn write_initial(&self, out: &mut String) -> fmt::Result {
        out.push_str("<div class=\"row state init\" id=\"r0\" data-state=\"initial\"><div class=\"num\">0</div><div class=\"lanes\"></div><div class=\"text\"><p class=\"action\">initial state</p>\n");
        write_state(out, &self.trace.initial_state, &BTreeSet::new())?;
        out.push_str("</div></div>\n");
        Ok(())
    }

    fn write_step(&self, out: &mut String, step: &super::report::Step) -> fmt::Result {
        let n = step.number;
        write!(
            out,
            "<div class=\"row\" id=\"r{n}\" data-step=\"{n}\" style=\"min-height:{}px\"><div class=\"num\">{n}</div><div class=\"lanes\">",
            self.min_height(n)
        )?;
        let changed: BTreeSet<usize> = step
            .changes
            .iter()
            .filter_map(|c| self.lane(text::owner(&c.field).0))
            .collect();
        for i in changed {
            write!(
                out,
                "<i class=\"chg\" style=\"left:{}px\" title=\"{}'s state changes\"></i>",
                self.x(i),
                Esc(&self.lanes[i])
            )?;
        }
        if let Some(i) = step.actor.as_deref().and_then(|a| self.lane(a)) {
            write!(
                out,
                "<i class=\"act\" style=\"left:{}px\" title=\"{} takes this step\"></i>",
                self.x(i),
                Esc(&self.lanes[i])
            )?;
        }
        writeln!(
            out,
            "</div><div class=\"text\"><p class=\"action\">{}</p>",
            Esc(&step.action)
        )?;
        write_changes(out, &step.changes)?;
        out.push_str("</div></div>\n");
        Ok(())
    }

    fn write_final(&self, out: &mut String) -> fmt::Result {
        let t = self.trace;
        let last = t.steps.len() + 1;
        write!(
            out,
            "<div class=\"row state final\" id=\"r{last}\" data-state=\"final\"><div class=\"num\">✗</div><div class=\"lanes\">"
        )?;
        let explanation = t.explanation.join("\n");
        let words = words(&explanation);
        let mut bad: BTreeSet<usize> = self
            .named
            .iter()
            .filter_map(|f| self.lane(text::owner(f).0))
            .collect();
        bad.extend(
            self.lanes
                .iter()
                .enumerate()
                .filter(|(_, l)| words.contains(l.as_str()))
                .map(|(i, _)| i),
        );
        for i in bad {
            write!(
                out,
                "<i class=\"bad\" style=\"left:{}px\" title=\"named in the explanation\"></i>",
                self.x(i)
            )?;
        }
        out.push_str("</div><div class=\"text\">");
        let headline = match t.expectation.as_str() {
            "eventually" => format!(
                "{} never held on this path, and no step is left",
                t.property
            ),
            _ => format!("{} is violated in this state", t.property),
        };
        writeln!(
            out,
            "<div class=\"broken\" id=\"broken\" data-property=\"{}\"><p class=\"headline\">{}</p>",
            Esc(&t.property),
            Esc(&headline)
        )?;
        if !t.explanation.is_empty() {
            out.push_str("<ul class=\"why\">");
            for line in &t.explanation {
                // Indented lines continue the one before.
                let class = if line.starts_with(' ') {
                    " class=\"sub\""
                } else {
                    ""
                };
                write!(out, "<li{class}>{}</li>", Esc(line.trim_start()))?;
            }
            out.push_str("</ul>\n");
        }
        if !t.also_violated.is_empty() {
            writeln!(
                out,
                "<p class=\"also\">Also violated here: {}</p>",
                Esc(&t.also_violated.join(", "))
            )?;
        }
        out.push_str("</div>\n<p class=\"action\">the state that breaks it</p>\n");
        write_state(out, &t.final_state, &self.named)?;
        out.push_str("</div></div>\n");
        Ok(())
    }
}

/// The owners of `fields`, in first-seen order, without `history` (the model's ghost
/// variables, which belong to no process).
fn owners(fields: &[Field]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        let (who, _) = text::owner(&f.name);
        if !who.is_empty() && who != "history" && !out.iter().any(|o| o == who) {
            out.push(who.to_string());
        }
    }
    out
}

/// The words of `text`: runs of letters, digits, `-` and `_`.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The fields of the final state that the explanation names: a field whose own name is
/// a word of the explanation, or whose value (of three characters or more) appears in it,
/// and whose owner is mentioned too unless the owner is no lane (as `history` is not).
/// A heuristic: it may miss a field the explanation means in other words.
fn named_fields(trace: &Trace, lanes: &[String]) -> BTreeSet<String> {
    let text = trace.explanation.join("\n");
    let words = words(&text);
    trace
        .final_state
        .iter()
        .filter(|f| {
            let (who, what) = text::owner(&f.name);
            let owner_named =
                who.is_empty() || !lanes.iter().any(|l| l == who) || words.contains(who);
            let named = words.contains(what)
                || (f.value.chars().count() >= 3 && f.value != "-" && text.contains(&f.value));
            owner_named && named
        })
        .map(|f| f.name.clone())
        .collect()
}

/// A state as a table: one row per owner, its fields as `name=value`, the `named` ones
/// highlighted.
fn write_state(out: &mut String, fields: &[Field], named: &BTreeSet<String>) -> fmt::Result {
    let mut groups: Vec<(&str, Vec<&Field>)> = Vec::new();
    for f in fields {
        let (who, _) = text::owner(&f.name);
        match groups.iter_mut().find(|(w, _)| *w == who) {
            Some((_, fs)) => fs.push(f),
            None => groups.push((who, vec![f])),
        }
    }
    out.push_str("<table class=\"state\">\n");
    for (who, fs) in groups {
        write!(out, "<tr><th>{}</th><td>", Esc(who))?;
        for f in fs {
            let (_, what) = text::owner(&f.name);
            let class = if named.contains(&f.name) {
                "fv named"
            } else {
                "fv"
            };
            write!(
                out,
                "<span class=\"{class}\" data-field=\"{}\"><span class=\"k\">{}</span>=<span class=\"v\">{}</span></span> ",
                Esc(&f.name),
                Esc(what),
                Esc(&f.value)
            )?;
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
    Ok(())
}

/// A step's changes, one line per owner in first-seen order: scalars as `from → to`,
/// collections as `-removed +added`.
fn write_changes(out: &mut String, changes: &[Change]) -> fmt::Result {
    if changes.is_empty() {
        out.push_str("<p class=\"nochange\">no field changes</p>\n");
        return Ok(());
    }
    let mut groups: Vec<(&str, Vec<&Change>)> = Vec::new();
    for c in changes {
        let (who, _) = text::owner(&c.field);
        match groups.iter_mut().find(|(w, _)| *w == who) {
            Some((_, cs)) => cs.push(c),
            None => groups.push((who, vec![c])),
        }
    }
    out.push_str("<ul class=\"changes\">");
    for (who, cs) in groups {
        write!(out, "<li><b class=\"who\">{}</b>", Esc(who))?;
        for c in cs {
            let (_, what) = text::owner(&c.field);
            write!(
                out,
                "<span class=\"chg-item\" data-field=\"{}\"><span class=\"k\">{}</span> ",
                Esc(&c.field),
                Esc(what)
            )?;
            match (&c.added, &c.removed) {
                (Some(added), Some(removed)) => {
                    for r in removed {
                        write!(out, "<del>-{}</del> ", Esc(r))?;
                    }
                    for a in added {
                        write!(out, "<ins>+{}</ins> ", Esc(a))?;
                    }
                }
                _ => write!(
                    out,
                    "<span class=\"old\">{}</span> → <span class=\"new\">{}</span>",
                    Esc(&c.from),
                    Esc(&c.to)
                )?,
            }
            out.push_str("</span>");
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>\n");
    Ok(())
}

const LEGEND: &str = "<ul class=\"legend\">\
<li><i class=\"sw act\"></i>takes the step</li>\
<li><i class=\"sw chg\"></i>its state changes</li>\
<li><svg width=\"34\" height=\"10\"><line x1=\"2\" y1=\"5\" x2=\"30\" y2=\"5\" class=\"exchange\"/></svg>message sent and received in the step</li>\
<li><svg width=\"34\" height=\"10\"><line x1=\"2\" y1=\"1\" x2=\"30\" y2=\"9\" class=\"message\"/></svg>message that waited in the network</li>\
<li><svg width=\"34\" height=\"10\"><line x1=\"2\" y1=\"5\" x2=\"26\" y2=\"5\" class=\"lost\"/></svg>lost</li>\
<li><svg width=\"34\" height=\"10\"><line x1=\"2\" y1=\"3\" x2=\"22\" y2=\"8\" class=\"inflight\"/></svg>never delivered</li>\
<li><i class=\"sw bad\"></i>named in the explanation</li>\
</ul>\n";

/// Arrowheads, one per colour.
const MARKERS: &str = "<defs>\
<marker id=\"h-exchange\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#1e5aa8\"/></marker>\
<marker id=\"h-message\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#6a3fb5\"/></marker>\
</defs>";

/// The page's fixed CSS.
const STYLE: &str = "\
*{box-sizing:border-box}
body{margin:16px 20px;font:14px/1.4 system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;color:#222;background:#fff}
h1{margin:0 0 2px;font-size:21px}
h1 .bug{font:600 15px ui-monospace,Menlo,Consolas,monospace;color:#8e0000;background:#fdecea;padding:1px 6px;border-radius:4px;vertical-align:2px}
h2{margin:18px 0 6px;font-size:17px}
.summary{margin:0;color:#555}
.verdict{display:inline-block;margin:8px 0 4px;padding:3px 10px;border-radius:4px;font-weight:bold;color:#fff}
.v-no{background:#c62828}.v-yes{background:#2e7d32}.v-bounded{background:#757575}.v-expected{background:#b26a00}
.overview{display:flex;flex-wrap:wrap;gap:8px 32px;align-items:flex-start}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0;flex:1 1 520px;max-width:820px}
.facts dt{color:#666}.facts dd{margin:0}
.prop-name{color:#8e0000}
table{border-collapse:collapse;font-size:13px}
th,td{padding:2px 8px;border:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.props{margin:6px 0}
.props tr.fail td{background:#fdecea;color:#8e0000;font-weight:600}
.props tr.found td{background:#fff3c4}
.note,.nochange{margin:2px 0;color:#666}
.expected-note{margin:4px 0;padding:4px 10px;border-left:4px solid #b26a00;background:#fff4e0}
.none{margin-top:16px;padding:8px 14px;border:1px solid #cfd8dc;border-radius:6px;background:#f7fafc}
.fail-note{color:#8e0000;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:2px 18px;margin:4px 0 8px;padding:0;list-style:none;font-size:12.5px;color:#444}
.legend li{display:flex;align-items:center;gap:6px}
.legend svg line{stroke-width:2}
.sw{display:inline-block;position:relative}
.sw.act{width:12px;height:12px;border-radius:50%;background:#263238}
.sw.chg{width:12px;height:16px;border-radius:4px;background:rgba(30,90,168,.22)}
.sw.bad{width:12px;height:16px;border-radius:4px;background:rgba(198,40,40,.35)}
.msc{position:relative;border:1px solid #cfd4da;border-radius:4px}
.row{display:flex;align-items:stretch;border-top:1px solid #e6e8eb}
.row:nth-child(even){background:#fafbfc}
.row.head{position:sticky;top:0;z-index:5;border-top:0;background:#eef1f4;font-size:12.5px;font-weight:600;color:#444;border-bottom:1px solid #cfd4da}
.num{flex:0 0 44px;padding:6px 6px 0 0;text-align:right;font-weight:600;color:#555}
.head .num{padding:6px 6px}
.lanes{position:relative;min-height:100%}
.head .lanes{height:30px}
.lane-name{position:absolute;top:5px;text-align:center;font:700 13px ui-monospace,Menlo,Consolas,monospace;color:#1d2a38}
.lane-name.bad{color:#c62828}
.text{flex:1 1 auto;min-width:0;padding:6px 12px 8px 14px;border-left:1px solid #e6e8eb}
.head .text{padding:6px 14px}
.action{margin:0 0 3px;font-size:14px;overflow-wrap:anywhere}
.state .action{font-weight:600}
.changes{margin:0;padding:0;list-style:none;font:12.5px/1.5 ui-monospace,Menlo,Consolas,monospace;color:#333;overflow-wrap:anywhere}
.changes li{margin:1px 0}
.who{display:inline-block;min-width:3.2em;margin-right:6px;color:#1d2a38}
.chg-item{margin-right:14px}
.chg-item .k{color:#555}
.old{color:#8a6d00;background:#fff8e1}
.new{color:#0b5d1e;background:#e8f5e9}
ins{text-decoration:none;color:#0b5d1e;background:#e8f5e9;padding:0 2px;border-radius:2px}
del{text-decoration:none;color:#8e0000;background:#fdecea;padding:0 2px;border-radius:2px}
.lanes i{position:absolute;display:block}
.lanes i.act{top:8px;width:14px;height:14px;margin-left:-7px;border-radius:50%;background:#263238;border:2px solid #fff;z-index:3}
.lanes i.chg{top:3px;bottom:3px;width:16px;margin-left:-8px;border-radius:5px;background:rgba(30,90,168,.22)}
.lanes i.bad{top:3px;bottom:3px;width:18px;margin-left:-9px;border-radius:5px;background:rgba(198,40,40,.35)}
.row.state .text{padding-bottom:10px}
.row.final{background:#fff7f7}
table.state{margin:2px 0;font-size:12.5px}
table.state th{width:1%;white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace}
table.state td{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.fv{display:inline-block;margin-right:12px}
.fv .k{color:#666}
.fv.named{outline:2px solid #c62828;background:#fdecea;border-radius:3px;padding:0 3px}
.broken{margin:2px 0 8px;padding:6px 12px;border:2px solid #c62828;border-radius:6px;background:#fdecea}
.broken .headline{margin:0;font-weight:700;color:#8e0000}
.why{margin:4px 0 0;padding-left:20px}
.why li.sub{list-style:circle;margin-left:18px}
.also{margin:4px 0 0;color:#8e0000}
svg.overlay{position:absolute;left:0;top:0;pointer-events:none;z-index:2;overflow:visible}
svg line.exchange,svg path.exchange{stroke:#1e5aa8;stroke-width:2;fill:none}
svg line.message{stroke:#6a3fb5;stroke-width:2}
svg line.lost{stroke:#c62828;stroke-width:2;stroke-dasharray:5 3}
svg line.inflight{stroke:#888;stroke-width:2;stroke-dasharray:4 3}
svg .x{stroke:#c62828;stroke-width:2.5}
svg text{font:11.5px system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
svg text.exchange{fill:#16427c}svg text.message{fill:#4a2a85}svg text.lost{fill:#8e0000}svg text.inflight{fill:#555}
";

/// Draws the arrows over the lanes from the geometry in `#msc-data`, again on resize
/// (rows change height when text rewraps).
const SCRIPT: &str = "<script>
(function () {
  var data = document.getElementById('msc-data');
  var msc = document.getElementById('msc');
  var svg = document.getElementById('msc-svg');
  var layer = document.getElementById('msc-arrows');
  if (!data || !msc || !svg || !layer || !document.createElementNS) return;
  var d = JSON.parse(data.textContent);
  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    parent.appendChild(e);
    return e;
  }
  function draw() {
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    var box = msc.getBoundingClientRect();
    svg.setAttribute('height', Math.ceil(box.height));
    var rows = {};
    function row(r) {
      if (!rows[r]) {
        var lanes = document.getElementById('r' + r).querySelector('.lanes');
        var b = lanes.getBoundingClientRect();
        rows[r] = { top: b.top - box.top, bottom: b.bottom - box.top, left: b.left - box.left };
      }
      return rows[r];
    }
    function x(r, lane) { return row(r).left + d.margin + (lane + 0.5) * d.lane; }
    function y(r, slot) { return slot >= 0 ? row(r).top + d.pad + slot * d.gap : row(r).bottom - 8; }
    svg.setAttribute('width', Math.ceil(box.width));
    d.arrows.forEach(function (a) {
      var x1 = x(a.r1, a.f), y1 = y(a.r1, a.s1), x2 = x(a.r2, a.t), y2 = y(a.r2, a.s2);
      var g = el('g', { 'class': 'arrow ' + a.k }, layer);
      el('title', {}, g).textContent = a.title;
      if (a.k === 'lost') x2 = x1 + (x2 - x1) * 0.6;
      if (a.k === 'inflight') { x2 = x1 + (x2 - x1) * 0.45; y2 = y1 + 8; }
      var head = a.k === 'exchange' || a.k === 'message' ? 'url(#h-' + a.k + ')' : 'none';
      if (a.f === a.t) {
        var r = 22;
        el('path', { 'class': 'exchange', d: 'M' + x1 + ',' + y1 + ' c' + r + ',-8 ' + r + ',' + (y2 - y1 + 16) + ' 0,' + (y2 - y1 + 8), 'marker-end': head }, g);
      } else {
        el('line', { 'class': a.k, x1: x1, y1: y1, x2: x2, y2: y2, 'marker-end': head }, g);
      }
      if (a.k === 'lost') {
        el('line', { 'class': 'x', x1: x2 - 5, y1: y2 - 5, x2: x2 + 5, y2: y2 + 5 }, g);
        el('line', { 'class': 'x', x1: x2 - 5, y1: y2 + 5, x2: x2 + 5, y2: y2 - 5 }, g);
      }
      // Level arrows are labelled in the middle; slanted ones just after their start,
      // where each arrow of a row has a height of its own.
      var right = x2 >= x1;
      var tx = (x1 + x2) / 2, ty = y1 - 5, anchor = 'middle';
      var label = a.k === 'inflight' ? a.l + ' \\u2026' : a.l;
      if (y1 !== y2) {
        tx = x1 + (right ? 12 : -12);
        ty = y1 - 4;
        anchor = right ? 'start' : 'end';
      }
      el('text', { 'class': a.k, x: tx, y: ty, 'text-anchor': anchor }, g).textContent = label;
    });
  }
  draw();
  window.addEventListener('resize', draw);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(draw);
})();
</script>
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::report::{Arrow, Coverage, PropertyOutcome, Status, Step, Verdict, SCHEMA};
    use std::collections::{BTreeMap, HashMap};

    fn field(name: &str, value: &str) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
        }
    }

    fn step(number: usize, actor: &str, arrows: Vec<Arrow>) -> Step {
        Step {
            number,
            action: format!("step <{number}> & more"),
            changes: vec![Change {
                field: format!("{actor}.x"),
                from: "{A}".into(),
                to: "{A; B}".into(),
                added: Some(vec!["B".into()]),
                removed: Some(vec![]),
            }],
            actor: Some(actor.into()),
            arrows,
        }
    }

    fn report(trace: Option<Trace>) -> RunReport {
        RunReport {
            schema: SCHEMA,
            exercise: "demo".into(),
            bug: Some("a-bug".into()),
            bounds: BTreeMap::from([("nodes".to_string(), 2)]),
            strategy: "dfs".into(),
            threads: 1,
            symmetry: false,
            coverage: if trace.is_some() {
                Coverage::StoppedAtViolation
            } else {
                Coverage::Exhausted
            },
            states_generated: 10,
            unique_states: 5,
            max_depth: 3,
            wall_seconds: 0.5,
            states_per_second: 20.0,
            properties: vec![PropertyOutcome {
                name: "Safe".into(),
                expectation: "always".into(),
                status: if trace.is_some() {
                    Status::Violated
                } else {
                    Status::Holds
                },
            }],
            verdict: if trace.is_some() {
                Verdict::Fails
            } else {
                Verdict::Holds
            },
            counterexample: trace,
            shortening_seconds: 0.1,
            expected_finding: None,
            expected_bug: None,
            actions: Vec::new(),
            dead_actions: Vec::new(),
        }
    }

    fn trace(steps: Vec<Step>) -> Trace {
        Trace {
            property: "Safe".into(),
            expectation: "always".into(),
            length: steps.len(),
            shortest: true,
            replayed: true,
            lanes: vec!["a".into(), "b".into()],
            initial_state: vec![
                field("a.x", "{A}"),
                field("b.x", "{A}"),
                field("history.h", "-"),
            ],
            steps,
            final_state: vec![
                field("a.x", "{A; B}"),
                field("b.x", "<b>"),
                field("history.h", "-"),
            ],
            explanation: vec!["b holds x twice".into(), "  and more".into()],
            also_violated: vec![],
            explorer_path: None,
        }
    }

    #[test]
    fn a_send_is_paired_with_its_later_delivery() {
        let send = Arrow::new("a", "b", "M", ArrowKind::Send);
        let deliver = Arrow::new("a", "b", "M", ArrowKind::Deliver);
        let t = trace(vec![
            step(
                1,
                "a",
                vec![send.clone(), Arrow::new("a", "b", "N", ArrowKind::Send)],
            ),
            step(2, "b", vec![Arrow::new("b", "a", "X", ArrowKind::Exchange)]),
            step(
                3,
                "b",
                vec![deliver, Arrow::new("b", "a", "L", ArrowKind::Lose)],
            ),
        ]);
        let d = Diagram::new(&t);
        let by_label: HashMap<&str, &Drawn> = d.arrows.iter().map(|a| (a.l.as_str(), a)).collect();
        let m = by_label["M"];
        assert_eq!((m.k, m.r1, m.s1, m.r2, m.s2), ("message", 1, 0, 3, 0));
        let x = by_label["X"];
        assert_eq!((x.k, x.r1, x.r2, x.f, x.t), ("exchange", 2, 2, 1, 0));
        let l = by_label["L"];
        assert_eq!((l.k, l.r1, l.s1, l.r2, l.s2), ("lost", 3, 1, 3, 1));
        let n = by_label["N"];
        assert_eq!((n.k, n.r1, n.s1), ("inflight", 1, 1));
        assert_eq!(d.slots, vec![0, 2, 1, 2, 0]);
    }

    #[test]
    fn a_delivery_without_a_send_comes_from_the_initial_state() {
        let t = trace(vec![step(
            1,
            "b",
            vec![Arrow::new("a", "b", "M", ArrowKind::Deliver)],
        )]);
        let d = Diagram::new(&t);
        assert_eq!((d.arrows[0].r1, d.arrows[0].s1), (0, -1));
    }

    #[test]
    fn the_page_has_one_row_per_step_and_escapes_the_report() {
        let t = trace(vec![
            step(1, "a", vec![Arrow::new("a", "b", "<M>", ArrowKind::Send)]),
            step(
                2,
                "b",
                vec![Arrow::new("a", "b", "<M>", ArrowKind::Deliver)],
            ),
        ]);
        let page = render(&report(Some(t)));
        assert_eq!(page.matches("data-step=\"").count(), 2);
        assert!(page.contains("step &lt;1&gt; &amp; more"));
        assert!(!page.contains("<M>"), "labels are escaped in the JSON too");
        assert!(!page.contains("step <1>"));
        assert_eq!(
            page.matches("<script").count(),
            2,
            "the data and the script"
        );
        assert!(page.contains("data-lane=\"a\"") && page.contains("data-lane=\"b\""));
        assert!(page.contains("<ins>+B</ins>"));
        assert!(
            !page.contains("http://") || !page.contains("src="),
            "loads nothing"
        );
        assert!(page.contains("b holds x twice"));
    }

    #[test]
    fn fields_the_explanation_names_are_highlighted() {
        let t = trace(vec![step(1, "a", vec![])]);
        let named = named_fields(&t, &t.lanes);
        // `b` is mentioned and `x` is a word of the explanation; `a` is not mentioned.
        assert_eq!(named, BTreeSet::from(["b.x".to_string()]));
        let page = render(&report(Some(t)));
        assert!(page.contains("class=\"fv named\" data-field=\"b.x\""));
    }

    #[test]
    fn a_run_without_a_counterexample_says_so() {
        let page = render(&report(None));
        assert!(page.contains("id=\"no-counterexample\""));
        assert!(page.contains("No property was violated in any reachable state."));
        assert!(!page.contains("data-step="));
        assert!(page.contains("data-property=\"Safe\""));
    }

    #[test]
    fn a_model_without_lanes_gets_one_per_field_owner() {
        let fields = vec![
            field("c1.x", "I"),
            field("c1.y", "I"),
            field("memory.x", "0"),
            field("history.last", "0"),
        ];
        assert_eq!(owners(&fields), vec!["c1", "memory"]);
    }
}
