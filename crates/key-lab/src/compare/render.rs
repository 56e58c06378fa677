//! The comparison as a report section: what was measured and how, grouped
//! bar charts (time, bytes, sizes, reports; the p95 as a whisker over the
//! median) and the full table. Also used on its own by front ends that
//! show the charts ([`charts`]).

use crate::compare::stats::Stat;
use crate::compare::{AlgorithmResult, CeremonyStats, Comparison, Outcome};
use crate::report::html::escape;
use crate::report::svg::{Bar, BarChart, Scale, Series, number};
use std::fmt::Write as _;

/// The measured algorithms with their two ceremonies.
fn measured(c: &Comparison) -> Vec<(&AlgorithmResult, &CeremonyStats, &CeremonyStats)> {
    c.algorithms
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Measured {
                registration,
                authentication,
            } => Some((a, &**registration, &**authentication)),
            _ => None,
        })
        .collect()
}

fn bar(stat: Option<&Stat>, whisker: bool) -> Option<Bar> {
    stat.map(|s| Bar {
        value: s.median,
        high: whisker.then_some(s.p95),
    })
}

type Pick = fn(&CeremonyStats) -> Option<&Stat>;

fn chart(
    rows: &[(&AlgorithmResult, &CeremonyStats, &CeremonyStats)],
    title: &str,
    unit: &str,
    whisker: bool,
    series: &[(&str, bool, Pick)],
) -> BarChart {
    BarChart {
        title: title.into(),
        unit: unit.into(),
        groups: rows.iter().map(|(a, _, _)| a.algorithm.clone()).collect(),
        series: series
            .iter()
            .map(|(name, registration, pick)| Series {
                name: (*name).into(),
                bars: rows
                    .iter()
                    .map(|(_, r, a)| bar(pick(if *registration { r } else { a }), whisker))
                    .collect(),
            })
            .collect(),
        scale: Scale::Auto,
    }
}

/// The charts of a comparison, in the order the report shows them.
pub fn charts(c: &Comparison) -> Vec<BarChart> {
    let rows = measured(c);
    let both = |pick: Pick| -> [(&'static str, bool, Pick); 2] {
        [
            ("Registration", true, pick),
            ("Authentication", false, pick),
        ]
    };
    vec![
        chart(
            &rows,
            "Time on the key (median, whisker p95)",
            "ms",
            true,
            &both(|s| Some(&s.key_ms)),
        ),
        chart(
            &rows,
            "Relying-party verification (median, whisker p95)",
            "ms",
            true,
            &both(|s| Some(&s.rp_verify_ms)),
        ),
        chart(
            &rows,
            "Time on the wire (median, whisker p95)",
            "ms",
            true,
            &both(|s| Some(&s.wire_ms)),
        ),
        chart(
            &rows,
            "Bytes each way (CTAP messages)",
            "bytes",
            false,
            &[
                ("Registration out", true, |s| Some(&s.bytes_out)),
                ("Registration in", true, |s| Some(&s.bytes_in)),
                ("Authentication out", false, |s| Some(&s.bytes_out)),
                ("Authentication in", false, |s| Some(&s.bytes_in)),
            ],
        ),
        chart(
            &rows,
            "Sizes",
            "bytes",
            false,
            &[
                ("Public key (COSE)", true, |s| s.public_key_bytes.as_ref()),
                ("Assertion signature", false, |s| s.signature_bytes.as_ref()),
                ("authenticatorData (registration)", true, |s| {
                    Some(&s.authenticator_data_bytes)
                }),
                ("Attestation object", true, |s| {
                    s.attestation_object_bytes.as_ref()
                }),
            ],
        ),
        chart(
            &rows,
            "HID reports (64 bytes each)",
            "reports",
            false,
            &[
                ("Registration out", true, |s| Some(&s.reports_out)),
                ("Registration in", true, |s| Some(&s.reports_in)),
                ("Authentication out", false, |s| Some(&s.reports_out)),
                ("Authentication in", false, |s| Some(&s.reports_in)),
            ],
        ),
    ]
}

fn cell(out: &mut String, stat: Option<&Stat>, with_p95: bool) {
    match stat {
        Some(s) if with_p95 => {
            let _ = write!(
                out,
                "<td class=\"n\">{} <span class=\"note\">/ {}</span></td>",
                number(s.median),
                number(s.p95)
            );
        }
        Some(s) => {
            let _ = write!(out, "<td class=\"n\">{}</td>", number(s.median));
        }
        None => out.push_str("<td class=\"n\">—</td>"),
    }
}

/// Writes the section's body (its heading is the page's).
pub fn section(out: &mut String, c: &Comparison) {
    let _ = write!(
        out,
        "<p>Each algorithm made {rounds} registration{s} and {rounds} authentication{s} on the key \
         with Keybench's WebAuthn client (non-discoverable credentials for the RP ID <code>{rp}</code>, \
         so nothing stays on the key), each verified by Keybench's relying-party core. \
         Figures are medians with the 95th percentile after the slash.</p>\
         <p class=\"note\"><strong>Time on the key</strong>: from the request's last HID report sent \
         to the answer's first report received, less the time the key waited for a touch \
         (KEEPALIVE UP_NEEDED; shown apart). <strong>Time on the wire</strong>: moving the request's \
         and the answer's reports. <strong>Bytes</strong>: the CTAP messages each way; every HID \
         report is 64 bytes on the wire. Times and counts are taken from the transport's own \
         reports.</p>",
        rounds = c.rounds,
        s = if c.rounds == 1 { "" } else { "s" },
        rp = escape(&c.rp_id)
    );
    for chart in charts(c) {
        out.push_str(&chart.to_svg());
    }
    out.push_str(
        "<h3>Time</h3><table><thead><tr><th>Algorithm</th><th>Ceremony</th>\
         <th class=\"n\">On the key, ms</th><th class=\"n\">Touch wait, ms</th>\
         <th class=\"n\">On the wire, ms</th><th class=\"n\">RP verification, ms</th>\
         <th class=\"n\">Exchange total, ms</th></tr></thead><tbody>",
    );
    for (a, registration, authentication) in measured(c) {
        for (name, s) in [
            ("registration", registration),
            ("authentication", authentication),
        ] {
            let _ = write!(out, "<tr><td>{}</td><td>{name}</td>", escape(&a.algorithm));
            for t in [
                &s.key_ms,
                &s.touch_wait_ms,
                &s.wire_ms,
                &s.rp_verify_ms,
                &s.total_ms,
            ] {
                cell(out, Some(t), true);
            }
            out.push_str("</tr>");
        }
    }
    out.push_str(
        "</tbody></table><h3>Bytes</h3><table><thead><tr><th>Algorithm</th><th>Ceremony</th>\
         <th class=\"n\">Bytes out</th><th class=\"n\">Bytes in</th>\
         <th class=\"n\">Reports out</th><th class=\"n\">Reports in</th>\
         <th class=\"n\">Public key</th><th class=\"n\">Signature</th>\
         <th class=\"n\">authData</th><th class=\"n\">Attestation object</th></tr></thead><tbody>",
    );
    for (a, registration, authentication) in measured(c) {
        for (name, s) in [
            ("registration", registration),
            ("authentication", authentication),
        ] {
            let _ = write!(out, "<tr><td>{}</td><td>{name}</td>", escape(&a.algorithm));
            for v in [&s.bytes_out, &s.bytes_in, &s.reports_out, &s.reports_in] {
                cell(out, Some(v), false);
            }
            cell(out, s.public_key_bytes.as_ref(), false);
            cell(out, s.signature_bytes.as_ref(), false);
            cell(out, Some(&s.authenticator_data_bytes), false);
            cell(out, s.attestation_object_bytes.as_ref(), false);
            out.push_str("</tr>");
        }
    }
    out.push_str("</tbody></table>");
    let others: Vec<&AlgorithmResult> = c
        .algorithms
        .iter()
        .filter(|a| !matches!(a.outcome, Outcome::Measured { .. }))
        .collect();
    if !others.is_empty() {
        out.push_str("<h3>Not measured</h3><ul>");
        for a in others {
            let why = match &a.outcome {
                Outcome::Skipped { reason } => format!("skipped: {reason}"),
                Outcome::Failed {
                    round,
                    code,
                    message,
                } => format!("failed in round {round}: {message} ({code})"),
                Outcome::Measured { .. } => String::new(),
            };
            let _ = write!(
                out,
                "<li class=\"bad\"><strong>{}</strong> — {}</li>",
                escape(&a.algorithm),
                escape(&why)
            );
        }
        out.push_str("</ul>");
    }
}

/// The comparison as a Markdown table (what the CLI prints, and what
/// docs/BENCHMARKS.md records): medians, p95 in parentheses for times.
pub fn markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| Algorithm | Ceremony | Key ms (p95) | Touch ms | Wire ms (p95) | RP verify ms (p95) | Bytes out / in | Reports out / in | Public key | Signature | authData | Attestation object |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let time = |s: &Stat| format!("{} ({})", number(s.median), number(s.p95));
    let size = |s: Option<&Stat>| s.map_or_else(|| "—".to_owned(), |s| number(s.median));
    for (a, registration, authentication) in measured(c) {
        for (name, s) in [
            ("registration", registration),
            ("authentication", authentication),
        ] {
            let _ = writeln!(
                out,
                "| {} | {name} | {} | {} | {} | {} | {} / {} | {} / {} | {} | {} | {} | {} |",
                a.algorithm,
                time(&s.key_ms),
                number(s.touch_wait_ms.median),
                time(&s.wire_ms),
                time(&s.rp_verify_ms),
                number(s.bytes_out.median),
                number(s.bytes_in.median),
                number(s.reports_out.median),
                number(s.reports_in.median),
                size(s.public_key_bytes.as_ref()),
                size(s.signature_bytes.as_ref()),
                number(s.authenticator_data_bytes.median),
                size(s.attestation_object_bytes.as_ref()),
            );
        }
    }
    for a in &c.algorithms {
        match &a.outcome {
            Outcome::Skipped { reason } => {
                let _ = writeln!(out, "\n{}: skipped ({reason})", a.algorithm);
            }
            Outcome::Failed {
                round,
                code,
                message,
            } => {
                let _ = writeln!(
                    out,
                    "\n{}: failed in round {round}: {message} ({code})",
                    a.algorithm
                );
            }
            Outcome::Measured { .. } => {}
        }
    }
    out
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rounds per algorithm, RP ID {}; medians, p95 in parentheses; sizes in bytes\n\n{}",
            self.rounds,
            self.rp_id,
            markdown(self)
        )
    }
}
