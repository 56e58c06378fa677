//! The report as one HTML page: inline CSS, inline SVG, no scripts and no
//! external resources (a Content-Security-Policy meta tag forbids them), so
//! it reads the same offline, attached to a ticket or printed to PDF.

use crate::report::{KeyIdentity, Report, Section};
use std::fmt::Write as _;

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
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

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a; background: #fff; margin: 0 auto; max-width: 960px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 2px solid #0072B2; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.sub { color: #555; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f2f5f8; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
.facts th { width: 28%; }
.chart { width: 100%; height: auto; margin: 8px 0 18px; break-inside: avoid; }
.note { color: #444; font-size: 13px; }
.bad { color: #a40000; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; }
nav ol { margin: 4px 0 0 18px; padding: 0; }
footer { margin-top: 36px; color: #666; font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-before: auto; break-after: avoid; }
  table, .chart { break-inside: avoid; }
  nav { display: none; }
}
"#;

fn row(out: &mut String, label: &str, value: &str) {
    let _ = write!(
        out,
        "<tr><th>{}</th><td>{}</td></tr>",
        escape(label),
        escape(value)
    );
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

fn identity(out: &mut String, key: &KeyIdentity) {
    out.push_str("<h2 id=\"key\">The key</h2><table class=\"facts\">");
    let model = match (&key.metadata_name, key.metadata_source) {
        (Some(name), Some(source)) => format!("{name} ({})", source.describe()),
        (Some(name), None) => name.clone(),
        (None, _) => "unknown (no metadata for this AAGUID)".to_owned(),
    };
    row(out, "Model", &model);
    row(out, "AAGUID", &key.aaguid);
    row(out, "Opened as", &key.name);
    let info = &key.info;
    row(out, "Versions", &list(&info.versions));
    let algorithms: Vec<String> = info
        .algorithms
        .iter()
        .map(|a| {
            a.name
                .map_or_else(|| a.alg.to_string(), |n| format!("{n} ({})", a.alg))
        })
        .collect();
    row(out, "Algorithms", &list(&algorithms));
    row(out, "Extensions", &list(&info.extensions));
    let options: Vec<String> = info
        .options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    row(out, "Options", &list(&options));
    let number = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), |n| n.to_string());
    row(out, "maxMsgSize", &number(info.max_msg_size));
    row(
        out,
        "pinUvAuthProtocols",
        &list(
            &info
                .pin_uv_auth_protocols
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>(),
        ),
    );
    row(out, "Transports", &list(&info.transports));
    row(out, "firmwareVersion", &number(info.firmware_version));
    let transport = match &key.transport {
        super::TransportIdentity::Hid {
            device_version,
            capabilities,
        } => format!(
            "CTAPHID, device version {device_version}, capabilities {}",
            if capabilities.is_empty() {
                "none".to_owned()
            } else {
                capabilities.join(" ")
            }
        ),
        super::TransportIdentity::Nfc {
            applet_version,
            extended_apdus,
        } => format!(
            "NFC (PC/SC), FIDO applet {applet_version}, {}",
            match extended_apdus {
                Some(true) => "extended APDUs",
                Some(false) => "short APDUs with chaining",
                None => "APDU length not probed",
            }
        ),
    };
    row(out, "Transport", &transport);
    out.push_str("</table>");
}

fn section_title(section: &Section) -> (&'static str, &'static str) {
    match section {
        Section::Compare(_) => ("compare", "Classical and post-quantum compared"),
        Section::Probe(_) => ("probe", "Conformance probe"),
    }
}

fn section_body(out: &mut String, section: &Section) {
    match section {
        Section::Compare(c) => crate::compare::render::section(out, c),
        Section::Probe(p) => crate::probe::html::section(out, p),
    }
}

/// The whole page.
pub fn page(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!(
        "Keybench key report — {}",
        report
            .key
            .metadata_name
            .as_deref()
            .unwrap_or(&report.key.name)
    );
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"Keybench {version}\">\
         <title>{title}</title><style>{STYLE}</style></head><body>",
        version = escape(&report.keybench_version),
        title = escape(&title)
    );
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"sub\">AAGUID <code>{}</code> · made {} by Keybench {} on {}</p></header>",
        escape(&title),
        escape(&report.key.aaguid),
        escape(&report.generated_at),
        escape(&report.keybench_version),
        escape(&report.machine.os),
    );
    out.push_str("<nav><strong>Contents</strong><ol><li><a href=\"#key\">The key</a></li>");
    for section in &report.sections {
        let (id, name) = section_title(section);
        let _ = write!(out, "<li><a href=\"#{id}\">{name}</a></li>");
    }
    out.push_str("<li><a href=\"#machine\">The machine</a></li></ol></nav>");
    identity(&mut out, &report.key);
    for section in &report.sections {
        let (id, name) = section_title(section);
        let _ = write!(out, "<section id=\"{id}\"><h2>{name}</h2>");
        section_body(&mut out, section);
        out.push_str("</section>");
    }
    let m = &report.machine;
    out.push_str("<h2 id=\"machine\">The machine</h2><table class=\"facts\">");
    row(&mut out, "OS", &m.os);
    row(&mut out, "Kernel", m.kernel.as_deref().unwrap_or("—"));
    row(&mut out, "Architecture", &m.arch);
    row(&mut out, "CPU", m.cpu.as_deref().unwrap_or("—"));
    row(
        &mut out,
        "Logical CPUs",
        &m.cpus.map_or_else(|| "—".into(), |n| n.to_string()),
    );
    row(&mut out, "Keybench", &report.keybench_version);
    row(&mut out, "Report made", &report.generated_at);
    out.push_str("</table>");
    out.push_str(
        "<footer>Made by Keybench. The same data is in the JSON report made with this page.</footer></body></html>",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
