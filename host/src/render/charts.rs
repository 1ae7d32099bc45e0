//! Charts drawn on the server as inline SVG: no script, no image files, and
//! they print. Geometry is computed in `Decimal` and rounded to whole
//! pixels (half away from zero), so no figure goes through a float. Each
//! chart has a `<title>` and a `<desc>` saying what it shows in words; the
//! pages put the same figures in a table beside it.

use std::fmt::Write as _;

use rust_decimal::{Decimal, RoundingStrategy};

use super::grouped;

/// One series of a column chart: a name for the legend, a CSS class for
/// its colour (`style.css`, `svg .a` ...) and one value per label.
pub struct Series<'a> {
    /// In the legend.
    pub name: &'a str,
    /// The CSS class that colours it.
    pub class: &'a str,
    /// One per label.
    pub values: Vec<Decimal>,
}

/// One bar of the exposure chart.
pub struct Exposure {
    /// The account.
    pub label: String,
    /// Posted debt.
    pub debt: Decimal,
    /// Open holds.
    pub held: Decimal,
    /// The credit limit.
    pub limit: Decimal,
}

const WIDTH: i64 = 640;
const LEFT: i64 = 78;
const RIGHT: i64 = 12;
const TOP: i64 = 28;

/// `text` safe inside SVG text and attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `v` of `max` as pixels of `span`, rounded half away from zero; 0 for
/// values at or below zero, `span` at or above `max`.
fn px(v: Decimal, max: Decimal, span: i64) -> i64 {
    if max <= Decimal::ZERO || v <= Decimal::ZERO {
        return 0;
    }
    let scaled = (v.min(max) * Decimal::from(span) / max).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    scaled.mantissa() as i64 / 10i64.pow(scaled.scale())
}

/// A round number at or above `max` for the top of an axis: 1, 2 or 5
/// times a power of ten.
fn nice_top(max: Decimal) -> Decimal {
    if max <= Decimal::ZERO {
        return Decimal::ONE;
    }
    let mut step = Decimal::ONE;
    while step * Decimal::from(10) <= max {
        step *= Decimal::from(10);
    }
    while step > max && step > Decimal::new(1, 2) {
        step /= Decimal::from(10);
    }
    for m in [1, 2, 5, 10] {
        let top = step * Decimal::from(m);
        if top >= max {
            return top;
        }
    }
    step * Decimal::from(10)
}

/// An axis figure: whole units, grouped.
fn axis_figure(v: Decimal) -> String {
    grouped(&v.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero).to_string())
}

fn open(out: &mut String, id: &str, title: &str, desc: &str, height: i64) {
    let _ = write!(
        out,
        r#"<figure class="chart"><svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
}

fn close(out: &mut String, title: &str) {
    let _ = write!(out, r#"</svg><figcaption>{}</figcaption></figure>"#, esc(title));
}

/// Horizontal grid lines and their figures, from 0 to `top` (a
/// `nice_top`) in round steps: fifths of a 1 or a 5, quarters of a 2.
fn grid(out: &mut String, top: Decimal, plot_h: i64) {
    let leading = top.mantissa().to_string().trim_end_matches('0').to_owned();
    let steps: i64 = if leading == "2" { 4 } else { 5 };
    for i in 0..=steps {
        let y = TOP + plot_h - plot_h * i / steps;
        let v = top * Decimal::from(i) / Decimal::from(steps);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y}" y2="{y}"/><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6,
            y + 4,
            axis_figure(v)
        );
    }
}

fn legend(out: &mut String, series: &[(&str, &str)]) {
    let mut x = LEFT;
    for (name, class) in series {
        let _ = write!(out, r#"<rect class="{class}" x="{x}" y="8" width="12" height="12"/><text class="legend" x="{}" y="18">{}</text>"#, x + 16, esc(name));
        x += 28 + 8 * name.chars().count() as i64;
    }
}

/// Columns, one group per label and one column per series in it; negative
/// values drawn as nothing. `desc` says the figures in words.
pub fn columns(id: &str, title: &str, desc: &str, labels: &[String], series: &[Series]) -> String {
    let plot_h = 180;
    let height = TOP + plot_h + 34;
    let mut out = String::new();
    open(&mut out, id, title, desc, height);
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(Decimal::ZERO, Decimal::max);
    let top = nice_top(max);
    grid(&mut out, top, plot_h);
    let n = labels.len().max(1) as i64;
    let group = (WIDTH - LEFT - RIGHT) / n;
    let k = series.len().max(1) as i64;
    let bar = (group * 4 / 5 / k).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT + group * i as i64 + (group - bar * k) / 2;
        for (j, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or_default();
            let h = px(v, top, plot_h);
            let _ = write!(
                out,
                r#"<rect class="{}" x="{}" y="{}" width="{bar}" height="{h}"><title>{}: {} {}</title></rect>"#,
                s.class,
                x0 + bar * j as i64,
                TOP + plot_h - h,
                esc(label),
                esc(s.name),
                grouped(&v.to_string())
            );
        }
        let _ = write!(out, r#"<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>"#, LEFT + group * i as i64 + group / 2, TOP + plot_h + 16, esc(label));
    }
    legend(&mut out, &series.iter().map(|s| (s.name, s.class)).collect::<Vec<_>>());
    close(&mut out, title);
    out
}

/// Points joined by a line, one per label, from zero up (days to pay).
pub fn line(id: &str, title: &str, desc: &str, points: &[(String, Decimal)], unit: &str) -> String {
    let plot_h = 160;
    let height = TOP + plot_h + 34;
    let mut out = String::new();
    open(&mut out, id, title, desc, height);
    let top = nice_top(points.iter().map(|p| p.1).fold(Decimal::ZERO, Decimal::max));
    grid(&mut out, top, plot_h);
    let n = points.len().max(1) as i64;
    let step = (WIDTH - LEFT - RIGHT) / n;
    let at = |i: usize, v: Decimal| (LEFT + step * i as i64 + step / 2, TOP + plot_h - px(v, top, plot_h));
    let path: Vec<String> = points.iter().enumerate().map(|(i, p)| at(i, p.1)).map(|(x, y)| format!("{x},{y}")).collect();
    let _ = write!(out, r#"<polyline class="trend" points="{}"/>"#, path.join(" "));
    let every = (points.len() / 8).max(1);
    for (i, (label, v)) in points.iter().enumerate() {
        let (x, y) = at(i, *v);
        let _ = write!(out, r#"<circle class="a" cx="{x}" cy="{y}" r="3.5"><title>{}: {} {unit}</title></circle>"#, esc(label), v);
        if i % every == 0 {
            let _ = write!(out, r#"<text class="axis" x="{x}" y="{}" text-anchor="middle">{}</text>"#, TOP + plot_h + 16, esc(label));
        }
    }
    legend(&mut out, &[(unit, "a")]);
    close(&mut out, title);
    out
}

/// One horizontal track per account, in percent of its own limit (so
/// accounts of any size and currency read alike): posted debt, then open
/// holds, against one line at 100%. An account with no limit that owes
/// something fills its track. Utilisation is rounded half away from zero to
/// whole pixels like everything else; the tables give the exact figures.
pub fn exposure(id: &str, title: &str, desc: &str, rows: &[Exposure]) -> String {
    let row_h = 22;
    let plot_h = row_h * rows.len().max(1) as i64;
    let height = TOP + plot_h + 24;
    let mut out = String::new();
    open(&mut out, id, title, desc, height);
    let hundred = Decimal::from(100);
    let percent = |v: Decimal, limit: Decimal| if limit > Decimal::ZERO { v.max(Decimal::ZERO) * hundred / limit } else if v > Decimal::ZERO { Decimal::MAX } else { Decimal::ZERO };
    let top = rows.iter().map(|r| percent(r.debt.max(Decimal::ZERO) + r.held, r.limit)).filter(|p| *p < Decimal::MAX).fold(hundred, Decimal::max);
    let top = if top > hundred { nice_top(top) } else { hundred };
    let span = WIDTH - LEFT - RIGHT;
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + row_h * i as i64;
        let debt = px(percent(r.debt, r.limit), top, span);
        let held = px(percent(r.debt.max(Decimal::ZERO) + r.held, r.limit), top, span) - debt;
        let _ = write!(
            out,
            r#"<text class="axis" x="{}" y="{}" text-anchor="end">{}</text><rect class="track" x="{LEFT}" y="{}" width="{span}" height="{}"/><rect class="a" x="{LEFT}" y="{}" width="{debt}" height="{}"><title>{}: owed {} of limit {}</title></rect><rect class="b" x="{}" y="{}" width="{held}" height="{}"><title>{}: held {}</title></rect>"#,
            LEFT - 6,
            y + 15,
            esc(&r.label),
            y + 3,
            row_h - 6,
            y + 3,
            row_h - 6,
            esc(&r.label),
            grouped(&r.debt.to_string()),
            grouped(&r.limit.to_string()),
            LEFT + debt,
            y + 3,
            row_h - 6,
            esc(&r.label),
            grouped(&r.held.to_string()),
        );
    }
    let limit = LEFT + px(hundred, top, span);
    let _ = write!(
        out,
        r#"<line class="limit" x1="{limit}" x2="{limit}" y1="{TOP}" y2="{}"/><text class="axis" x="{LEFT}" y="{}">0%</text><text class="axis" x="{limit}" y="{}" text-anchor="{}">100%</text>"#,
        TOP + plot_h,
        TOP + plot_h + 16,
        TOP + plot_h + 16,
        if top > hundred { "middle" } else { "end" }
    );
    if top > hundred {
        let _ = write!(out, r#"<text class="axis" x="{}" y="{}" text-anchor="end">{top}%</text>"#, WIDTH - RIGHT, TOP + plot_h + 16);
    }
    legend(&mut out, &[("owed", "a"), ("held for orders", "b"), ("| the credit limit", "limit-key")]);
    close(&mut out, title);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn pixels_are_rounded_half_away_from_zero_and_clamped() {
        assert_eq!(px(d("50"), d("100"), 180), 90);
        assert_eq!(px(d("1"), d("8"), 4), 1); // 0.5 -> 1
        assert_eq!(px(d("-3"), d("100"), 180), 0);
        assert_eq!(px(d("300"), d("100"), 180), 180);
        assert_eq!(px(d("5"), d("0"), 180), 0);
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_top(d("0")), d("1"));
        assert_eq!(nice_top(d("7.5")), d("10"));
        assert_eq!(nice_top(d("120")), d("200"));
        assert_eq!(nice_top(d("222400.57")), d("500000"));
        assert_eq!(nice_top(d("1000")), d("1000"));
    }

    #[test]
    fn exposure_is_drawn_in_percent_of_each_limit() {
        let rows = [
            Exposure { label: "big".into(), debt: d("150000"), held: d("50000"), limit: d("400000") },
            Exposure { label: "small".into(), debt: d("300"), held: d("0"), limit: d("600") },
            Exposure { label: "over".into(), debt: d("130"), held: d("0"), limit: d("100") },
        ];
        let s = exposure("e", "t", "d", &rows);
        // 130% is the most: the axis tops at 200%, 100% is half of 550 px.
        assert!(s.contains(r#"<line class="limit" x1="353""#), "{s}");
        assert!(s.contains(r#"width="103" height="16"><title>big: owed"#), "150,000 of 400,000 = 37.5% of 200% of 550 px = 103.1: {s}");
        assert!(s.contains(r#"width="35" height="16"><title>big: held"#), "with the holds 50%: 137.5 -> 138, less 103");
        assert!(s.contains(r#"width="138" height="16"><title>small: owed"#), "50%: 137.5 rounds half away from zero");
        assert!(s.contains(r#"width="358" height="16"><title>over: owed"#), "130%: 357.5 -> 358");
        assert!(s.contains(">200%<"));
    }

    #[test]
    fn grid_steps_are_round() {
        let figures = |top: &str| {
            let mut s = String::new();
            grid(&mut s, d(top), 100);
            s.split(r#"text-anchor="end">"#).skip(1).map(|t| t.split('<').next().unwrap().to_owned()).collect::<Vec<_>>()
        };
        assert_eq!(figures("50"), ["0", "10", "20", "30", "40", "50"]);
        assert_eq!(figures("200000"), ["0", "50,000", "100,000", "150,000", "200,000"]);
        assert_eq!(figures("1000"), ["0", "200", "400", "600", "800", "1,000"]);
    }

    #[test]
    fn labels_are_escaped_and_every_value_drawn() {
        let s = columns("c", "A <b>", "d", &["x&y".into(), "z".into()], &[Series { name: "owed", class: "a", values: vec![d("10"), d("20")] }]);
        assert!(s.contains("x&amp;y") && s.contains("A &lt;b&gt;") && !s.contains("<b>"));
        assert_eq!(s.matches(r#"<rect class="a""#).count(), 3, "two columns and the legend's key");
        assert!(s.contains(r#"height="180""#), "the larger value reaches the nice top of 20: {s}");
    }
}
