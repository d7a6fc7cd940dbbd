//! Writes the HTML report of a sample summary for visual checks (the lead screenshots
//! it in headless Chromium). Path: `$THEMES_REPORT_HTML`, or `report.html` in the
//! system temp directory.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn writes_sample_html_report() {
    let summary = common::sample_summary();
    let html = summary.to_html();
    let path = std::env::var_os("THEMES_REPORT_HTML")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("themes-report.html"));
    std::fs::write(&path, &html).unwrap();
    println!("wrote {}", path.display());
    assert!(html.contains("<svg") && !html.contains("<script"));
    let md = summary.to_markdown();
    std::fs::write(path.with_extension("md"), &md).unwrap();
    println!("{}", summary.to_chat());
}
