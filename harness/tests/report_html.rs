//! The HTML report is well-formed (parsed back as XML with quick-xml), self-contained, and its
//! charts draw the data: the residency paths, read back through the axis ticks a reader sees,
//! land within half a pixel of the timeline's points.

use membound::report::{self};
use membound::store::ChartTimeline;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::BTreeMap;

mod report_data;
use report_data::input;

/// An element as read back: name, attributes, text content, and the section it is in.
#[derive(Debug, Clone, Default)]
struct El {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    section: String,
    /// Index of the enclosing `<svg>` in document order.
    svg: usize,
}

/// Parses the page as XML (failing on any error or mismatched tag) into a flat element list
/// in document order.
fn parse(html: &str) -> Vec<El> {
    let mut r = Reader::from_str(html);
    r.config_mut().check_end_names = true;
    let mut out: Vec<El> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut section = String::new();
    let mut svgs = 0usize;
    loop {
        let ev = r
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at byte {}: {e}", r.buffer_position()));
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            a.unescape_value().expect("attribute value").into_owned(),
                        )
                    })
                    .collect::<BTreeMap<_, _>>();
                if name == "section" {
                    section = attrs.get("id").cloned().unwrap_or_default();
                }
                if name == "svg" {
                    svgs += 1;
                }
                out.push(El {
                    name,
                    attrs,
                    text: String::new(),
                    section: section.clone(),
                    svg: svgs,
                });
                if matches!(ev, Event::Start(_)) {
                    stack.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                let i = stack.pop().expect("an end tag closes an open element");
                if out[i].name == "section" {
                    section.clear();
                }
            }
            Event::Text(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.unescape().expect("text unescapes"));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements at the end");
    out
}

fn class_has(e: &El, c: &str) -> bool {
    e.attrs
        .get("class")
        .is_some_and(|v| v.split_whitespace().any(|x| x == c))
}

fn num(e: &El, attr: &str) -> f64 {
    e.attrs
        .get(attr)
        .unwrap_or_else(|| panic!("{} has no {attr}", e.name))
        .parse()
        .expect("a number")
}

/// A tick label as the reader sees it: `25,000` or `1.5 MiB`.
fn tick_value(text: &str) -> f64 {
    let t = text.trim();
    let (n, mult) = match t.split_once(' ') {
        Some((n, "B")) => (n, 1.0),
        Some((n, "KiB")) => (n, 1024.0),
        Some((n, "MiB")) => (n, 1024.0 * 1024.0),
        Some((n, "GiB")) => (n, 1024.0 * 1024.0 * 1024.0),
        None => (t, 1.0),
        Some(other) => panic!("unknown tick unit in {other:?}"),
    };
    n.replace(',', "")
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("tick label {t:?}"))
        * mult
}

/// The linear map data → pixel that the ticks of one axis show; checks every tick is on it.
fn axis(ticks: &[(f64, f64)]) -> impl Fn(f64) -> f64 {
    assert!(ticks.len() >= 2, "an axis needs two ticks, found {ticks:?}");
    let ((v0, p0), (v1, p1)) = (ticks[0], ticks[ticks.len() - 1]);
    let k = (p1 - p0) / (v1 - v0);
    for (v, p) in ticks {
        assert!(
            (p0 + (v - v0) * k - p).abs() <= 0.06,
            "tick {v} at {p} is off the axis"
        );
    }
    move |v| p0 + (v - v0) * k
}

/// The (x, y) pixel points of a path's `d` (M/L commands), up to its first `Z`.
fn path_points(d: &str) -> Vec<(f64, f64)> {
    d.split(['M', 'L', 'Z'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap_or_else(|| panic!("point {p:?}"));
            (x.trim().parse().expect("x"), y.trim().parse().expect("y"))
        })
        .collect()
}

struct ChartView<'a> {
    els: Vec<&'a El>,
}

impl ChartView<'_> {
    fn scales(&self) -> (impl Fn(f64) -> f64, impl Fn(f64) -> f64) {
        let xt: Vec<(f64, f64)> = self
            .els
            .iter()
            .filter(|e| class_has(e, "xtick"))
            .map(|e| (tick_value(&e.text), num(e, "x")))
            .collect();
        let yt: Vec<(f64, f64)> = self
            .els
            .iter()
            .filter(|e| class_has(e, "ytick"))
            .map(|e| (tick_value(&e.text), num(e, "y")))
            .collect();
        (axis(&xt), axis(&yt))
    }

    fn series(&self, attr: &str, value: &str) -> Vec<(f64, f64)> {
        let p = self
            .els
            .iter()
            .find(|e| e.name == "path" && e.attrs.get(attr).is_some_and(|v| v == value));
        path_points(
            &p.unwrap_or_else(|| panic!("no path with {attr}={value}"))
                .attrs["d"],
        )
    }
}

/// The charts of one kind, by scenario section.
fn charts<'a>(els: &'a [El], class: &str) -> Vec<(String, ChartView<'a>)> {
    let svgs: Vec<&El> = els
        .iter()
        .filter(|e| e.name == "svg" && class_has(e, class))
        .collect();
    svgs.into_iter()
        .map(|s| {
            (
                s.section.clone(),
                ChartView {
                    els: els
                        .iter()
                        .filter(|e| e.svg == s.svg && e.name != "svg")
                        .collect(),
                },
            )
        })
        .collect()
}

fn assert_on(
    points: &[(f64, f64)],
    tl: &ChartTimeline,
    fx: &dyn Fn(f64) -> f64,
    fy: &dyn Fn(f64) -> f64,
    what: &str,
) {
    assert_eq!(
        points.len(),
        tl.points.len(),
        "{what}: one vertex per point"
    );
    for ((px, py), p) in points.iter().zip(&tl.points) {
        let (ex, ey) = (fx(p.x as f64), fy(p.live_bytes as f64));
        assert!(
            (px - ex).abs() <= 0.5 && (py - ey).abs() <= 0.5,
            "{what}: point x={} live={} drawn at ({px}, {py}), axes say ({ex:.2}, {ey:.2})",
            p.x,
            p.live_bytes
        );
    }
}

#[test]
fn html_is_well_formed_and_self_contained() {
    let html = report::html(&input());
    assert!(html.starts_with("<!DOCTYPE html>"));
    let els = parse(&html);
    assert_eq!(els.first().map(|e| e.name.as_str()), Some("html"));
    for bad in [
        "<script", "<link", "<img", "<iframe", "src=", "url(", "@import",
    ] {
        assert!(
            !html.contains(bad),
            "the page must not load anything: found {bad}"
        );
    }
    let without_ns = html
        .replace("http://www.w3.org/1999/xhtml", "")
        .replace("http://www.w3.org/2000/svg", "");
    assert!(
        !without_ns.contains("http://") && !without_ns.contains("https://"),
        "no network addresses"
    );
    let ids: Vec<&String> = els.iter().filter_map(|e| e.attrs.get("id")).collect();
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(ids.len(), uniq.len(), "ids are unique");
    for a in els.iter().filter(|e| e.name == "a") {
        let target = a.attrs["href"].trim_start_matches('#');
        assert!(
            ids.iter().any(|i| *i == target),
            "link to #{target} has a target"
        );
    }
}

#[test]
fn residency_paths_match_the_timelines_within_half_a_pixel() {
    let input = input();
    let html = report::html(&input);
    let els = parse(&html);
    let found = charts(&els, "residency");
    let mut checked = 0;
    for r in &input.results {
        let section = format!("s-{}", r.scenario);
        let (_, chart) = found
            .iter()
            .find(|(s, _)| *s == section)
            .unwrap_or_else(|| panic!("no residency chart for {}", r.scenario));
        let (fx, fy) = chart.scales();
        let current = &r.current.as_ref().expect("current").timeline;
        assert_on(
            &chart.series("data-series", "current"),
            current,
            &fx,
            &fy,
            &format!("{} current", r.scenario),
        );
        let base = &input.base[&r.scenario].timeline;
        assert_on(
            &chart.series("data-series", "baseline"),
            base,
            &fx,
            &fy,
            &format!("{} baseline", r.scenario),
        );
        // Bounds at their bytes, the violation at its x.
        for inv in &r.invariants {
            if let Some(b) = inv.max_live_bytes {
                let g = chart
                    .els
                    .iter()
                    .position(|e| class_has(e, "bound") && e.attrs["data-bytes"] == b.to_string())
                    .expect("bound drawn");
                let line = chart.els[g + 1];
                assert!(
                    (num(line, "y1") - fy(b as f64)).abs() <= 0.5,
                    "{}: bound {b} drawn at y {}",
                    r.scenario,
                    num(line, "y1")
                );
            }
            if let membound::measure::invariant::Outcome::Violated(v) = &inv.outcome {
                let g = chart
                    .els
                    .iter()
                    .position(|e| class_has(e, "violation"))
                    .expect("violation drawn");
                assert_eq!(chart.els[g].attrs["data-x"], v.x.to_string());
                let line = chart.els[g + 1];
                assert!(
                    (num(line, "x1") - fx(v.x as f64)).abs() <= 0.5,
                    "{}: violation at x {}",
                    r.scenario,
                    num(line, "x1")
                );
                let label = chart.els[g + 2];
                assert!(
                    label.text.contains("120,000") && label.text.contains(&inv.name),
                    "{}",
                    label.text
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn type_bands_stack_up_to_the_live_bytes() {
    let input = input();
    let html = report::html(&input);
    let els = parse(&html);
    for (section, chart) in charts(&els, "types")
        .iter()
        .filter(|(s, _)| s.starts_with("s-"))
    {
        let r = input
            .results
            .iter()
            .find(|r| format!("s-{}", r.scenario) == *section)
            .expect("a result per chart");
        let tl = &r.current.as_ref().expect("current").timeline;
        let (fx, fy) = chart.scales();
        // The top band's upper edge (the first half of its outline) is the total.
        let bands: Vec<&&El> = chart
            .els
            .iter()
            .filter(|e| e.name == "path" && e.attrs.get("data-series").is_some_and(|s| s == "type"))
            .collect();
        let top = bands.last().expect("bands");
        let pts = path_points(&top.attrs["d"]);
        assert_on(
            &pts[..tl.points.len()],
            tl,
            &fx,
            &fy,
            &format!("{section} stacked total"),
        );
        assert_on(
            &chart.series("data-series", "baseline"),
            &input.base[&r.scenario].timeline,
            &fx,
            &fy,
            &format!("{section} baseline total"),
        );
    }
}
