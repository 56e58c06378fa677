//! The probe's section of the key lab's report page: the totals per
//! category, and every check with its section and verdict (failures with
//! expected, actual and their evidence frames).

use super::result::{Outcome, ProbeReport};
use crate::report::html::escape;
use ctap_client::recorder::EventKind;
use std::fmt::Write as _;

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
            escape(c.category.name()),
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
            let _ = write!(detail, "expected: {}<br>actual: {}", escape(e), escape(a));
        }
        if let Some(n) = &c.note {
            let _ = write!(detail, "{}", escape(n));
        }
        if !c.evidence.is_empty() {
            let _ = write!(
                detail,
                "<details><summary>{} traffic events</summary><pre>",
                c.evidence.len()
            );
            for e in &c.evidence {
                let _ = writeln!(detail, "{}", escape(&evidence_line(e)));
            }
            detail.push_str("</pre></details>");
        }
        let _ = write!(
            *h,
            "<tr><td><code>{}</code><br>{}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{detail}</td></tr>",
            escape(&c.id),
            escape(&c.title),
            escape(&c.spec)
        );
    }
    h.push_str("</table>");
    for l in &report.leftovers {
        let _ = write!(*h, "<p>Left on the key: {}</p>", escape(l));
    }
}
