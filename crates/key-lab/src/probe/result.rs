//! What a probe run answers: one [`CheckResult`] per check and the
//! [`ProbeReport`] around them. These are the serialisable views every front
//! end shows (the CLI prints them or writes them as JSON, the desktop sends
//! them to its window, the report embeds them).

use ctap_client::TrafficEvent;
use serde::Serialize;
use std::fmt;

/// Where a check belongs, for grouping in summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// CTAPHID framing and commands (CTAP 2.1 §11.2).
    Ctaphid,
    /// getInfo and what it promises.
    GetInfo,
    /// A registration and an assertion per advertised algorithm.
    Algorithms,
    /// Credential lists, discoverable credentials, flags, counters.
    Ceremonies,
    /// Status codes for requests a key must refuse.
    Errors,
    /// Each advertised extension honoured.
    Extensions,
    /// Checks that change the key (PIN); only with `--destructive`.
    Destructive,
}

impl Category {
    /// The name shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Category::Ctaphid => "CTAPHID",
            Category::GetInfo => "getInfo",
            Category::Algorithms => "algorithms",
            Category::Ceremonies => "ceremonies",
            Category::Errors => "error codes",
            Category::Extensions => "extensions",
            Category::Destructive => "destructive",
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The key did what the spec asks.
    Pass,
    /// The key did something else (see expected and actual).
    Fail,
    /// The check could not run on this key (see the reason).
    Skip,
}

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Stable id, e.g. `ctaphid.ping.7609` or `ctap2.assertion.ml-dsa-65`.
    pub id: String,
    /// What it checks, in a sentence fragment.
    pub title: String,
    /// Its group.
    pub category: Category,
    /// The spec section it tests, e.g. "CTAP 2.1 §11.2.9.1.4".
    pub spec: String,
    /// Pass, fail or skip.
    pub outcome: Outcome,
    /// On failure: what the spec asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// On failure: what the key did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Why it was skipped, or a remark on a pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How long the check took, in milliseconds (touches included).
    pub duration_ms: u64,
    /// On failure: the traffic of the check (frames and decoded messages,
    /// secrets redacted by the recorder), at most [`MAX_EVIDENCE`] events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<TrafficEvent>,
}

/// The most traffic events kept as one failure's evidence (the last ones).
pub const MAX_EVIDENCE: usize = 300;

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Skipped.
    pub skip: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.pass += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Skip => self.skip += 1,
        }
    }
}

/// One category's counts.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryTally {
    /// The category.
    pub category: Category,
    /// Its counts.
    #[serde(flatten)]
    pub tally: Tally,
}

/// Who was probed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyIdentity {
    /// AAGUID, hex.
    pub aaguid: String,
    /// getInfo versions.
    pub versions: Vec<String>,
    /// Advertised algorithms, by COSE name (or number).
    pub algorithms: Vec<String>,
    /// Advertised extensions.
    pub extensions: Vec<String>,
    /// firmwareVersion, when reported.
    pub firmware_version: Option<u64>,
    /// CTAPHID device version from INIT (major.minor.build).
    pub device_version: String,
    /// CTAPHID capability flags from INIT.
    pub capabilities: u8,
}

/// A whole probe run.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The key.
    pub key: KeyIdentity,
    /// Keybench's version.
    pub keybench_version: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// How long the whole run took, in milliseconds.
    pub duration_ms: u64,
    /// Whether checks that change the key ran.
    pub destructive: bool,
    /// Every check, in the order run.
    pub checks: Vec<CheckResult>,
    /// Totals.
    pub total: Tally,
    /// Totals per category.
    pub categories: Vec<CategoryTally>,
    /// What the probe left on the key (test credentials it could not delete).
    pub leftovers: Vec<String>,
}

impl ProbeReport {
    /// A report over `checks`, with the totals computed; `started` is the
    /// run's start (milliseconds since the Unix epoch).
    pub fn new(
        key: KeyIdentity,
        destructive: bool,
        checks: Vec<CheckResult>,
        leftovers: Vec<String>,
        started_unix_ms: u64,
        duration_ms: u64,
    ) -> ProbeReport {
        let mut total = Tally::default();
        let mut per: std::collections::BTreeMap<Category, Tally> = Default::default();
        for c in &checks {
            total.add(c.outcome);
            per.entry(c.category).or_default().add(c.outcome);
        }
        ProbeReport {
            key,
            keybench_version: env!("CARGO_PKG_VERSION").to_owned(),
            started: relying_party::date::rfc3339_millis(started_unix_ms),
            duration_ms,
            destructive,
            checks,
            total,
            categories: per
                .into_iter()
                .map(|(category, tally)| CategoryTally { category, tally })
                .collect(),
            leftovers,
        }
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        };
        write!(f, "{mark}  {:<36} {} ({})", self.id, self.title, self.spec)?;
        if let (Some(e), Some(a)) = (&self.expected, &self.actual) {
            write!(f, "\n        expected: {e}\n        actual:   {a}")?;
        }
        if let Some(n) = &self.note {
            write!(f, "\n        {n}")?;
        }
        Ok(())
    }
}

/// The summary for people: per category, then every failure with expected
/// and actual, then the skips with their reasons.
impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "key {} ({}), CTAPHID device version {}",
            self.key.aaguid,
            self.key.versions.join(", "),
            self.key.device_version
        )?;
        writeln!(f, "algorithms: {}", self.key.algorithms.join(", "))?;
        writeln!(f, "extensions: {}", self.key.extensions.join(", "))?;
        writeln!(
            f,
            "probed {} in {:.1} s by Keybench {}",
            self.started,
            self.duration_ms as f64 / 1000.0,
            self.keybench_version
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<14} {:>5} {:>5} {:>5}",
            "category", "pass", "fail", "skip"
        )?;
        for c in &self.categories {
            writeln!(
                f,
                "{:<14} {:>5} {:>5} {:>5}",
                c.category.name(),
                c.tally.pass,
                c.tally.fail,
                c.tally.skip
            )?;
        }
        writeln!(
            f,
            "{:<14} {:>5} {:>5} {:>5}",
            "total", self.total.pass, self.total.fail, self.total.skip
        )?;
        let failed: Vec<_> = self.failures().collect();
        if !failed.is_empty() {
            writeln!(f, "\nfailed:")?;
            for c in failed {
                writeln!(f, "{c}")?;
            }
        }
        let skipped: Vec<_> = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Skip)
            .collect();
        if !skipped.is_empty() {
            writeln!(f, "\nskipped:")?;
            for c in skipped {
                writeln!(f, "{c}")?;
            }
        }
        for l in &self.leftovers {
            writeln!(f, "\nleft on the key: {l}")?;
        }
        Ok(())
    }
}
