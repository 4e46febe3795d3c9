//! Renders a checked history as one self-contained HTML page.
//!
//! The page shows one part of the history at a time (a key, for a model that partitions by
//! key), chosen with a selector that lists the failing part first. A part has a timeline with
//! one row per process that has operations in it and one bar per operation, a side panel
//! with the selected operation's details, and a numbered table of the linearization (or of
//! the longest linearizable prefix, followed by the operation that cannot be placed).
//!
//! When a part is not linearizable, the page opens on it with the operation that cannot be
//! placed selected and scrolled to the middle of the timeline, and says why it cannot be
//! placed: the state after the longest prefix and what the operation observed.
//!
//! The time axis is warped (an idea from Porcupine's visualizer): the distinct call and
//! return times are laid out left to right, each at least a few pixels after the one
//! before, and pushed further right where a bar needs room for its label. Order and overlap
//! show, bars fit labels of up to [`FIT_CHARS`] characters, and longer labels are cut on
//! the bar but shown whole in its tooltip and in the side panel.
//!
//! The page uses no external resources: the CSS and the script are inline, and bars are
//! absolutely positioned `div`s, so the file opens offline in any browser. Without
//! JavaScript it still shows the first part, with its failing operation selected and
//! explained. It stays bounded however large the history: at most [`MAX_PAGE_OPS`]
//! operations per part and [`MAX_PAGE_TOTAL_OPS`] over all parts are drawn, and texts are
//! cut to a fixed number of characters.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Display, Write};

/// A verdict, of the whole history (at the top of the page) or of one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageVerdict {
    /// Linearizable; shown in green, and `order` is a full linearization.
    Linearizable,
    /// Not linearizable; shown in red, and `order` is the longest linearizable prefix
    /// found.
    NotLinearizable,
    /// No verdict (a budget ran out, or the check stopped before this part); shown in
    /// grey, and `order` is whatever partial linearization the caller has, often none.
    Unknown,
}

/// One operation on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOp {
    /// The process that issued the operation; each distinct process gets one row.
    pub process: u64,
    /// The time the operation was called: the start of its bar.
    pub call: u64,
    /// The time the operation returned: the end of its bar. `None` means it never returned
    /// (indeterminate); its bar runs to the right edge, dashed and faded.
    pub ret: Option<u64>,
    /// A short plain-text description such as `write 3` or `read -> 3`. It is escaped,
    /// cut to [`MAX_TEXT_CHARS`] characters, and on the bar to [`FIT_CHARS`].
    pub label: String,
}

/// One independently checked part of the history, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePart {
    /// How the selector names it, e.g. `key "k3"` (escaped).
    pub name: String,
    /// What the check found for this part.
    pub verdict: PageVerdict,
    /// The part's operations; may be empty.
    pub ops: Vec<PageOp>,
    /// Indices into `ops`: the linearization found, or when not linearizable the longest
    /// linearizable prefix. Out-of-range indices are ignored.
    pub order: Vec<usize>,
    /// The model's initial state (escaped, cut).
    pub initial: String,
    /// The model state after each step of `order` (escaped, cut); a missing entry shows
    /// blank.
    pub states: Vec<String>,
    /// Index into `ops` of the operation that cannot be placed after `order`: drawn in
    /// red, selected and scrolled into view when the part is shown.
    pub blocked: Option<usize>,
    /// Why `blocked` cannot be placed, one sentence: "after the 42-operation prefix the
    /// state is 1; this read returned 2".
    pub reason: Option<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page heading, usually the history file name (escaped).
    pub title: String,
    /// One line under the heading, e.g. `model cas-register, 605 operations` (escaped).
    pub summary: String,
    /// The verdict of the whole history, shown coloured at the top.
    pub verdict: PageVerdict,
    /// The parts, in the order the selector lists them; the first is shown when the page
    /// opens, so a failing part belongs first.
    pub parts: Vec<PagePart>,
    /// Names for processes that should not read `process N`, such as the final reads of a
    /// Jepsen-style run; their rows and details use the name.
    pub process_names: BTreeMap<u64, String>,
    /// How many operations of the history the caller left off the page.
    pub omitted: usize,
}

/// The most operations a part draws. Beyond it the part draws a window of this many around
/// its blocked operation (or its first ones) and says how many it left out.
pub const MAX_PAGE_OPS: usize = 2000;

/// The most operations the page draws over all its parts. Parts after the first that would
/// go past it are left off the page (and counted as omitted).
pub const MAX_PAGE_TOTAL_OPS: usize = 10_000;

/// Labels and states longer than this many characters are cut (with `…`), so one long
/// value cannot blow up the page.
pub const MAX_TEXT_CHARS: usize = 1000;

/// A bar is made wide enough for this many characters of its label (its step number
/// included); longer labels are cut on the bar.
pub const FIT_CHARS: usize = 40;

/// The same for the operation that cannot be placed, which should read whole.
const BLOCKED_FIT_CHARS: usize = 100;
/// The same cut as [`MAX_TEXT_CHARS`] for the title and summary, which appear once.
const MAX_HEADER_CHARS: usize = 1000;

/// Bar labels are 12 px monospace: about this many pixels a character.
const CHAR_W: f64 = 7.3;
/// Pixels a bar needs besides its text: padding, borders, the step number's margin.
const BAR_PAD: usize = 16;
/// The least distance in pixels between two distinct times.
const GAP: usize = 16;
/// The width in pixels of a bar's last time: a bar runs from its call's position to its
/// return's plus this, so an operation that returns at `t` overlaps one called at `t`.
const END_W: usize = 12;
/// How far past the last time bars that never returned run, in pixels.
const TAIL: usize = 60;
/// Height in pixels of one lane; a process row has one lane unless its bars overlap.
const LANE_H: usize = 22;
/// Width in pixels of the sticky process-name column at the left of the timeline.
const NAME_W: usize = 120;
/// The least distance in pixels between two time labels on the axis.
const TICK_MIN_PX: usize = 80;

/// Renders the page as one self-contained HTML document.
///
/// The result is a complete UTF-8 document with inline CSS and script and no external
/// references. Every caller-supplied string is escaped. At most [`MAX_PAGE_OPS`] operations
/// of a part and [`MAX_PAGE_TOTAL_OPS`] in all are drawn; the page says how many are not.
/// Inconsistent input (indices out of range, `states` shorter than `order`, a return
/// before its call) is drawn as far as it makes sense and never panics.
pub fn render_html(page: &Page) -> String {
    let mut budget = MAX_PAGE_TOTAL_OPS;
    let mut parts = Vec::new();
    let mut left_off = (0, 0);
    for (k, part) in page.parts.iter().enumerate() {
        let drawn = part.ops.len().min(MAX_PAGE_OPS);
        if k > 0 && drawn > budget {
            left_off.0 += 1;
            left_off.1 += part.ops.len();
            continue;
        }
        budget = budget.saturating_sub(drawn);
        parts.push(PartView::new(k, part, &page.process_names));
    }
    let view = View {
        page,
        parts,
        left_off,
    };
    let drawn: usize = view.parts.iter().map(|p| p.drawn.len()).sum();
    let mut out = String::with_capacity(64 * 1024 + drawn * 600);
    view.write_page(&mut out)
        .expect("formatting into a String cannot fail");
    out
}

/// A caller-supplied string, HTML-escaped and cut to at most `.1` characters when shown.
struct Esc<'a>(&'a str, usize);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(self.1) {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\n' => f.write_str("&#10;")?,
                c => f.write_char(c)?,
            }
        }
        if chars.next().is_some() {
            f.write_char('…')?;
        }
        Ok(())
    }
}

/// `text` cut to `n` characters, with `…` in place of the rest.
fn cut(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        None => text.to_string(),
        Some(_) => {
            let keep: String = text.chars().take(n.saturating_sub(1)).collect();
            keep + "…"
        }
    }
}

/// A string as a JSON literal that is safe inside a `<script>` element: no `<` (so no
/// `</script>`) and no `&`.
fn json_str(s: &str, n: usize) -> String {
    let text = cut(s, n);
    serde_json::to_string(&text)
        .expect("strings serialize")
        .replace('<', "\\u003c")
        .replace('&', "\\u0026")
}

/// The whole page, worked out from the [`Page`].
struct View<'a> {
    page: &'a Page,
    parts: Vec<PartView<'a>>,
    /// Parts (and their operations) left off to keep the page bounded.
    left_off: (usize, usize),
}

/// One bar of the timeline.
struct Bar {
    /// Index into the part's `ops`.
    op: usize,
    left: usize,
    width: usize,
    lane: usize,
}

/// One process row of the timeline.
struct Row {
    process: u64,
    /// Every operation of the process was called after the blocked one returned.
    late: bool,
    /// How many lanes the row needs so that none of its bars overlap.
    lanes: usize,
    /// Indices into the part's `bars`.
    bars: Vec<usize>,
}

/// One part, laid out.
struct PartView<'a> {
    /// Its position in `Page::parts`, which names its elements (`p3`, `p3o17`).
    k: usize,
    part: &'a PagePart,
    names: &'a BTreeMap<u64, String>,
    /// Indices into `part.ops` that are drawn, ascending.
    drawn: Vec<usize>,
    /// 1-based step in `part.order` of each drawn op in it (its first, if repeated).
    step_of: HashMap<usize, usize>,
    bars: Vec<Bar>,
    rows: Vec<Row>,
    /// Time labels: (x in pixels from the left of the timeline, time).
    ticks: Vec<(usize, u64)>,
    width: usize,
}

impl<'a> PartView<'a> {
    fn new(k: usize, part: &'a PagePart, names: &'a BTreeMap<u64, String>) -> Self {
        let blocked = part.blocked.filter(|&b| b < part.ops.len());
        let drawn: Vec<usize> = drawn_range(part.ops.len(), blocked).collect();
        let step_of = step_numbers(&part.order, &drawn);
        let mut view = PartView {
            k,
            part,
            names,
            drawn,
            step_of,
            bars: Vec::new(),
            rows: Vec::new(),
            ticks: Vec::new(),
            width: NAME_W,
        };
        view.lay_out();
        view
    }

    /// The blocked op, if it is in range (then `choose_drawn` has drawn it).
    fn blocked(&self) -> Option<usize> {
        self.part.blocked.filter(|&b| b < self.part.ops.len())
    }

    /// The text on op `i`'s bar, before cutting: its step or a cross, and its label.
    fn bar_text(&self, i: usize) -> (Option<String>, &str) {
        let mark = if Some(i) == self.blocked() {
            Some("✗".to_string())
        } else {
            self.step_of.get(&i).map(|s| s.to_string())
        };
        (mark, &self.part.ops[i].label)
    }

    /// How many characters of op `i`'s bar text the bar makes room for.
    fn fit(&self, i: usize) -> usize {
        let (mark, label) = self.bar_text(i);
        let chars = mark.map_or(0, |m| m.chars().count() + 1) + label.chars().count();
        let most = if Some(i) == self.blocked() {
            BLOCKED_FIT_CHARS
        } else {
            FIT_CHARS
        };
        chars.min(most)
    }

    /// Places every time, bar, row and tick (see the module docs for the time warp).
    fn lay_out(&mut self) {
        let ops = &self.part.ops;
        let mut times: Vec<u64> = self
            .drawn
            .iter()
            .flat_map(|&i| std::iter::once(ops[i].call).chain(ops[i].ret))
            .collect();
        times.sort_unstable();
        times.dedup();
        let slot = |t: u64| times.partition_point(|&s| s < t);
        // What each time's position must make room for: the labels of the bars that end
        // there, measured from where they start.
        let mut ending: Vec<Vec<(usize, usize)>> = vec![Vec::new(); times.len()];
        for &i in &self.drawn {
            if let Some(ret) = ops[i].ret {
                let (call, ret) = (slot(ops[i].call), slot(ret));
                if ret > call {
                    ending[ret].push((call, text_px(self.fit(i))));
                }
            }
        }
        let mut x = vec![0usize; times.len()];
        for s in 1..times.len() {
            let mut at = x[s - 1] + GAP;
            for &(call, need) in &ending[s] {
                at = at.max(x[call] + need.saturating_sub(END_W));
            }
            x[s] = at;
        }
        let last = x.last().copied().unwrap_or(0);
        let mut right_edge = last + END_W + TAIL;
        for &i in &self.drawn {
            if ops[i].ret.is_none() {
                right_edge = right_edge.max(x[slot(ops[i].call)] + text_px(self.fit(i)));
            }
        }
        // Bars, one pixel in from each end so that consecutive bars stay apart.
        let mut by_process: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for &i in &self.drawn {
            let start = x[slot(ops[i].call)];
            let end = match ops[i].ret {
                // A return before its call (malformed) is drawn as an instant.
                Some(r) => x[slot(r)].max(start) + END_W,
                None => right_edge,
            };
            by_process
                .entry(ops[i].process)
                .or_default()
                .push(self.bars.len());
            self.bars.push(Bar {
                op: i,
                left: NAME_W + start + 1,
                width: end - start - 2,
                lane: 0,
            });
        }
        for (process, mut members) in by_process {
            members.sort_by_key(|&b| (self.bars[b].left, self.bars[b].op));
            let mut lane_ends: Vec<usize> = Vec::new();
            for &b in &members {
                let bar = &mut self.bars[b];
                let lane = match lane_ends.iter().position(|&e| e <= bar.left) {
                    Some(lane) => lane,
                    None => {
                        lane_ends.push(0);
                        lane_ends.len() - 1
                    }
                };
                lane_ends[lane] = bar.left + bar.width + 2;
                bar.lane = lane;
            }
            let after = self.blocked().and_then(|b| ops[b].ret);
            let late =
                after.is_some_and(|r| members.iter().all(|&b| ops[self.bars[b].op].call > r));
            self.rows.push(Row {
                process,
                late,
                lanes: lane_ends.len().max(1),
                bars: members,
            });
        }
        let mut next = 0;
        for (s, &t) in times.iter().enumerate() {
            if x[s] >= next {
                self.ticks.push((NAME_W + x[s], t));
                next = x[s] + TICK_MIN_PX;
            }
        }
        self.width = NAME_W + right_edge + 1;
    }

    /// How a process reads: `process 3`, or its name.
    fn who(&self, process: u64) -> String {
        match self.names.get(&process) {
            Some(name) => format!("{name} (process {process})"),
            None => format!("process {process}"),
        }
    }

    /// The words used for `order`, which means different things per verdict.
    fn order_name(&self) -> &'static str {
        match self.part.verdict {
            PageVerdict::Linearizable => "the linearization",
            PageVerdict::NotLinearizable => "the longest linearizable prefix",
            PageVerdict::Unknown => "the partial linearization",
        }
    }

    /// What op `i` is in this part's result, in words.
    fn status(&self, i: usize) -> String {
        if Some(i) == self.blocked() {
            return "cannot be placed after the longest linearizable prefix".to_string();
        }
        match self.step_of.get(&i) {
            Some(s) => format!("step {s} of {}", self.order_name()),
            None => format!("not in {}", self.order_name()),
        }
    }

    /// The state after `steps` steps of the order (0: the initial state).
    fn state_after(&self, steps: usize) -> &str {
        match steps {
            0 => &self.part.initial,
            n => self.part.states.get(n - 1).map_or("", String::as_str),
        }
    }

    fn write(&self, out: &mut String, shown: bool, alone: bool) -> fmt::Result {
        write!(out, "<section class=\"part\" id=\"p{}\"", self.k)?;
        if let Some(b) = self.blocked() {
            write!(out, " data-blocked=\"{b}\"")?;
        }
        if !shown {
            out.push_str(" hidden");
        }
        out.push_str(">\n");
        self.write_heading(out, alone)?;
        self.write_why(out)?;
        if self.drawn.is_empty() {
            out.push_str("<p class=\"note\">No operations to draw.</p>\n");
        } else {
            self.write_legend(out)?;
            let late = self.rows.iter().filter(|r| r.late).count();
            if late > 0 {
                // A checkbox before the timeline shows the hidden rows, by CSS alone.
                let s = if late == 1 { "" } else { "es" };
                writeln!(
                    out,
                    "<input type=\"checkbox\" class=\"late\" id=\"p{k}late\">\
                     <label class=\"late\" for=\"p{k}late\">show {late} more process{s}, \
                     whose operations all start after the one that cannot be placed returned \
                     (none of them can be placed before it)</label>",
                    k = self.k
                )?;
            }
            out.push_str("<div class=\"main\">\n");
            self.write_timeline(out)?;
            out.push_str("<aside class=\"panel\">");
            match self.blocked() {
                Some(b) => self.write_details(out, b)?,
                None => out.push_str(
                    "<p class=\"note\">Select an operation (click its bar or its row in the \
                     table) to see its details here.</p>",
                ),
            }
            out.push_str("</aside>\n</div>\n");
        }
        self.write_table(out)?;
        self.write_data(out)?;
        out.push_str("</section>\n");
        Ok(())
    }

    fn write_heading(&self, out: &mut String, alone: bool) -> fmt::Result {
        let total = self.part.ops.len();
        let s = if total == 1 { "" } else { "s" };
        let (class, verdict) = verdict_words(self.part.verdict);
        // A page of one part says its verdict at the top already.
        if !alone {
            writeln!(
                out,
                "<h2>{} <span class=\"pv {class}\">{verdict}</span> <span class=\"count\">\
                 {total} operation{s}</span></h2>",
                Esc(&self.part.name, MAX_HEADER_CHARS),
            )?;
        }
        if total > self.drawn.len() {
            writeln!(
                out,
                "<p class=\"note omitted\">{} of its operations not drawn (a part draws at \
                 most {MAX_PAGE_OPS}: those around the operation that cannot be placed, or \
                 the first ones).</p>",
                total - self.drawn.len()
            )?;
        }
        Ok(())
    }

    /// The failing operation and why it cannot be placed, above the timeline.
    fn write_why(&self, out: &mut String) -> fmt::Result {
        match self.blocked() {
            Some(b) => {
                let op = &self.part.ops[b];
                write!(
                    out,
                    "<p class=\"why\" data-i=\"{b}\"><b>✗ {}</b> ({}) cannot be placed",
                    Esc(&op.label, MAX_TEXT_CHARS),
                    Esc(&self.who(op.process), MAX_TEXT_CHARS)
                )?;
                match &self.part.reason {
                    Some(reason) => writeln!(out, ": {}.</p>", Esc(reason, MAX_TEXT_CHARS)),
                    None => writeln!(out, ".</p>"),
                }
            }
            None if self.part.verdict == PageVerdict::NotLinearizable => {
                out.push_str(
                    "<p class=\"note\">No single operation was named as the one that cannot \
                     be placed.</p>\n",
                );
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn write_legend(&self, out: &mut String) -> fmt::Result {
        let ops = || self.drawn.iter().map(|&i| (i, &self.part.ops[i]));
        out.push_str("<ul class=\"legend\">\n");
        if !self.step_of.is_empty() {
            writeln!(
                out,
                "<li><span class=\"sw\"></span>in {} (the bar shows its step)</li>",
                self.order_name()
            )?;
        }
        if ops().any(|(i, _)| !self.step_of.contains_key(&i) && Some(i) != self.blocked()) {
            writeln!(
                out,
                "<li><span class=\"sw out\"></span>not in {}</li>",
                self.order_name()
            )?;
        }
        if self.blocked().is_some() {
            out.push_str("<li><span class=\"sw blocked\"></span>cannot be placed</li>\n");
        }
        if ops().any(|(_, op)| op.ret.is_none()) {
            out.push_str(
                "<li><span class=\"sw noret\"></span>no return (indeterminate): runs to the \
                 right edge</li>\n",
            );
        }
        out.push_str(
            "<li>time axis: order and overlap, not duration; bars are widened to fit their \
             labels</li>\n</ul>\n",
        );
        Ok(())
    }

    fn write_timeline(&self, out: &mut String) -> fmt::Result {
        writeln!(
            out,
            "<div class=\"scroll\">\n<div class=\"tl\" style=\"width:{}px\">",
            self.width
        )?;
        out.push_str("<div class=\"axis\"><div class=\"corner\">time</div>");
        for &(x, t) in &self.ticks {
            write!(out, "<span class=\"tick\" style=\"left:{x}px\">{t}</span>")?;
        }
        out.push_str("</div>\n");
        for &(x, _) in &self.ticks {
            write!(out, "<i class=\"vl\" style=\"left:{x}px\"></i>")?;
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(if row.late {
                "<div class=\"row late\""
            } else {
                "<div class=\"row\""
            });
            if row.lanes > 1 {
                write!(out, " style=\"height:{}px\"", row.lanes * LANE_H)?;
            }
            let name = match self.names.get(&row.process) {
                Some(name) => name.clone(),
                None => format!("process {}", row.process),
            };
            writeln!(
                out,
                "><div class=\"name\" title=\"{}\">{}</div>",
                Esc(&self.who(row.process), MAX_TEXT_CHARS),
                Esc(&name, MAX_TEXT_CHARS)
            )?;
            for &b in &row.bars {
                self.write_bar(out, &self.bars[b])?;
            }
            out.push_str("</div>\n");
        }
        out.push_str("</div>\n</div>\n");
        Ok(())
    }

    /// One bar. Only `left`, `width` and (in extra lanes) `top` are inline; the rest is CSS
    /// classes.
    fn write_bar(&self, out: &mut String, bar: &Bar) -> fmt::Result {
        let i = bar.op;
        let op = &self.part.ops[i];
        let blocked = Some(i) == self.blocked();
        out.push_str("<div class=\"op");
        if blocked {
            // Selected from the start, so that the page reads right without its script.
            out.push_str(" blocked sel");
        } else if !self.step_of.contains_key(&i) {
            out.push_str(" out");
        }
        if op.ret.is_none() {
            out.push_str(" noret");
        }
        write!(
            out,
            "\" id=\"p{}o{i}\" data-i=\"{i}\" style=\"left:{}px;width:{}px",
            self.k, bar.left, bar.width
        )?;
        if bar.lane > 0 {
            write!(out, ";top:{}px", 2 + bar.lane * LANE_H)?;
        }
        write!(
            out,
            "\" title=\"{}&#10;{} · call {}",
            Esc(&op.label, MAX_TEXT_CHARS),
            Esc(&self.who(op.process), MAX_TEXT_CHARS),
            op.call
        )?;
        match op.ret {
            Some(r) => write!(out, " · return {r}")?,
            None => out.push_str(" · no return (indeterminate)"),
        }
        write!(out, "&#10;{}\">", self.status(i))?;
        let (mark, label) = self.bar_text(i);
        let fit = self.fit(i);
        let mark_chars = mark.as_ref().map_or(0, |m| m.chars().count() + 1);
        // The label sticks to the left edge of the view while a long bar scrolls past.
        out.push_str("<span class=\"lb\">");
        if let Some(mark) = mark {
            write!(out, "<b>{mark}</b>")?;
        }
        let shown = cut(label, fit.saturating_sub(mark_chars).max(1));
        write!(out, "{}", Esc(&shown, MAX_TEXT_CHARS))?;
        out.push_str("</span></div>\n");
        Ok(())
    }

    /// The side panel's contents for op `i`. The page's script writes the same for the
    /// operation a reader selects, from the part's data.
    fn write_details(&self, out: &mut String, i: usize) -> fmt::Result {
        let op = &self.part.ops[i];
        write!(
            out,
            "<h3>{}</h3><dl><dt>process</dt><dd>{}</dd><dt>called</dt><dd>{}</dd>\
             <dt>returned</dt><dd>",
            Esc(&op.label, MAX_TEXT_CHARS),
            Esc(&self.who(op.process), MAX_TEXT_CHARS),
            op.call
        )?;
        match op.ret {
            Some(r) => write!(out, "{r}")?,
            None => out.push_str(NEVER),
        }
        write!(out, "</dd><dt>status</dt><dd>{}</dd>", self.status(i))?;
        if Some(i) == self.blocked() {
            write!(
                out,
                "<dt>state after the prefix</dt><dd class=\"state\">{}</dd>",
                Esc(self.state_after(self.part.order.len()), MAX_TEXT_CHARS)
            )?;
            if let Some(reason) = &self.part.reason {
                write!(
                    out,
                    "<dt>why</dt><dd class=\"reason\">{}</dd>",
                    Esc(reason, MAX_TEXT_CHARS)
                )?;
            }
        } else if let Some(&s) = self.step_of.get(&i) {
            write!(
                out,
                "<dt>state before</dt><dd class=\"state\">{}</dd>\
                 <dt>state after</dt><dd class=\"state\">{}</dd>",
                Esc(self.state_after(s - 1), MAX_TEXT_CHARS),
                Esc(self.state_after(s), MAX_TEXT_CHARS)
            )?;
        }
        out.push_str("</dl>");
        Ok(())
    }

    fn write_table(&self, out: &mut String) -> fmt::Result {
        let total = self.part.ops.len();
        let steps = self.part.order.len();
        out.push_str("<h3>");
        match self.part.verdict {
            PageVerdict::Linearizable => write!(out, "Linearization ({steps} operations)")?,
            PageVerdict::NotLinearizable => write!(
                out,
                "Longest linearizable prefix ({steps} of {total} operations)"
            )?,
            PageVerdict::Unknown => {
                write!(out, "Partial linearization ({steps} of {total} operations)")?
            }
        }
        out.push_str("</h3>\n");
        let mut shown = 0;
        for (pos, &i) in self.part.order.iter().enumerate() {
            let step = pos + 1;
            // A step whose op is not drawn has no bar to point at, and listing it would
            // let a 100k-step order escape the page bound.
            let Some(&first) = self.step_of.get(&i) else {
                continue;
            };
            if shown == 0 {
                out.push_str(
                    "<table>\n<thead><tr><th>step</th><th>process</th><th>operation</th>\
                     <th>state after</th></tr></thead>\n<tbody>\n",
                );
            }
            shown += 1;
            let op = &self.part.ops[i];
            // Only the first step of a (malformed) repeated op links to its bar.
            if first == step {
                write!(out, "<tr id=\"p{}s{i}\" data-i=\"{i}\">", self.k)?;
            } else {
                out.push_str("<tr>");
            }
            writeln!(
                out,
                "<td>{step}</td><td>{}</td><td>{}</td><td class=\"state\">{}</td></tr>",
                Esc(&self.who(op.process), MAX_TEXT_CHARS),
                Esc(&op.label, MAX_TEXT_CHARS),
                Esc(self.state_after(step), MAX_TEXT_CHARS)
            )?;
        }
        if let Some(b) = self.blocked() {
            if shown == 0 {
                out.push_str(
                    "<table>\n<thead><tr><th>step</th><th>process</th><th>operation</th>\
                     <th>state after</th></tr></thead>\n<tbody>\n",
                );
            }
            shown += 1;
            let op = &self.part.ops[b];
            writeln!(
                out,
                "<tr class=\"blocked\" id=\"p{}s{b}\" data-i=\"{b}\"><td>✗</td><td>{}</td>\
                 <td>{}</td><td>cannot be placed</td></tr>",
                self.k,
                Esc(&self.who(op.process), MAX_TEXT_CHARS),
                Esc(&op.label, MAX_TEXT_CHARS),
            )?;
        }
        if shown > 0 {
            out.push_str("</tbody>\n</table>\n");
        } else {
            out.push_str("<p class=\"note\">No steps to list.</p>\n");
        }
        let listed = shown - usize::from(self.blocked().is_some());
        if listed < steps {
            let n = steps - listed;
            let s = if n == 1 { "" } else { "s" };
            writeln!(
                out,
                "<p class=\"note\">{n} step{s} not listed: their operations are not drawn.</p>"
            )?;
        }
        Ok(())
    }

    /// What the script needs to fill the side panel for any drawn operation: per op
    /// `[label, process, call, return, status, step]`, and the states.
    fn write_data(&self, out: &mut String) -> fmt::Result {
        if self.drawn.is_empty() {
            return Ok(());
        }
        out.push_str("<script type=\"application/json\" class=\"data\">{\"ops\":{");
        for (n, &i) in self.drawn.iter().enumerate() {
            let op = &self.part.ops[i];
            if n > 0 {
                out.push(',');
            }
            write!(
                out,
                "\"{i}\":[{},{},{},{},{},{}]",
                json_str(&op.label, MAX_TEXT_CHARS),
                json_str(&self.who(op.process), MAX_TEXT_CHARS),
                op.call,
                op.ret.map_or("null".to_string(), |r| r.to_string()),
                json_str(&self.status(i), MAX_TEXT_CHARS),
                self.step_of
                    .get(&i)
                    .filter(|_| Some(i) != self.blocked())
                    .map_or("null".to_string(), |s| s.to_string())
            )?;
        }
        // The states the drawn steps need: up to the last of them.
        let last = self.step_of.values().copied().max().unwrap_or(0);
        out.push_str("},\"states\":[");
        for s in 0..=last {
            if s > 0 {
                out.push(',');
            }
            out.push_str(&json_str(self.state_after(s), MAX_TEXT_CHARS));
        }
        write!(out, "],\"never\":{}", json_str(NEVER, MAX_TEXT_CHARS))?;
        if self.blocked().is_some() {
            write!(
                out,
                ",\"prefix\":{},\"why\":{}",
                json_str(self.state_after(self.part.order.len()), MAX_TEXT_CHARS),
                json_str(self.part.reason.as_deref().unwrap_or(""), MAX_TEXT_CHARS)
            )?;
        }
        out.push_str("}</script>\n");
        Ok(())
    }
}

/// The words for an op that never returned, in the side panel.
const NEVER: &str =
    "never: indeterminate, it may take effect at any point after its call, or not at all";

/// The CSS class and the words of a verdict.
fn verdict_words(v: PageVerdict) -> (&'static str, &'static str) {
    match v {
        PageVerdict::Linearizable => ("v-yes", "linearizable"),
        PageVerdict::NotLinearizable => ("v-no", "not linearizable"),
        PageVerdict::Unknown => ("v-unknown", "not decided"),
    }
}

/// Pixels a bar needs for `chars` characters of text.
fn text_px(chars: usize) -> usize {
    (chars as f64 * CHAR_W).ceil() as usize + BAR_PAD
}

impl View<'_> {
    fn write_page(&self, out: &mut String) -> fmt::Result {
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        writeln!(
            out,
            "<title>{} · linearizability</title>",
            Esc(&self.page.title, MAX_HEADER_CHARS)
        )?;
        write_style(out)?;
        out.push_str("</head>\n<body>\n");
        self.write_header(out)?;
        if self.parts.is_empty() {
            out.push_str("<p class=\"note\">No operations to draw.</p>\n");
        }
        let alone = self.parts.len() == 1;
        for (n, part) in self.parts.iter().enumerate() {
            part.write(out, n == 0, alone)?;
        }
        out.push_str(SCRIPT);
        out.push_str("</body>\n</html>\n");
        Ok(())
    }

    fn write_header(&self, out: &mut String) -> fmt::Result {
        let (class, text) = match self.page.verdict {
            PageVerdict::Linearizable => ("v-yes", "Linearizable"),
            PageVerdict::NotLinearizable => ("v-no", "Not linearizable"),
            PageVerdict::Unknown => ("v-unknown", "Unknown: the check reached no verdict"),
        };
        writeln!(
            out,
            "<header>\n<h1>{}</h1>\n<p class=\"summary\">{}</p>\n<p class=\"top\">\
             <span class=\"verdict {class}\">{text}</span>",
            Esc(&self.page.title, MAX_HEADER_CHARS),
            Esc(&self.page.summary, MAX_HEADER_CHARS),
        )?;
        if self.parts.len() > 1 {
            out.push_str("<label class=\"pick\">part <select id=\"parts\" autocomplete=\"off\">");
            for p in &self.parts {
                let (_, verdict) = verdict_words(p.part.verdict);
                writeln!(
                    out,
                    "<option value=\"{}\">{}: {verdict}, {} operations</option>",
                    p.k,
                    Esc(&p.part.name, 200),
                    p.part.ops.len()
                )?;
            }
            write!(out, "</select></label> {} parts", self.parts.len())?;
        }
        out.push_str("</p>\n");
        let omitted = self.page.omitted + self.left_off.1;
        if omitted > 0 {
            let s = if omitted == 1 { "" } else { "s" };
            write!(
                out,
                "<p class=\"note omitted\">{omitted} operation{s} of the history not on the page"
            )?;
            if self.left_off.0 > 0 {
                let s = if self.left_off.0 == 1 { "" } else { "s" };
                write!(
                    out,
                    " ({} part{s} left off: a page draws at most {MAX_PAGE_TOTAL_OPS} operations)",
                    self.left_off.0
                )?;
            }
            out.push_str(".</p>\n");
        }
        out.push_str("</header>\n");
        Ok(())
    }
}

/// The operations a part of `n` operations draws, as positions in its `ops`: all of them
/// if they fit, else a window of [`MAX_PAGE_OPS`] around `blocked` (when it is in range),
/// or the first ones. A caller can use it to describe only the states the page shows.
pub fn drawn_range(n: usize, blocked: Option<usize>) -> std::ops::Range<usize> {
    if n <= MAX_PAGE_OPS {
        return 0..n;
    }
    let start = blocked
        .filter(|&b| b < n)
        .map_or(0, |b| b.saturating_sub(MAX_PAGE_OPS / 2));
    let start = start.min(n - MAX_PAGE_OPS);
    start..start + MAX_PAGE_OPS
}

/// The 1-based step of each drawn op in `order`; ops not drawn (or out of range) get none.
fn step_numbers(order: &[usize], drawn: &[usize]) -> HashMap<usize, usize> {
    let mut steps = HashMap::new();
    for (pos, &i) in order.iter().enumerate() {
        if drawn.binary_search(&i).is_ok() {
            steps.entry(i).or_insert(pos + 1);
        }
    }
    steps
}

fn write_style(out: &mut String) -> fmt::Result {
    out.push_str("<style>\n");
    out.push_str(STYLE);
    writeln!(
        out,
        ".row{{height:{LANE_H}px}}.name,.corner{{width:{NAME_W}px}}"
    )?;
    out.push_str("</style>\n");
    Ok(())
}

/// The page's fixed CSS. It holds no `&` or `<`, so the page's only raw ones are markup.
const STYLE: &str = "\
*{box-sizing:border-box}
body{margin:12px 16px;font:14px/1.4 system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;color:#222;background:#fff}
h1{margin:0 0 2px;font-size:19px;overflow-wrap:anywhere}
h2{margin:12px 0 4px;font-size:16px}
h3{margin:14px 0 6px;font-size:15px}
.summary{margin:0;color:#555;overflow-wrap:anywhere}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px;margin:6px 0 0}
.verdict{display:inline-block;padding:3px 10px;border-radius:4px;font-weight:bold;color:#fff}
.v-yes{background:#2e7d32}.v-no{background:#c62828}.v-unknown{background:#757575}
.pv{display:inline-block;margin-left:6px;padding:0 6px;border-radius:3px;font-size:13px;font-weight:normal;color:#fff}
.count{font-size:13px;font-weight:normal;color:#666}
.pick select{font:inherit;max-width:60vw}
.note{margin:4px 0;color:#555}
.omitted{font-weight:bold}
.why{margin:6px 0;padding:8px 12px;border:2px solid #c62828;border-radius:4px;background:#fdecea;color:#5d0000;cursor:pointer;overflow-wrap:anywhere}
.why b{color:#8e0000}
.legend{display:flex;flex-wrap:wrap;gap:2px 18px;margin:4px 0;padding:0;list-style:none;font-size:12px;color:#444}
.sw{display:inline-block;width:24px;height:11px;margin-right:5px;vertical-align:middle;border:1px solid #1e5aa8;border-radius:2px;background:#cfe0f7}
.sw.out{border-color:#999;background:#e6e6e6}
.sw.blocked{border:2px solid #8e0000;background:#e53935}
.sw.noret{border-style:dashed;opacity:.6}
.main{display:flex;align-items:flex-start;gap:12px}
.scroll{flex:1 1 auto;min-width:0;max-height:calc(100vh - 250px);overflow:auto;border:1px solid #ccc}
.panel{flex:0 0 320px;max-height:calc(100vh - 250px);overflow:auto;padding:8px 10px;border:1px solid #ccc;border-radius:4px;background:#fafafa;font-size:13px}
.panel h3{margin:0 0 6px;font:bold 13px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,\"DejaVu Sans Mono\",monospace;overflow-wrap:anywhere}
.panel dl{margin:0}
.panel dt{margin-top:5px;color:#666;font-size:12px}
.panel dd{margin:0;overflow-wrap:anywhere}
.panel .reason{color:#8e0000;font-weight:bold}
.state{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"DejaVu Sans Mono\",monospace;overflow-wrap:anywhere}
.tl{position:relative;min-width:100%}
.axis{position:sticky;top:0;z-index:4;height:20px;background:#fff;border-bottom:1px solid #bbb}
.tick{position:absolute;top:0;padding-left:3px;border-left:1px solid #999;font-size:11px;line-height:19px;color:#666;white-space:nowrap}
.vl{position:absolute;top:20px;bottom:0;width:0;border-left:1px solid #e4e4e4}
.row{position:relative;border-bottom:1px solid #eee}
.row:nth-child(even){background:rgba(0,0,0,.025)}
.name,.corner{position:sticky;left:0;z-index:3;height:100%;padding:0 6px;border-right:1px solid #bbb;background:#f7f7f7;font-size:12px;line-height:21px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.op{position:absolute;top:2px;height:18px;padding:0 4px;border:1px solid #1e5aa8;border-radius:3px;background:#cfe0f7;font:12px/16px ui-monospace,SFMono-Regular,Menlo,Consolas,\"DejaVu Sans Mono\",monospace;white-space:nowrap;overflow:hidden;overflow:clip;cursor:pointer}
.lb{position:sticky;left:124px;display:inline-block;max-width:100%;overflow:hidden;text-overflow:ellipsis;vertical-align:top}
.row.late{display:none}
input.late:checked~.main .row.late{display:block}
label.late{font-size:12px;color:#444}
.op b{margin-right:4px}
.op.out{border-color:#999;background:#e6e6e6;color:#555}
.op.blocked{z-index:2;border:2px solid #8e0000;background:#e53935;color:#fff;line-height:14px;font-weight:bold}
.op.noret{border-style:dashed;opacity:.6}
.op.hl{z-index:2;outline:3px solid #f9a825}
.op.sel{z-index:2;outline:3px solid #222;outline-offset:1px}
table{border-collapse:collapse;font-size:13px}
th,td{padding:2px 8px;border:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr[data-i]{cursor:pointer}
tr.blocked td{background:#fdecea;color:#8e0000;font-weight:bold}
tr.hl td{background:#fff3c4}
tr.sel td{background:#ffe082}
";

/// The page's script: selection, the side panel, centring, hover and the part selector.
/// It holds no `&` or `<`, so the page's only raw ones are markup.
const SCRIPT: &str = "<script>
(function () {
  if (!document.querySelector || !window.JSON || !window.Element) return;
  if (!Element.prototype.closest || !document.documentElement.classList) return;
  var NAME_W = 120;
  function esc(s) {
    return String(s).replace(/[\\u0026\\u003c\\u003e\"]/g, function (c) {
      return '\\u0026#' + c.charCodeAt(0) + ';';
    });
  }
  function data(sec) {
    if (!sec.pageData) {
      var s = sec.querySelector('script.data');
      sec.pageData = s ? JSON.parse(s.textContent) : { ops: {}, states: [] };
    }
    return sec.pageData;
  }
  function item(name, value, cls) {
    return '\\u003cdt\\u003e' + name + '\\u003c/dt\\u003e\\u003cdd' +
      (cls ? ' class=\"' + cls + '\"' : '') + '\\u003e' + esc(value) + '\\u003c/dd\\u003e';
  }
  function details(sec, i) {
    var d = data(sec), o = d.ops[i];
    if (!o) return;
    var h = '\\u003ch3\\u003e' + esc(o[0]) + '\\u003c/h3\\u003e\\u003cdl\\u003e' +
      item('process', o[1]) + item('called', o[2]) +
      item('returned', o[3] === null ? d.never : o[3]) + item('status', o[4]);
    if (sec.getAttribute('data-blocked') === String(i)) {
      h += item('state after the prefix', d.prefix, 'state');
      if (d.why) h += item('why', d.why, 'reason');
    } else if (o[5] !== null) {
      h += item('state before', d.states[o[5] - 1], 'state') +
        item('state after', d.states[o[5]], 'state');
    }
    sec.querySelector('.panel').innerHTML = h + '\\u003c/dl\\u003e';
  }
  function centre(sec, bar) {
    var sc = sec.querySelector('.scroll');
    if (!sc) return;
    var s = sc.getBoundingClientRect(), b = bar.getBoundingClientRect();
    var wide = s.width - NAME_W;
    sc.scrollLeft += b.left + Math.min(b.width, wide) / 2 - (s.left + NAME_W + wide / 2);
    sc.scrollTop += b.top + b.height / 2 - (s.top + s.height / 2);
    b = bar.getBoundingClientRect();
    var seen = [b.left >= s.left + NAME_W - 1, s.right > b.left, b.top >= s.top,
      s.bottom + 1 >= b.bottom, s.top >= 0, window.innerHeight >= b.bottom].every(Boolean);
    sc.setAttribute('data-centred', seen ? bar.id : '');
  }
  function select(sec, i, scroll) {
    var old = sec.querySelectorAll('.sel');
    for (var k = 0; k !== old.length; k++) old[k].classList.remove('sel');
    var bar = document.getElementById(sec.id + 'o' + i);
    var row = document.getElementById(sec.id + 's' + i);
    if (bar) bar.classList.add('sel');
    if (row) row.classList.add('sel');
    details(sec, i);
    if (bar) {
      if (scroll) centre(sec, bar);
    }
  }
  function show(k) {
    var secs = document.querySelectorAll('section.part');
    for (var n = 0; n !== secs.length; n++) secs[n].hidden = secs[n].id !== 'p' + k;
    var sec = document.getElementById('p' + k);
    if (!sec || sec.seen) return;
    sec.seen = true;
    var b = sec.getAttribute('data-blocked');
    if (b !== null) select(sec, b, true);
  }
  var cur = null;
  function mark(e, on) {
    var sec = e.closest('section.part'), i = e.getAttribute('data-i');
    var bar = document.getElementById(sec.id + 'o' + i);
    var row = document.getElementById(sec.id + 's' + i);
    if (bar) bar.classList.toggle('hl', on);
    if (row) row.classList.toggle('hl', on);
  }
  document.addEventListener('mouseover', function (ev) {
    var e = ev.target.closest ? ev.target.closest('[data-i]') : null;
    if (e === cur) return;
    if (cur) mark(cur, false);
    if (e) mark(e, true);
    cur = e;
  });
  document.addEventListener('click', function (ev) {
    var e = ev.target.closest ? ev.target.closest('[data-i]') : null;
    if (!e) return;
    select(e.closest('section.part'), e.getAttribute('data-i'), !e.classList.contains('op'));
  });
  var pick = document.getElementById('parts');
  if (pick) {
    pick.value = pick.options[0].value;
    pick.addEventListener('change', function () { show(pick.value); });
  }
  var first = document.querySelector('section.part');
  if (first) show(first.id.slice(1));
})();
</script>
";

#[cfg(test)]
mod tests {
    use super::*;

    fn op(process: u64, call: u64, ret: Option<u64>, label: &str) -> PageOp {
        PageOp {
            process,
            call,
            ret,
            label: label.to_string(),
        }
    }

    fn part(verdict: PageVerdict, ops: Vec<PageOp>) -> PagePart {
        PagePart {
            name: "the whole history".to_string(),
            verdict,
            ops,
            order: Vec::new(),
            initial: "0".to_string(),
            states: Vec::new(),
            blocked: None,
            reason: None,
        }
    }

    fn page(verdict: PageVerdict, ops: Vec<PageOp>) -> Page {
        Page {
            title: "history.edn".to_string(),
            summary: "model register".to_string(),
            verdict,
            parts: vec![part(verdict, ops)],
            process_names: BTreeMap::new(),
            omitted: 0,
        }
    }

    /// The opening tag of the element with this id.
    fn tag_with_id<'h>(html: &'h str, id: &str) -> &'h str {
        let at = html
            .find(&format!(" id=\"{id}\""))
            .unwrap_or_else(|| panic!("no element with id {id}"));
        let start = html[..at].rfind('<').unwrap();
        let end = at + html[at..].find('>').unwrap();
        &html[start..=end]
    }

    /// The pixel value of one property in a tag's inline style.
    fn px(tag: &str, property: &str) -> usize {
        let key = format!("{property}:");
        let style = &tag[tag.find("style=\"").expect("no style") + 7..];
        let style = &style[..style.find('"').unwrap()];
        let value = style
            .split(';')
            .find_map(|d| d.strip_prefix(key.as_str()))
            .unwrap_or_else(|| panic!("no {property} in {style}"));
        value.trim_end_matches("px").parse().unwrap()
    }

    /// Every element is closed, in order, and nothing caller-supplied became markup.
    fn assert_well_formed(html: &str) {
        const VOID: [&str; 2] = ["meta", "br"];
        let mut open: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(lt) = rest.find('<') {
            let end = lt + rest[lt..].find('>').expect("unterminated tag");
            let tag = &rest[lt + 1..end];
            rest = &rest[end + 1..];
            if tag.starts_with('!') {
                continue;
            }
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if let Some(closing) = tag.strip_prefix('/') {
                assert_eq!(
                    open.pop().as_deref(),
                    Some(closing),
                    "misnested </{closing}>"
                );
            } else if !VOID.contains(&name.as_str()) {
                open.push(name);
            }
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
        for (at, _) in html.match_indices('&') {
            let entity = ["amp;", "lt;", "gt;", "quot;", "#39;", "#10;"];
            assert!(
                entity.iter().any(|e| html[at + 1..].starts_with(e)),
                "raw & at {at}: {}",
                &html[at..(at + 20).min(html.len())]
            );
        }
    }

    /// The text on the bar with `id`.
    fn text_of<'h>(html: &'h str, id: &str) -> &'h str {
        let tag = tag_with_id(html, id);
        let start = html.find(tag).unwrap() + tag.len();
        let inner = &html[start..start + html[start..].find("</div>").unwrap()];
        inner
            .strip_prefix("<span class=\"lb\">")
            .and_then(|t| t.strip_suffix("</span>"))
            .unwrap_or_else(|| panic!("no label span in {inner}"))
    }

    #[test]
    fn caller_text_is_escaped() {
        let mut p = page(
            PageVerdict::NotLinearizable,
            vec![
                op(1, 0, Some(1), "<script>alert(1)</script> & 'x' \"y\""),
                op(2, 2, Some(3), "</script><b>"),
            ],
        );
        p.title = "<script>t()</script>&title".to_string();
        p.summary = "<b>bold</b> & more".to_string();
        p.process_names.insert(2, "<i>final</i>".to_string());
        let q = &mut p.parts[0];
        q.name = "<u>key</u>".to_string();
        q.order = vec![0];
        q.states = vec!["<i>state</i>&".to_string()];
        q.blocked = Some(1);
        q.reason = Some("<em>why</em> & how".to_string());
        let html = render_html(&p);
        // The page's own script and the part's data, and nothing else.
        assert_eq!(html.matches("<script").count(), 2);
        assert_eq!(html.matches("</script>").count(), 2);
        for raw in [
            "<script>alert",
            "<script>t()",
            "<b>bold",
            "<i>state",
            "<u>key",
            "<em>",
            "<i>final",
        ] {
            assert!(!html.contains(raw), "{raw} left raw");
        }
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;x&#39; &quot;y&quot;")
        );
        assert!(html.contains("<h1>&lt;script&gt;t()&lt;/script&gt;&amp;title</h1>"));
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; more"));
        assert!(html.contains("&lt;i&gt;state&lt;/i&gt;&amp;"));
        assert!(html.contains("&lt;em&gt;why&lt;/em&gt; &amp; how"));
        assert!(html.contains("\\u003c/script>\\u003cb>"), "in the data");
        assert_well_formed(&html);
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(MAX_TEXT_CHARS * 10);
        let mut p = page(PageVerdict::Linearizable, vec![op(1, 0, Some(1), &long)]);
        p.title = "t".repeat(MAX_HEADER_CHARS * 10);
        let html = render_html(&p);
        assert!(!html.contains(&"x".repeat(MAX_TEXT_CHARS + 1)));
        assert!(html.contains(&format!("{}…", "x".repeat(MAX_TEXT_CHARS))));
        assert!(!html.contains(&"t".repeat(MAX_HEADER_CHARS + 1)));
    }

    #[test]
    fn the_blocked_op_is_selected_and_explained() {
        let mut p = page(
            PageVerdict::NotLinearizable,
            vec![
                op(3, 0, Some(10), "write 1"),
                op(7, 12, Some(20), "read -> 2"),
                op(3, 15, Some(25), "read -> 1"),
            ],
        );
        let q = &mut p.parts[0];
        q.order = vec![0];
        q.states = vec!["1".to_string()];
        q.blocked = Some(1);
        q.reason = Some("after the 1-operation prefix the state is 1; this read returned 2".into());
        let html = render_html(&p);
        let bar = tag_with_id(&html, "p0o1");
        assert!(bar.contains("class=\"op blocked sel\""), "{bar}");
        assert!(bar.contains("cannot be placed"), "{bar}");
        assert_eq!(text_of(&html, "p0o1"), "<b>✗</b>read -&gt; 2");
        assert!(html.contains("<section class=\"part\" id=\"p0\" data-blocked=\"1\">"));
        assert!(html.contains(
            "<p class=\"why\" data-i=\"1\"><b>✗ read -&gt; 2</b> (process 7) cannot be placed: \
             after the 1-operation prefix the state is 1; this read returned 2.</p>"
        ));
        // The side panel is filled for it before any script runs.
        let panel = &html[html.find("<aside class=\"panel\">").unwrap()..];
        assert!(
            panel.starts_with("<aside class=\"panel\"><h3>read -&gt; 2</h3>"),
            "{panel}"
        );
        assert!(panel.contains("<dt>state after the prefix</dt><dd class=\"state\">1</dd>"));
        assert!(panel.contains("this read returned 2</dd>"));
        assert!(html.contains("<span class=\"sw blocked\"></span>cannot be placed"));
        assert!(html.contains("Longest linearizable prefix (1 of 3 operations)"));
        assert!(html.contains("class=\"verdict v-no\">Not linearizable"));
        assert!(html.contains("<tr class=\"blocked\" id=\"p0s1\" data-i=\"1\">"));
        // The op that is neither placed nor blocked is grey.
        assert!(tag_with_id(&html, "p0o2").contains("class=\"op out\""));
        assert!(!tag_with_id(&html, "p0o0").contains("blocked"));
        assert_well_formed(&html);

        p.parts[0].blocked = None;
        let html = render_html(&p);
        assert!(!html.contains("op blocked"));
        assert!(!html.contains("class=\"why\""));
        assert!(html.contains("No single operation was named"));
    }

    #[test]
    fn bars_fit_their_labels_or_cut_them_with_the_whole_in_the_tooltip() {
        let long = format!("get \"k\" -> \"{}\"", "y".repeat(80));
        let mut p = page(
            PageVerdict::Linearizable,
            vec![
                op(0, 0, Some(1), "append \"k\" \"x 5 2 y\""),
                op(1, 1, Some(2), &long),
                op(2, 2, Some(3), "w"),
            ],
        );
        p.parts[0].order = vec![0, 1, 2];
        let html = render_html(&p);
        // "1 append ..." is 22 characters, all on the bar.
        assert!(px(tag_with_id(&html, "p0o0"), "width") >= text_px(22) - 2);
        assert_eq!(
            text_of(&html, "p0o0"),
            "<b>1</b>append &quot;k&quot; &quot;x 5 2 y&quot;"
        );
        // The long one is cut to FIT_CHARS on the bar, and is whole in its title.
        let bar = tag_with_id(&html, "p0o1");
        assert!(px(bar, "width") >= text_px(FIT_CHARS) - 2);
        assert!(bar.contains(&"y".repeat(80)), "{bar}");
        let shown = text_of(&html, "p0o1");
        assert!(shown.ends_with('…'), "{shown}");
        let cut_label = cut(&long, FIT_CHARS - 2);
        assert_eq!(cut_label.chars().count(), FIT_CHARS - 2);
        assert_eq!(
            shown,
            format!("<b>2</b>{}", Esc(&cut_label, MAX_TEXT_CHARS))
        );
        // A short label still gets the least gap.
        assert!(px(tag_with_id(&html, "p0o2"), "width") >= GAP - 2);
    }

    #[test]
    fn closed_intervals_overlap_on_the_page() {
        let p = page(
            PageVerdict::Linearizable,
            vec![
                op(0, 0, Some(5), "write 1"),
                op(1, 5, Some(6), "read -> 0"),
                op(2, 7, Some(8), "read -> 1"),
            ],
        );
        let html = render_html(&p);
        let span = |id: &str| {
            let tag = tag_with_id(&html, id);
            (px(tag, "left"), px(tag, "left") + px(tag, "width"))
        };
        // Called when the write returned: they may have been concurrent, and overlap.
        assert!(span("p0o1").0 < span("p0o0").1);
        // Called after the read returned: after it.
        assert!(span("p0o2").0 > span("p0o1").1);
    }

    #[test]
    fn steps_appear_on_bars_tooltips_panel_data_and_table() {
        let mut p = page(
            PageVerdict::Linearizable,
            vec![
                op(0, 0, Some(10), "write 1"),
                op(1, 5, Some(6), "read -> 1"),
            ],
        );
        p.parts[0].order = vec![1, 0];
        p.parts[0].states = vec!["0".to_string(), "1".to_string()];
        let html = render_html(&p);
        let bar = tag_with_id(&html, "p0o0");
        assert!(bar.contains("step 2 of the linearization"), "{bar}");
        assert!(bar.contains("class=\"op\""), "{bar}");
        assert_eq!(text_of(&html, "p0o0"), "<b>2</b>write 1");
        assert_eq!(text_of(&html, "p0o1"), "<b>1</b>read -&gt; 1");
        assert!(html.contains(
            "<tr id=\"p0s1\" data-i=\"1\"><td>1</td><td>process 1</td><td>read -&gt; 1</td>\
             <td class=\"state\">0</td></tr>"
        ));
        assert!(html.contains(
            "{\"ops\":{\"0\":[\"write 1\",\"process 0\",0,10,\"step 2 of the linearization\",2],"
        ));
        assert!(html.contains("\"states\":[\"0\",\"0\",\"1\"]"));
        assert!(html.contains("Linearization (2 operations)"));
        assert!(html.contains("class=\"verdict v-yes\""));
        assert!(html.contains("Select an operation"));
        assert_well_formed(&html);
    }

    #[test]
    fn an_indeterminate_op_runs_to_the_right_edge() {
        let p = page(
            PageVerdict::Unknown,
            vec![
                op(0, 0, Some(3), "write 1"),
                op(1, 1, None, "write 2"),
                op(2, 2, Some(100), "read -> 1"),
            ],
        );
        let html = render_html(&p);
        let bar = tag_with_id(&html, "p0o1");
        assert!(bar.contains("class=\"op out noret\""), "{bar}");
        assert!(bar.contains("no return (indeterminate)"), "{bar}");
        let right = |id: &str| {
            let tag = tag_with_id(&html, id);
            px(tag, "left") + px(tag, "width")
        };
        assert!(
            right("p0o1") > right("p0o2") + GAP,
            "runs past the last return"
        );
        let timeline = &html[html.find("class=\"tl\"").unwrap()..];
        assert_eq!(px(timeline, "width"), right("p0o1") + 2);
        assert!(!tag_with_id(&html, "p0o0").contains("noret"));
        assert!(html.contains("class=\"verdict v-unknown\""));
        assert_well_formed(&html);
    }

    #[test]
    fn one_row_per_process_with_operations_and_named_processes_read_by_name() {
        let final_read = 10u64 << 32;
        let mut p = page(
            PageVerdict::Linearizable,
            vec![
                op(final_read, 9, Some(10), "read -> 2"),
                op(3, 0, Some(1), "b"),
                op(0, 0, Some(1), "c"),
                op(3, 2, Some(3), "d"),
            ],
        );
        p.process_names
            .insert(final_read, "final reads".to_string());
        // A name for a process with no operation here adds no row.
        p.process_names.insert(99, "idle".to_string());
        let html = render_html(&p);
        assert_eq!(html.matches("<div class=\"name\"").count(), 3);
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("no {s}"));
        assert!(at(">process 0<") < at(">process 3<"));
        assert!(at(">process 3<") < at(">final reads<"));
        assert!(!html.contains(&format!(">process {final_read}<")));
        assert!(!html.contains("idle"));
        assert!(tag_with_id(&html, "p0o0").contains(&format!("final reads (process {final_read})")));
    }

    #[test]
    fn overlapping_ops_of_one_process_get_separate_lanes() {
        let p = page(
            PageVerdict::Unknown,
            vec![
                op(4, 0, None, "write 1"),
                op(4, 5, Some(6), "read -> 1"),
                op(4, 7, Some(8), "read -> 1"),
            ],
        );
        let html = render_html(&p);
        assert!(!tag_with_id(&html, "p0o0").contains("top:"));
        assert_eq!(px(tag_with_id(&html, "p0o1"), "top"), 2 + LANE_H);
        assert_eq!(px(tag_with_id(&html, "p0o2"), "top"), 2 + LANE_H);
        assert!(html.contains(&format!(
            "<div class=\"row\" style=\"height:{}px\">",
            2 * LANE_H
        )));
    }

    #[test]
    fn a_huge_part_draws_a_window_around_the_blocked_op() {
        let n = 100_000;
        let ops: Vec<PageOp> = (0..n as u64)
            .map(|i| {
                let call = 1_700_000_000_000_000_000 + i * 1_000;
                op(
                    i % 50,
                    call,
                    Some(call + 1_500),
                    &format!("cas {i}->{}", i + 1),
                )
            })
            .collect();
        let mut p = page(PageVerdict::NotLinearizable, ops);
        let q = &mut p.parts[0];
        let b = 60_000;
        q.order = (0..b).collect();
        q.states = (0..b).map(|i| format!("{}", i + 1)).collect();
        q.blocked = Some(b);
        p.omitted = 5;
        let html = render_html(&p);
        assert!(html.len() < 3_000_000, "page is {} bytes", html.len());
        assert_eq!(html.matches("<div class=\"op").count(), MAX_PAGE_OPS);
        assert!(html.contains("5 operations of the history not on the page"));
        assert!(html.contains(&format!("{} of its operations not drawn", n - MAX_PAGE_OPS)));
        let first = b - MAX_PAGE_OPS / 2;
        assert!(tag_with_id(&html, &format!("p0o{b}")).contains("op blocked"));
        assert!(html.contains(&format!("id=\"p0o{first}\"")));
        assert!(!html.contains(&format!("id=\"p0o{}\"", first - 1)));
        assert!(!html.contains(&format!("id=\"p0o{}\"", first + MAX_PAGE_OPS)));
        assert!(html.contains("Longest linearizable prefix (60000 of 100000 operations)"));
        assert!(html.contains(&format!("<td>{}</td>", first + 1)));
        assert!(html.contains(&format!("{first} steps not listed")));
        assert_well_formed(&html);
    }

    #[test]
    fn parts_are_offered_in_order_and_the_first_is_shown() {
        let mut p = page(PageVerdict::NotLinearizable, vec![op(0, 0, Some(1), "a")]);
        p.parts[0].name = "key \"b\"".to_string();
        p.parts[0].verdict = PageVerdict::NotLinearizable;
        p.parts[0].blocked = Some(0);
        for (name, verdict) in [
            ("key \"a\"", PageVerdict::Linearizable),
            ("key \"c\"", PageVerdict::Unknown),
        ] {
            let mut q = part(
                verdict,
                vec![op(1, 0, Some(1), "b"), op(2, 0, Some(1), "c")],
            );
            q.name = name.to_string();
            p.parts.push(q);
        }
        let html = render_html(&p);
        let select = &html[html.find("<select id=\"parts\"").unwrap()..];
        let select = &select[..select.find("</select>").unwrap()];
        let options: Vec<&str> = select.split("<option").skip(1).collect();
        assert_eq!(options.len(), 3, "{select}");
        assert!(options[0].contains("key &quot;b&quot;: not linearizable, 1 operations"));
        assert!(options[1].contains("key &quot;a&quot;: linearizable, 2 operations"));
        assert!(options[2].contains("key &quot;c&quot;: not decided, 2 operations"));
        assert!(html.contains("<section class=\"part\" id=\"p0\" data-blocked=\"0\">"));
        assert!(html.contains("<section class=\"part\" id=\"p1\" hidden>"));
        assert!(html.contains("<section class=\"part\" id=\"p2\" hidden>"));
        assert_well_formed(&html);
    }

    #[test]
    fn parts_past_the_page_bound_are_left_off() {
        let ops = |n: usize| {
            (0..n as u64)
                .map(|i| op(i % 7, i, Some(i + 1), "w"))
                .collect()
        };
        let mut p = page(PageVerdict::Linearizable, ops(MAX_PAGE_OPS + 10));
        for _ in 0..10 {
            p.parts
                .push(part(PageVerdict::Linearizable, ops(MAX_PAGE_OPS)));
        }
        let html = render_html(&p);
        assert_eq!(html.matches("<div class=\"op").count(), MAX_PAGE_TOTAL_OPS);
        let parts = MAX_PAGE_TOTAL_OPS / MAX_PAGE_OPS;
        assert_eq!(html.matches("<section class=\"part\"").count(), parts);
        let left = 11 - parts;
        assert!(html.contains(&format!(
            "{} operations of the history not on the page ({left} parts left off",
            left * MAX_PAGE_OPS
        )));
    }

    #[test]
    fn an_empty_page_renders() {
        let html = render_html(&page(PageVerdict::Unknown, Vec::new()));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("No operations to draw."));
        assert!(html.contains("No steps to list."));
        assert!(html.contains("Partial linearization (0 of 0 operations)"));
        assert!(!html.contains("not on the page"));
        assert_well_formed(&html);
        let mut none = page(PageVerdict::Linearizable, Vec::new());
        none.parts.clear();
        assert!(render_html(&none).contains("No operations to draw."));
    }

    #[test]
    fn inconsistent_input_does_not_panic() {
        let mut p = page(
            PageVerdict::NotLinearizable,
            vec![op(1, 10, Some(5), "backwards"), op(2, 0, Some(1), "ok")],
        );
        p.parts[0].order = vec![1, 99, 1];
        p.parts[0].states = vec!["s".to_string()];
        p.parts[0].blocked = Some(42);
        let html = render_html(&p);
        assert_eq!(px(tag_with_id(&html, "p0o0"), "width"), END_W - 2);
        assert!(html.contains("1 step not listed"));
        assert_eq!(html.matches("id=\"p0s1\"").count(), 1);
        assert!(!html.contains("cannot be placed:"));
        assert_well_formed(&html);
    }

    #[test]
    fn the_drawn_window_stays_within_the_part() {
        let n = MAX_PAGE_OPS + 10;
        assert_eq!(drawn_range(n, Some(n - 1)), 10..n);
        assert_eq!(drawn_range(n, Some(3)), 0..MAX_PAGE_OPS);
        assert_eq!(drawn_range(n, Some(n + 5)), 0..MAX_PAGE_OPS);
        assert_eq!(drawn_range(5, Some(9)), 0..5);
    }
}
