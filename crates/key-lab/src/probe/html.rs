//! A probe report as one small self-contained HTML page: the key, the
//! totals per category, and every check with its section and verdict
//! (failures with expected, actual and their evidence frames). No scripts,
//! styles inline, nothing fetched: readable offline and printable.

use super::result::{Outcome, ProbeReport};
use ctap_client::recorder::EventKind;
use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
.pass{color:#17692d}.fail{color:#a4161a;font-weight:bold}.skip{color:#666}\
pre{font-size:11px;white-space:pre-wrap;word-break:break-all;margin:.3em 0}";

/// The report as an HTML document.
pub fn to_html(report: &ProbeReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Keybench probe {aaguid}</title><style>{STYLE}</style></head><body>\
         <h1>Keybench probe</h1><p>AAGUID <code>{aaguid}</code> · {versions} · CTAPHID device version {dv} · Keybench {kv}{destructive}</p>\
         <p>Algorithms: {algs}<br>Extensions: {exts}<br>Probed {started}</p>",
        aaguid = esc(&report.key.aaguid),
        versions = esc(&report.key.versions.join(", ")),
        dv = esc(&report.key.device_version),
        kv = esc(&report.keybench_version),
        destructive = if report.destructive {
            " · destructive checks run"
        } else {
            ""
        },
        algs = esc(&report.key.algorithms.join(", ")),
        exts = esc(&report.key.extensions.join(", ")),
        started = esc(&report.started),
    );
    section(&mut h, report);
    h.push_str("</body></html>\n");
    h
}

/// One traffic event as a line: time, direction, what.
fn evidence_line(e: &ctap_client::TrafficEvent) -> String {
    let dir = match e.direction {
        ctap_client::recorder::Direction::Out => "→",
        ctap_client::recorder::Direction::In => "←",
    };
    let what = match &e.kind {
        EventKind::Frame { cid, header, bytes } => format!(
            "{cid} {header} {}",
            bytes.as_deref().unwrap_or("(redacted)")
        ),
        EventKind::Request {
            command, detail, ..
        } => format!("{command} {detail}"),
        EventKind::Response {
            command,
            status,
            detail,
            ..
        } => format!("{command} {status} {detail}"),
        EventKind::Apdu { header, bytes, .. } => {
            format!("APDU {header} {}", bytes.as_deref().unwrap_or("(redacted)"))
        }
        EventKind::Keepalive { status } => format!("KEEPALIVE {status}"),
    };
    format!("{:>6} ms {dir} {what}", e.at_ms)
}

/// The totals and every check, as a section of a page (the standalone
/// page above, or the key lab's report with its own styles).
pub fn section(h: &mut String, report: &ProbeReport) {
    h.push_str("<table><tr><th>category</th><th>pass</th><th>fail</th><th>skip</th></tr>");
    for c in &report.categories {
        let _ = write!(
            *h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c.category.name()),
            c.tally.pass,
            c.tally.fail,
            c.tally.skip
        );
    }
    let _ = write!(
        *h,
        "<tr><th>total</th><th>{}</th><th>{}</th><th>{}</th></tr></table>",
        report.total.pass, report.total.fail, report.total.skip
    );
    h.push_str("<table><tr><th>check</th><th>section</th><th>outcome</th><th>detail</th></tr>");
    for c in &report.checks {
        let (class, word) = match c.outcome {
            Outcome::Pass => ("pass", "pass"),
            Outcome::Fail => ("fail", "FAIL"),
            Outcome::Skip => ("skip", "skip"),
        };
        let mut detail = String::new();
        if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
            let _ = write!(detail, "expected: {}<br>actual: {}", esc(e), esc(a));
        }
        if let Some(n) = &c.note {
            let _ = write!(detail, "{}", esc(n));
        }
        if !c.evidence.is_empty() {
            let _ = write!(
                detail,
                "<details><summary>{} traffic events</summary><pre>",
                c.evidence.len()
            );
            for e in &c.evidence {
                let _ = writeln!(detail, "{}", esc(&evidence_line(e)));
            }
            detail.push_str("</pre></details>");
        }
        let _ = write!(
            *h,
            "<tr><td><code>{}</code><br>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{detail}</td></tr>",
            esc(&c.id),
            esc(&c.title),
            esc(&c.spec)
        );
    }
    h.push_str("</table>");
    for l in &report.leftovers {
        let _ = write!(*h, "<p>Left on the key: {}</p>", esc(l));
    }
}
