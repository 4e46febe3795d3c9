//! Renders a checked history as one self-contained HTML page.
//!
//! The page has a header (title, summary, verdict), a timeline with one row per process
//! and one bar per operation, and a numbered table of the linearization (or of the longest
//! linearizable prefix, followed by the operation that cannot be placed). It uses no
//! external resources: the CSS and the small optional script are inline, and bars are
//! absolutely positioned `div`s, so the file opens offline in any browser.
//!
//! The page stays bounded however large the history: at most [`MAX_PAGE_OPS`] operations
//! are drawn, labels and states are cut to a fixed number of characters, and each bar
//! carries only its position as inline style (everything else comes from CSS classes).

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Display, Write};

/// Verdict shown at the top of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageVerdict {
    /// The history is linearizable; shown in green, and `order` is a full linearization.
    Linearizable,
    /// The history is not linearizable; shown in red, and `order` is the longest
    /// linearizable prefix found.
    NotLinearizable,
    /// The check reached no verdict (for example it timed out); shown in grey.
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
    /// (indeterminate); its bar runs to the right edge, dashed and faded, labelled
    /// "no return".
    pub ret: Option<u64>,
    /// A short plain-text description such as `write 3` or `read → 3`. It is HTML-escaped,
    /// cut to 300 characters, and shown whole (up to that) in the bar's tooltip.
    pub label: String,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page heading, usually the history file name (escaped).
    pub title: String,
    /// One line under the heading, e.g. `model cas-register, 605 operations` (escaped).
    pub summary: String,
    /// The verdict shown, coloured, at the top.
    pub verdict: PageVerdict,
    /// The operations to draw; may be empty.
    pub ops: Vec<PageOp>,
    /// Indices into `ops`: the linearization found, or when not linearizable the longest
    /// linearizable prefix. Out-of-range indices are ignored.
    pub order: Vec<usize>,
    /// The model state after each step of `order` (escaped, cut to 300 characters); a
    /// missing entry shows blank.
    pub states: Vec<String>,
    /// Index into `ops` of the operation that cannot be placed; it is drawn in red and
    /// named below the table.
    pub blocked: Option<usize>,
    /// How many operations of the history the caller left off the page.
    pub omitted: usize,
}

/// The most operations a page draws; beyond it `render_html` draws the first MAX_PAGE_OPS
/// (keeping `blocked` and the `order` entries that refer to drawn ops) and counts the rest
/// as omitted.
pub const MAX_PAGE_OPS: usize = 2000;

/// Labels and states longer than this many characters are cut (with `…`) so that one long
/// value cannot blow up the page; bars cut them further, visually, with CSS ellipsis.
const MAX_TEXT_CHARS: usize = 300;
/// The same cut for the title and summary, which appear once.
const MAX_HEADER_CHARS: usize = 1000;

/// Width in pixels of one column of the compressed time axis (one distinct time value).
const SLOT_W: usize = 30;
/// Height in pixels of one lane; a process row has one lane unless its bars overlap.
const LANE_H: usize = 22;
/// Width in pixels of the sticky "process N" column at the left of the timeline.
const NAME_W: usize = 110;
/// Extra columns after the last time value, so bars that never returned visibly run on
/// past everything else.
const TAIL_SLOTS: usize = 3;
/// A time label (and grid line) every this many columns.
const TICK_EVERY: usize = 10;

/// Renders the page as one self-contained HTML document.
///
/// The result is a complete UTF-8 document with inline CSS and script and no external
/// references. Every caller-supplied string is HTML-escaped. At most [`MAX_PAGE_OPS`]
/// operations are drawn: the first ones by index, with `blocked` always among them; the
/// others are added to `omitted` and the page says how many operations are not shown.
/// Inconsistent input (indices out of range, `states` shorter than `order`, a return
/// before its call) is drawn as far as it makes sense and never panics.
pub fn render_html(page: &Page) -> String {
    let view = View::new(page);
    let mut out = String::with_capacity(64 * 1024 + view.drawn.len() * 400);
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
                c => f.write_char(c)?,
            }
        }
        if chars.next().is_some() {
            f.write_char('…')?;
        }
        Ok(())
    }
}

/// One process row of the timeline.
struct Row {
    process: u64,
    /// How many lanes the row needs so that none of its bars overlap.
    lanes: usize,
    /// Drawn operations of this process with the lane each one is in.
    bars: Vec<(usize, usize)>,
}

/// What the page draws, worked out once from the [`Page`].
struct View<'a> {
    page: &'a Page,
    /// Indices into `page.ops` that are drawn, ascending.
    drawn: Vec<usize>,
    /// Operations of the history not on the page: the caller's plus those cut here.
    omitted: usize,
    /// 1-based step in `page.order` of each drawn op that is in it (its first step if the
    /// order repeats it).
    step_of: HashMap<usize, usize>,
    /// The distinct call and return times of the drawn ops, ascending: column `i` of the
    /// timeline stands for time `slots[i]`.
    slots: Vec<u64>,
    rows: Vec<Row>,
}

impl<'a> View<'a> {
    fn new(page: &'a Page) -> Self {
        let drawn = choose_drawn(page.ops.len(), page.blocked);
        let omitted = page.omitted + (page.ops.len() - drawn.len());
        let step_of = step_numbers(&page.order, &drawn);
        let slots = time_slots(&page.ops, &drawn);
        let rows = process_rows(&page.ops, &drawn, &slots);
        View {
            page,
            drawn,
            omitted,
            step_of,
            slots,
            rows,
        }
    }

    /// The blocked op, if it is in range (then `choose_drawn` has drawn it).
    fn blocked(&self) -> Option<usize> {
        self.page.blocked.filter(|&b| b < self.page.ops.len())
    }

    /// The column of time `t`, which must be a call or return time of a drawn op.
    fn slot(&self, t: u64) -> usize {
        self.slots.partition_point(|&s| s < t)
    }

    /// The words used for `order`, which means different things per verdict.
    fn order_name(&self) -> &'static str {
        match self.page.verdict {
            PageVerdict::Linearizable => "the linearization",
            PageVerdict::NotLinearizable => "the longest linearizable prefix",
            PageVerdict::Unknown => "the partial linearization",
        }
    }

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
        self.write_timeline(out)?;
        self.write_table(out)?;
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
            "<header>\n<h1>{}</h1>\n<p class=\"summary\">{}</p>\n<p class=\"verdict {class}\">{text}</p>",
            Esc(&self.page.title, MAX_HEADER_CHARS),
            Esc(&self.page.summary, MAX_HEADER_CHARS),
        )?;
        if self.omitted > 0 {
            let s = if self.omitted == 1 { "" } else { "s" };
            write!(
                out,
                "<p class=\"note omitted\">{} operation{s} not shown",
                self.omitted
            )?;
            if self.page.ops.len() > self.drawn.len() {
                write!(out, " (a page draws at most {MAX_PAGE_OPS})")?;
            }
            out.push_str(".</p>\n");
        }
        out.push_str("</header>\n");
        Ok(())
    }

    fn write_timeline(&self, out: &mut String) -> fmt::Result {
        out.push_str("<section>\n<h2>Timeline</h2>\n");
        if self.drawn.is_empty() {
            out.push_str("<p class=\"note\">No operations to draw.</p>\n</section>\n");
            return Ok(());
        }
        out.push_str(
            "<p class=\"note\">The time axis is compressed: each distinct call or return time \
             is one column, so the spacing shows order and overlap, not duration.</p>\n",
        );
        self.write_legend(out)?;
        let width = NAME_W + (self.slots.len() + TAIL_SLOTS) * SLOT_W;
        writeln!(
            out,
            "<div class=\"scroll\">\n<div class=\"tl\" style=\"width:{width}px\">"
        )?;
        self.write_axis(out)?;
        for row in &self.rows {
            self.write_row(out, row)?;
        }
        out.push_str("</div>\n</div>\n</section>\n");
        Ok(())
    }

    fn write_legend(&self, out: &mut String) -> fmt::Result {
        let ops = || self.drawn.iter().map(|&i| (i, &self.page.ops[i]));
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
                "<li><span class=\"sw noret\"></span>no return (indeterminate): \
                 drawn to the right edge</li>\n",
            );
        }
        out.push_str("</ul>\n");
        Ok(())
    }

    /// The sticky top row with a time value every [`TICK_EVERY`] columns.
    fn write_axis(&self, out: &mut String) -> fmt::Result {
        out.push_str("<div class=\"axis\"><div class=\"corner\">time</div>");
        for (col, t) in self.slots.iter().enumerate().step_by(TICK_EVERY) {
            write!(
                out,
                "<span class=\"tick\" style=\"left:{}px\">{t}</span>",
                NAME_W + col * SLOT_W
            )?;
        }
        out.push_str("</div>\n");
        Ok(())
    }

    fn write_row(&self, out: &mut String, row: &Row) -> fmt::Result {
        out.push_str("<div class=\"row\"");
        if row.lanes > 1 {
            write!(out, " style=\"height:{}px\"", row.lanes * LANE_H)?;
        }
        writeln!(out, "><div class=\"name\">process {}</div>", row.process)?;
        for &(i, lane) in &row.bars {
            self.write_bar(out, i, lane)?;
        }
        out.push_str("</div>\n");
        Ok(())
    }

    /// One bar. Only `left`, `width` and (in extra lanes) `top` are inline; the rest is
    /// CSS classes, which keeps a bar to a couple of hundred bytes.
    fn write_bar(&self, out: &mut String, i: usize, lane: usize) -> fmt::Result {
        let op = &self.page.ops[i];
        let step = self.step_of.get(&i).copied();
        let blocked = Some(i) == self.blocked();
        let call = self.slot(op.call);
        let ret = op.ret.map(|r| self.slot(r));
        let (left, width) = bar_geometry(call, ret, self.slots.len());

        out.push_str("<div class=\"op");
        if blocked {
            out.push_str(" blocked");
        } else if step.is_none() {
            out.push_str(" out");
        }
        if op.ret.is_none() {
            out.push_str(" noret");
        }
        write!(out, "\" id=\"o{i}\" style=\"left:{left}px;width:{width}px")?;
        if lane > 0 {
            write!(out, ";top:{}px", 2 + lane * LANE_H)?;
        }
        let label = Esc(&op.label, MAX_TEXT_CHARS);
        write!(
            out,
            "\" title=\"{label}&#10;process {} · call {}",
            op.process, op.call
        )?;
        match op.ret {
            Some(r) => write!(out, " · return {r}")?,
            None => out.push_str(" · no return (indeterminate)"),
        }
        out.push_str("&#10;");
        match (step, blocked) {
            (_, true) => out.push_str("cannot be placed"),
            (Some(s), false) => write!(out, "step {s} of {}", self.order_name())?,
            (None, false) => write!(out, "not in {}", self.order_name())?,
        }
        out.push_str("\">");
        match (step, blocked) {
            (_, true) => write!(out, "<b>✗</b>cannot be placed: {label}")?,
            (Some(s), false) => write!(out, "<b>{s}</b>{label}")?,
            (None, false) => write!(out, "{label}")?,
        }
        if op.ret.is_none() {
            out.push_str("<i>no return</i>");
        }
        out.push_str("</div>\n");
        Ok(())
    }

    fn write_table(&self, out: &mut String) -> fmt::Result {
        // `order` indexes `ops`, so it is a prefix of those (say, of one partition), not of
        // the operations the caller left off.
        let total = self.page.ops.len();
        let steps = self.page.order.len();
        out.push_str("<section>\n<h2>");
        match self.page.verdict {
            PageVerdict::Linearizable => write!(out, "Linearization ({steps} operations)")?,
            PageVerdict::NotLinearizable => write!(
                out,
                "Longest linearizable prefix ({steps} of {total} operations)"
            )?,
            PageVerdict::Unknown => {
                write!(out, "Partial linearization ({steps} of {total} operations)")?
            }
        }
        out.push_str("</h2>\n");
        let shown = self.write_steps(out)?;
        if shown < steps {
            let n = steps - shown;
            let s = if n == 1 { "" } else { "s" };
            writeln!(
                out,
                "<p class=\"note\">{n} step{s} not listed: their operations are not on the page.</p>"
            )?;
        }
        self.write_blocked(out)?;
        out.push_str("</section>\n");
        Ok(())
    }

    /// The table rows of `order` whose operations are drawn; returns how many it listed.
    fn write_steps(&self, out: &mut String) -> Result<usize, fmt::Error> {
        let mut shown = 0;
        for (pos, &i) in self.page.order.iter().enumerate() {
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
            let op = &self.page.ops[i];
            let state = self.page.states.get(pos).map_or("", String::as_str);
            // Only the first step of a (malformed) repeated op links to its bar.
            if first == step {
                write!(out, "<tr id=\"s{i}\" data-i=\"{i}\">")?;
            } else {
                out.push_str("<tr>");
            }
            writeln!(
                out,
                "<td>{step}</td><td>{}</td><td>{}</td><td class=\"state\">{}</td></tr>",
                op.process,
                Esc(&op.label, MAX_TEXT_CHARS),
                Esc(state, MAX_TEXT_CHARS)
            )?;
        }
        if shown > 0 {
            out.push_str("</tbody>\n</table>\n");
        } else {
            out.push_str("<p class=\"note\">No steps to list.</p>\n");
        }
        Ok(shown)
    }

    fn write_blocked(&self, out: &mut String) -> fmt::Result {
        match self.blocked() {
            Some(b) => {
                let op = &self.page.ops[b];
                writeln!(
                    out,
                    "<p class=\"blocked-box\" data-i=\"{b}\">cannot be placed: {} (process {})</p>",
                    Esc(&op.label, MAX_TEXT_CHARS),
                    op.process
                )
            }
            None if self.page.verdict == PageVerdict::NotLinearizable => {
                out.push_str(
                    "<p class=\"note\">No single operation was named as the one that cannot \
                     be placed.</p>\n",
                );
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// The ops to draw: all of them if they fit, else the first ones by index with `blocked`
/// always kept (in place of the last of them), so never more than [`MAX_PAGE_OPS`].
fn choose_drawn(n: usize, blocked: Option<usize>) -> Vec<usize> {
    if n <= MAX_PAGE_OPS {
        return (0..n).collect();
    }
    match blocked {
        Some(b) if (MAX_PAGE_OPS..n).contains(&b) => {
            (0..MAX_PAGE_OPS - 1).chain(std::iter::once(b)).collect()
        }
        _ => (0..MAX_PAGE_OPS).collect(),
    }
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

/// The distinct call and return times of the drawn ops, ascending.
///
/// The timeline places times by their rank in this list rather than by value. Real times
/// may be nanoseconds spread over hours with bursts of microseconds, or event positions
/// 0..N; a linear scale would make most bars a fraction of a pixel wide. Ranks keep what
/// linearizability cares about (which calls and returns come before which, and so which
/// ops overlap) and give every bar at least one column.
fn time_slots(ops: &[PageOp], drawn: &[usize]) -> Vec<u64> {
    let mut slots: Vec<u64> = drawn
        .iter()
        .flat_map(|&i| std::iter::once(ops[i].call).chain(ops[i].ret))
        .collect();
    slots.sort_unstable();
    slots.dedup();
    slots
}

/// One row per distinct process, sorted by process id, with the drawn ops of each spread
/// over as few lanes as keep them from overlapping.
fn process_rows(ops: &[PageOp], drawn: &[usize], slots: &[u64]) -> Vec<Row> {
    let slot = |t: u64| slots.partition_point(|&s| s < t);
    let mut by_process: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for &i in drawn {
        by_process.entry(ops[i].process).or_default().push(i);
    }
    by_process
        .into_iter()
        .map(|(process, mut members)| {
            members.sort_by_key(|&i| (slot(ops[i].call), i));
            let spans = members.iter().map(|&i| {
                let call = slot(ops[i].call);
                // A bar covers the columns of its call and return; an op with no return
                // covers everything after its call.
                let end = ops[i].ret.map_or(usize::MAX, |r| slot(r).max(call) + 1);
                (i, call, end)
            });
            let (lanes, bars) = assign_lanes(spans);
            Row {
                process,
                lanes,
                bars,
            }
        })
        .collect()
}

/// Greedy interval colouring: each `(op, first column, end column exclusive)`, in order of
/// first column, goes into the first lane that is free by then. A process normally has
/// one op at a time, so this is one lane, but an op that never returned overlaps
/// everything after it, and hiding one bar behind another would hide an op.
fn assign_lanes(
    spans: impl Iterator<Item = (usize, usize, usize)>,
) -> (usize, Vec<(usize, usize)>) {
    let mut lane_ends: Vec<usize> = Vec::new();
    let mut bars = Vec::new();
    for (i, start, end) in spans {
        let lane = match lane_ends.iter().position(|&e| e <= start) {
            Some(lane) => lane,
            None => {
                lane_ends.push(0);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = end;
        bars.push((i, lane));
    }
    (lane_ends.len().max(1), bars)
}

/// Left offset and width in pixels of a bar from column `call` to column `ret` inclusive,
/// or to the right edge when there is no return.
///
/// Both end columns are included because intervals are closed: an op that returns at time
/// 5 and one called at 5 may have been concurrent, and their bars overlap by that column.
/// One pixel is left free at each end so that consecutive bars stay distinguishable.
fn bar_geometry(call: usize, ret: Option<usize>, n_slots: usize) -> (usize, usize) {
    let end = match ret {
        Some(r) => r.max(call) + 1,
        None => n_slots + TAIL_SLOTS,
    };
    (NAME_W + call * SLOT_W + 1, (end - call) * SLOT_W - 2)
}

fn write_style(out: &mut String) -> fmt::Result {
    out.push_str("<style>\n");
    out.push_str(STYLE);
    // Grid lines under the time labels, drawn by the background so they cost no markup.
    writeln!(
        out,
        ".tl{{background:repeating-linear-gradient(90deg,#ddd 0 1px,transparent 1px {}px) {NAME_W}px 0}}",
        TICK_EVERY * SLOT_W
    )?;
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
body{margin:16px;font:14px/1.4 system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif;color:#222;background:#fff}
h1{margin:0 0 4px;font-size:20px;overflow-wrap:anywhere}
h2{margin:20px 0 6px;font-size:16px}
.summary{margin:0;color:#555;overflow-wrap:anywhere}
.verdict{display:inline-block;margin:8px 0 0;padding:3px 10px;border-radius:4px;font-weight:bold;color:#fff}
.v-yes{background:#2e7d32}.v-no{background:#c62828}.v-unknown{background:#757575}
.note{margin:4px 0;color:#555}
.omitted{font-weight:bold}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;margin:6px 0;padding:0;list-style:none;font-size:13px}
.sw{display:inline-block;width:28px;height:12px;margin-right:6px;vertical-align:middle;border:1px solid #1e5aa8;border-radius:2px;background:#cfe0f7}
.sw.out{border-color:#999;background:#e6e6e6}
.sw.blocked{border:2px solid #8e0000;background:#e53935}
.sw.noret{border-style:dashed;opacity:.6}
.scroll{max-height:75vh;overflow:auto;border:1px solid #ccc}
.tl{position:relative;min-width:100%}
.axis{position:sticky;top:0;z-index:3;height:20px;background:#fff;border-bottom:1px solid #bbb}
.tick{position:absolute;top:0;padding-left:3px;border-left:1px solid #999;font-size:11px;line-height:19px;color:#666;white-space:nowrap}
.row{position:relative;border-bottom:1px solid #eee}
.row:nth-child(odd){background:rgba(0,0,0,.03)}
.name,.corner{position:sticky;left:0;z-index:2;height:100%;padding:0 6px;border-right:1px solid #bbb;background:#f7f7f7;font-size:12px;line-height:21px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.op{position:absolute;top:2px;height:18px;padding:0 4px;border:1px solid #1e5aa8;border-radius:3px;background:#cfe0f7;font-size:12px;line-height:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:default}
.op b{margin-right:4px}
.op i{margin-left:6px;color:#444}
.op.out{border-color:#999;background:#e6e6e6;color:#555}
.op.blocked{z-index:1;border:2px solid #8e0000;background:#e53935;color:#fff;line-height:14px;font-weight:bold}
.op.blocked i{color:#fff}
.op.noret{border-style:dashed;opacity:.6}
.op.hl{z-index:1;outline:3px solid #f9a825}
table{border-collapse:collapse;font-size:13px}
th,td{padding:2px 8px;border:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr[data-i]{cursor:pointer}
tr.hl td{background:#fff3c4}
td.state{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.blocked-box{margin:10px 0;padding:8px 12px;border:2px solid #c62828;background:#fdecea;color:#8e0000;font-weight:bold;cursor:pointer}
";

/// Optional nicety: hovering a table row (or the blocked box) highlights its bar and the
/// other way round; clicking a row scrolls its bar into view. The page works without it.
/// It holds no `&` or `<`, so the page's only raw ones are markup.
const SCRIPT: &str = "<script>
(function () {
  if (!document.addEventListener) return;
  if (!window.Element) return;
  if (!Element.prototype.closest) return;
  var cur = null;
  function mark(i, on) {
    var bar = document.getElementById('o' + i);
    var row = document.getElementById('s' + i);
    if (bar) bar.classList.toggle('hl', on);
    if (row) row.classList.toggle('hl', on);
  }
  function opOf(t) {
    var e = t.closest ? t.closest('[data-i],.op') : null;
    if (!e) return null;
    return e.getAttribute('data-i') || e.id.slice(1);
  }
  document.addEventListener('mouseover', function (ev) {
    var i = opOf(ev.target);
    if (i === cur) return;
    if (cur !== null) mark(cur, false);
    if (i !== null) mark(i, true);
    cur = i;
  });
  document.addEventListener('click', function (ev) {
    var e = ev.target.closest ? ev.target.closest('[data-i]') : null;
    if (!e) return;
    var bar = document.getElementById('o' + e.getAttribute('data-i'));
    if (bar) bar.scrollIntoView({ block: 'center', inline: 'center' });
  });
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

    fn page(verdict: PageVerdict, ops: Vec<PageOp>) -> Page {
        Page {
            title: "history.edn".to_string(),
            summary: "model register".to_string(),
            verdict,
            ops,
            order: Vec::new(),
            states: Vec::new(),
            blocked: None,
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

    #[test]
    fn caller_text_is_escaped() {
        let mut p = page(
            PageVerdict::Linearizable,
            vec![op(1, 0, Some(1), "<script>alert(1)</script> & 'x' \"y\"")],
        );
        p.title = "<script>t()</script>&title".to_string();
        p.summary = "<b>bold</b> & more".to_string();
        p.order = vec![0];
        p.states = vec!["<i>state</i>&".to_string()];
        let html = render_html(&p);
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the page's own script"
        );
        for raw in ["<script>alert", "<script>t()", "<b>bold", "<i>state"] {
            assert!(!html.contains(raw), "{raw} left raw");
        }
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;x&#39; &quot;y&quot;")
        );
        assert!(html.contains("<h1>&lt;script&gt;t()&lt;/script&gt;&amp;title</h1>"));
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; more"));
        assert!(html.contains("&lt;i&gt;state&lt;/i&gt;&amp;"));
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
    fn blocked_op_is_marked_and_named() {
        let mut p = page(
            PageVerdict::NotLinearizable,
            vec![
                op(3, 0, Some(10), "write 1"),
                op(7, 12, Some(20), "cas 1→2 ✗"),
                op(3, 15, Some(25), "read → 2"),
            ],
        );
        p.order = vec![0];
        p.states = vec!["1".to_string()];
        p.blocked = Some(1);
        let html = render_html(&p);
        let bar = tag_with_id(&html, "o1");
        assert!(bar.contains("class=\"op blocked\""), "{bar}");
        assert!(bar.contains("cannot be placed"), "{bar}");
        assert!(html.contains("cannot be placed: cas 1→2 ✗ (process 7)"));
        assert!(html.contains("<span class=\"sw blocked\"></span>cannot be placed"));
        assert!(html.contains("Longest linearizable prefix (1 of 3 operations)"));
        assert!(html.contains("class=\"verdict v-no\">Not linearizable"));
        // The op that is neither placed nor blocked is grey.
        assert!(tag_with_id(&html, "o2").contains("class=\"op out\""));
        assert!(!tag_with_id(&html, "o0").contains("blocked"));
        assert_well_formed(&html);

        p.blocked = None;
        let html = render_html(&p);
        assert!(!html.contains("op blocked"));
        assert!(!html.contains("cannot be placed:"));
    }

    #[test]
    fn steps_appear_on_bars_tooltips_and_table() {
        let mut p = page(
            PageVerdict::Linearizable,
            vec![op(0, 0, Some(10), "write 1"), op(1, 5, Some(6), "read → 1")],
        );
        p.order = vec![1, 0];
        p.states = vec!["0".to_string(), "1".to_string()];
        let html = render_html(&p);
        let bar = tag_with_id(&html, "o0");
        assert!(bar.contains("step 2 of the linearization"), "{bar}");
        assert!(bar.contains("class=\"op\""), "{bar}");
        assert!(html.contains("<b>2</b>write 1</div>"));
        assert!(html.contains("<b>1</b>read → 1</div>"));
        assert!(html.contains(
            "<tr id=\"s1\" data-i=\"1\"><td>1</td><td>1</td><td>read → 1</td>\
             <td class=\"state\">0</td></tr>"
        ));
        assert!(html.contains("Linearization (2 operations)"));
        assert!(html.contains("class=\"verdict v-yes\""));
        assert_well_formed(&html);
    }

    #[test]
    fn indeterminate_op_runs_to_the_right_edge() {
        let p = page(
            PageVerdict::Unknown,
            vec![
                op(0, 0, Some(3), "write 1"),
                op(1, 1, None, "write 2"),
                op(2, 2, Some(100), "read → 1"),
            ],
        );
        let html = render_html(&p);
        let bar = tag_with_id(&html, "o1");
        assert!(bar.contains("class=\"op out noret\""), "{bar}");
        assert!(bar.contains("no return (indeterminate)"), "{bar}");
        assert!(html.contains("write 2<i>no return</i></div>"));
        let right = |id: &str| {
            let tag = tag_with_id(&html, id);
            px(tag, "left") + px(tag, "width")
        };
        assert!(
            right("o1") > right("o2") + SLOT_W,
            "does not run past the last return"
        );
        let timeline = &html[html.find("class=\"tl\"").unwrap()..];
        assert_eq!(px(timeline, "width"), right("o1") + 1);
        assert!(!tag_with_id(&html, "o0").contains("noret"));
        assert!(html.contains("class=\"verdict v-unknown\""));
        assert_well_formed(&html);
    }

    #[test]
    fn time_axis_is_compressed_by_rank() {
        let p = page(
            PageVerdict::Linearizable,
            vec![
                op(0, 0, Some(1), "tiny"),
                op(1, 2, Some(u64::MAX), "huge"),
                op(2, 5, Some(5), "instant"),
            ],
        );
        let html = render_html(&p);
        let width = |id: &str| px(tag_with_id(&html, id), "width");
        // Times 0, 1, 2, 5, MAX are columns 0..5, whatever their values.
        assert_eq!(width("o0"), 2 * SLOT_W - 2);
        assert_eq!(width("o1"), 3 * SLOT_W - 2);
        assert_eq!(width("o2"), SLOT_W - 2);
        assert_eq!(
            px(tag_with_id(&html, "o1"), "left"),
            NAME_W + 2 * SLOT_W + 1
        );
    }

    #[test]
    fn one_row_per_process_sorted_by_id() {
        let p = page(
            PageVerdict::Linearizable,
            vec![
                op(u64::MAX, 0, Some(1), "a"),
                op(3, 0, Some(1), "b"),
                op(0, 0, Some(1), "c"),
                op(3, 2, Some(3), "d"),
            ],
        );
        let html = render_html(&p);
        assert_eq!(html.matches("<div class=\"name\">").count(), 3);
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("no {s}"));
        assert!(at(">process 0<") < at(">process 3<"));
        assert!(at(">process 3<") < at(&format!(">process {}<", u64::MAX)));
    }

    #[test]
    fn overlapping_ops_of_one_process_get_separate_lanes() {
        let p = page(
            PageVerdict::Unknown,
            vec![
                op(4, 0, None, "write 1"),
                op(4, 5, Some(6), "read → 1"),
                op(4, 7, Some(8), "read → 1"),
            ],
        );
        let html = render_html(&p);
        assert!(!tag_with_id(&html, "o0").contains("top:"));
        assert_eq!(px(tag_with_id(&html, "o1"), "top"), 2 + LANE_H);
        assert_eq!(px(tag_with_id(&html, "o2"), "top"), 2 + LANE_H);
        assert!(html.contains(&format!(
            "<div class=\"row\" style=\"height:{}px\">",
            2 * LANE_H
        )));
    }

    #[test]
    fn huge_history_stays_bounded() {
        let n = 100_000;
        let ops: Vec<PageOp> = (0..n as u64)
            .map(|i| {
                let call = 1_700_000_000_000_000_000 + i * 1_000;
                op(
                    i % 50,
                    call,
                    Some(call + 1_500),
                    &format!("cas {i}→{}", i + 1),
                )
            })
            .collect();
        let mut p = page(PageVerdict::NotLinearizable, ops);
        p.order = (0..n - 1).collect();
        p.states = (0..n - 1).map(|i| format!("{}", i + 1)).collect();
        p.blocked = Some(n - 1);
        p.omitted = 5;
        let html = render_html(&p);
        assert!(html.len() < 1_500_000, "page is {} bytes", html.len());
        assert_eq!(html.matches("<div class=\"op").count(), MAX_PAGE_OPS);
        assert!(html.contains(&format!("{} operations not shown", n - MAX_PAGE_OPS + 5)));
        // The blocked op is kept although it is last, and steps keep their numbers.
        assert!(tag_with_id(&html, &format!("o{}", n - 1)).contains("op blocked"));
        assert!(html.contains(&format!("cannot be placed: cas {}→{n}", n - 1)));
        assert!(html.contains("Longest linearizable prefix (99999 of 100000 operations)"));
        assert!(html.contains("<td>1999</td>"));
        assert!(!html.contains("<td>2000</td>"));
        assert!(!html.contains("id=\"o1999\""));
        assert_well_formed(&html);
    }

    #[test]
    fn full_page_of_max_ops_is_well_under_the_bound() {
        let ops: Vec<PageOp> = (0..MAX_PAGE_OPS as u64)
            .map(|i| op(i % 200, i * 7, Some(i * 7 + 20), &format!("write {i}")))
            .collect();
        let mut p = page(PageVerdict::Linearizable, ops);
        p.order = (0..MAX_PAGE_OPS).collect();
        p.states = (0..MAX_PAGE_OPS).map(|i| i.to_string()).collect();
        let html = render_html(&p);
        assert!(html.len() < 1_000_000, "page is {} bytes", html.len());
        assert!(!html.contains("not shown"));
    }

    #[test]
    fn empty_page_renders() {
        let html = render_html(&page(PageVerdict::Unknown, Vec::new()));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("No operations to draw."));
        assert!(html.contains("No steps to list."));
        assert!(html.contains("Partial linearization (0 of 0 operations)"));
        assert!(!html.contains("not shown"));
        assert_well_formed(&html);
    }

    #[test]
    fn inconsistent_input_does_not_panic() {
        let mut p = page(
            PageVerdict::NotLinearizable,
            vec![op(1, 10, Some(5), "backwards"), op(2, 0, Some(1), "ok")],
        );
        p.order = vec![1, 99, 1];
        p.states = vec!["s".to_string()];
        p.blocked = Some(42);
        let html = render_html(&p);
        assert_eq!(px(tag_with_id(&html, "o0"), "width"), SLOT_W - 2);
        assert!(html.contains("1 step not listed"));
        assert_eq!(html.matches("id=\"s1\"").count(), 1);
        assert!(!html.contains("cannot be placed:"));
        assert_well_formed(&html);
    }

    #[test]
    fn omitted_count_from_the_caller_is_shown() {
        let mut p = page(PageVerdict::Linearizable, vec![op(0, 0, Some(1), "a")]);
        p.omitted = 1;
        assert!(render_html(&p).contains("1 operation not shown."));
    }

    #[test]
    fn drawn_ops_keep_blocked_within_the_limit() {
        let n = MAX_PAGE_OPS + 10;
        let drawn = choose_drawn(n, Some(n - 1));
        assert_eq!(drawn.len(), MAX_PAGE_OPS);
        assert_eq!(drawn.last(), Some(&(n - 1)));
        assert_eq!(
            choose_drawn(n, Some(3)),
            (0..MAX_PAGE_OPS).collect::<Vec<_>>()
        );
        assert_eq!(choose_drawn(5, Some(9)), (0..5).collect::<Vec<_>>());
    }
}
