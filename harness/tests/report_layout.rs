//! The HTML report as a browser lays it out: at 1280 and at 800 px wide the page never scrolls
//! sideways (every column, the invariants' included, is on screen), in headless Chromium.
//! Under `CI=true` a missing Chromium fails.

mod common;
mod report_data;

use membound::report::ReportInput;
use std::process::Command;

/// The browser's name on Debian (`chromium`).
const CHROMIUM: &str = "chromium";

/// The widths of the page and of the window at `width` px, and the elements that stick out
/// past the window's right edge (tag and class), as Chromium lays `html` out.
fn layout(html: &str, width: u32) -> (u64, u64, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    // The measurement runs after layout and leaves its answer in the DOM that --dump-dom prints.
    let probe = r#"<script>
const w = window.innerWidth;
const out = [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 0.5)
  .map(e => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className ? '.' + e.className.replace(/ /g, '.') : ''));
document.body.setAttribute('data-layout', document.documentElement.scrollWidth + ' ' + w + ' ' + out.slice(0, 12).join(','));
</script>
</body>"#;
    assert!(html.contains("</body>"), "the report has a body");
    std::fs::write(&page, html.replacen("</body>", probe, 1)).expect("write page");
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--window-size={width},900"),
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let at = dom
        .find("data-layout=\"")
        .unwrap_or_else(|| panic!("no measurement in the DOM: {dom}"));
    let rest = &dom[at + "data-layout=\"".len()..];
    let value = &rest[..rest.find('"').expect("closing quote")];
    let mut parts = value.splitn(3, ' ');
    let scroll = parts
        .next()
        .and_then(|v| v.parse().ok())
        .expect("scrollWidth");
    let inner = parts
        .next()
        .and_then(|v| v.parse().ok())
        .expect("innerWidth");
    (scroll, inner, parts.next().unwrap_or("").to_owned())
}

/// The golden tests' report: a pull request with scenarios of several sources, one failing.
fn fixture() -> ReportInput {
    report_data::input()
}

#[test]
fn the_html_report_fits_the_window_at_1280_and_800_px() {
    if !common::have(CHROMIUM, "--version") {
        return;
    }
    let html = membound::report::html(&fixture());
    for width in [1280, 800] {
        let (scroll, inner, sticking_out) = layout(&html, width);
        assert_eq!(inner, u64::from(width), "the window is {width} px wide");
        assert!(
            scroll <= inner && sticking_out.is_empty(),
            "at {width} px the page is {scroll} px wide; past the right edge: {sticking_out}"
        );
    }
}

#[test]
fn the_measurement_sees_a_page_that_scrolls_sideways() {
    if !common::have(CHROMIUM, "--version") {
        return;
    }
    let wide = membound::report::html(&fixture()).replacen(
        "</main>",
        "<div style=\"width:1500px\">too wide</div></main>",
        1,
    );
    let (scroll, inner, sticking_out) = layout(&wide, 1280);
    assert!(scroll > inner, "{scroll} ≤ {inner}");
    assert!(sticking_out.contains("div"), "{sticking_out}");
}
