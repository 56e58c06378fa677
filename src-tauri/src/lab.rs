//! The key lab in the desktop app, below Tauri: the comparison run on a key
//! the app listed (progress and "touch your key" as live events, Cancel
//! through the keys panel's), the report kept for export, and its export to
//! a path the user chose. The work is `key-lab`'s; this file only wires it
//! to the app's keys and events.

use crate::error::CommandError;
use crate::keys::{Keys, events, touch_prompt};
use ctap_client::Recorder;
use key_lab::compare::{self, CompareSettings, Hooks, Progress};
use key_lab::report::{KeyIdentity, ModelSources, Report, Section};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the Compare view shows: the report (as its JSON), its charts as
/// SVG, and where the app suggests saving it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonView {
    /// The report, as `keybench compare --json` prints it.
    pub report: Value,
    /// The comparison's charts, each an `<svg>` element.
    pub charts: Vec<String>,
    /// A file name in the user's home directory for the report.
    pub suggested_path: String,
}

/// Where an exported report went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedReport {
    /// The HTML page.
    pub html: String,
    /// The JSON beside it.
    pub json: String,
}

/// The lab's state: the last report, for export.
pub struct Lab {
    keys: Arc<Keys>,
    last: Mutex<Option<Report>>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").finish_non_exhaustive()
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

/// `keybench-report-2026-12-03T12-42-09.html` for a report made at that time.
fn file_name(generated_at: &str) -> String {
    let stamp: String = generated_at
        .chars()
        .take(19)
        .map(|c| if c == ':' { '-' } else { c })
        .collect();
    format!("keybench-report-{stamp}.html")
}

impl Lab {
    /// The lab over the app's keys.
    pub fn new(keys: Arc<Keys>) -> Arc<Lab> {
        Arc::new(Lab {
            keys,
            last: Mutex::new(None),
        })
    }

    /// Compares `algorithms` (names or COSE ids) on the key `id` over
    /// `rounds` rounds, and keeps the report for [`Lab::export`].
    pub fn compare(
        &self,
        id: &str,
        algorithms: &[String],
        rounds: u32,
        pin: Option<&str>,
    ) -> Result<ComparisonView, CommandError> {
        let algorithms = algorithms
            .iter()
            .map(|a| key_ops::algorithms::parse_algorithm(a))
            .collect::<Result<Vec<_>, _>>()?;
        let settings = CompareSettings { algorithms, rounds };
        compare::check(&settings).map_err(|e| CommandError::new(e.code(), e.to_string()))?;
        // Its own recorder: hundreds of frames per round stay out of the
        // live traffic view.
        let (_busy, mut device) = self.keys.open_with(id, Recorder::new(64))?;
        let cancel = self.keys.begin_ceremony(id);
        let notify = self.keys.notify();
        let mut progress = |p: &Progress| {
            if let Ok(v) = serde_json::to_value(p) {
                notify.emit(events::LAB_PROGRESS, v);
            }
        };
        let mut prompt = touch_prompt(self.keys.notify());
        let mut hooks = Hooks {
            pin,
            progress: Some(&mut progress),
            on_status: Some(&mut prompt),
            cancel: Some(&cancel),
        };
        let result = compare::run(&mut device, &settings, &mut hooks);
        self.keys.end_ceremony(id);
        let comparison = result.map_err(|e| CommandError::new(e.code(), e.to_string()))?;
        let charts = compare::render::charts(&comparison)
            .iter()
            .map(|c| c.to_svg())
            .collect();
        // The model card from the FIDO metadata installed here, when any.
        let mds = key_ops::metadata::load(self.keys.data_dir(), &Default::default()).ok();
        let models = ModelSources {
            mds: mds.as_ref(),
            given: &[],
        };
        let report = Report::new(
            KeyIdentity::of(&device, id, models),
            vec![Section::Compare(comparison)],
        );
        let view = ComparisonView {
            report: serde_json::to_value(&report)
                .map_err(|e| CommandError::new("internal", e.to_string()))?,
            charts,
            suggested_path: home()
                .join(file_name(&report.generated_at))
                .display()
                .to_string(),
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
        Ok(view)
    }

    /// Writes the last report to `path` (the page) and beside it (the
    /// JSON). Existing files are not overwritten: the UI asks for another
    /// name, as a save dialog would.
    pub fn export(&self, path: &str) -> Result<ExportedReport, CommandError> {
        let report = self
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| CommandError::new("no_report", "run a comparison first"))?;
        let path = Path::new(path);
        if !path.is_absolute() {
            return Err(CommandError::new(
                "bad_path",
                format!("{}: give a full path", path.display()),
            ));
        }
        let (html, json) = key_lab::report::paths(path);
        for p in [&html, &json] {
            if p.exists() {
                return Err(CommandError::new(
                    "file_exists",
                    format!("{} exists; choose another name", p.display()),
                ));
            }
        }
        let (html, json) = report
            .write(path)
            .map_err(|e| CommandError::new("write_failed", format!("{}: {e}", path.display())))?;
        Ok(ExportedReport {
            html: html.display().to_string(),
            json: json.display().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_file_names_have_no_colons() {
        assert_eq!(
            file_name("2026-12-03T12:42:09.440Z"),
            "keybench-report-2026-12-03T12-42-09.html"
        );
    }
}
