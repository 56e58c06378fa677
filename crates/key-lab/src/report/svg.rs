//! Grouped bar charts as inline SVG: one group per category (an
//! algorithm), one bar per series (a ceremony, a direction), an optional
//! whisker up to a higher value (the p95 over the median). The value axis
//! turns logarithmic when the values span more than [`LOG_SPREAD`], so a
//! 7 KB ML-DSA-87 attestation and a 37-byte authenticatorData both stay
//! readable. No scripts: each bar carries a `<title>` tooltip and, where it
//! fits, its value printed above it.

use crate::report::html::escape;
use std::fmt::Write as _;

/// Largest-to-smallest ratio beyond which [`Scale::Auto`] goes logarithmic.
pub const LOG_SPREAD: f64 = 30.0;

/// Series colours: the Okabe–Ito palette, distinct for colour-blind
/// readers and in greyscale print.
const COLOURS: [&str; 6] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 44.0;
/// A legend row's height.
const LEGEND_ROW: f64 = 18.0;
/// A generous width of one legend character at 12 px (wide enough for
/// capitals, so entries never overlap).
const LEGEND_CHAR: f64 = 7.6;

/// How the value axis is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear from zero.
    Linear,
    /// Logarithmic, by decades.
    Log,
    /// Logarithmic when the values span more than [`LOG_SPREAD`].
    Auto,
}

/// One bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Its height (the median).
    pub value: f64,
    /// The whisker's top (the p95), when drawn.
    pub high: Option<f64>,
}

/// One series: a bar per group (`None`: no bar there).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// A bar per group, in the groups' order.
    pub bars: Vec<Option<Bar>>,
}

/// A grouped bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Its title.
    pub title: String,
    /// The values' unit (`ms`, `bytes`).
    pub unit: String,
    /// The groups' labels.
    pub groups: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// The value axis.
    pub scale: Scale,
}

/// A number as a chart shows it: three significant digits below 100,
/// whole numbers above.
pub fn number(v: f64) -> String {
    let a = v.abs();
    let text = if a >= 100.0 || v.fract() == 0.0 {
        return format!("{v:.0}");
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    // 0.100 reads as 0.1: no trailing zeros after the point.
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The value axis: maps a value to a y coordinate, with its ticks.
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(values: &[f64], scale: Scale) -> Axis {
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let min_positive = values
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let log = match scale {
            Scale::Linear => false,
            Scale::Log => max > 0.0,
            Scale::Auto => max > 0.0 && max / min_positive > LOG_SPREAD,
        };
        if log {
            let lo = 10f64.powf(min_positive.log10().floor());
            let hi = 10f64.powf(max.log10().ceil()).max(lo * 10.0);
            let mut ticks = Vec::new();
            let mut t = lo;
            while t <= hi * 1.000_001 {
                ticks.push(t);
                t *= 10.0;
            }
            return Axis { log, lo, hi, ticks };
        }
        let hi = if max > 0.0 { max } else { 1.0 };
        // A "nice" step: 1, 2 or 5 times a power of ten, about 5 ticks.
        let raw = hi / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(magnitude * 10.0);
        let top = (hi / step).ceil() * step;
        let ticks = (0..=((top / step).round() as u32))
            .map(|i| f64::from(i) * step)
            .collect();
        Axis {
            log,
            lo: 0.0,
            hi: top,
            ticks,
        }
    }

    /// The y of `v` in a plot from `top` to `bottom`.
    fn y(&self, v: f64, top: f64, bottom: f64) -> f64 {
        let f = if self.log {
            if v <= 0.0 {
                0.0
            } else {
                ((v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10()))
                    .clamp(0.0, 1.0)
            }
        } else {
            ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
        };
        bottom - f * (bottom - top)
    }
}

impl BarChart {
    /// How many rows the legend takes.
    fn legend_rows(&self) -> usize {
        let mut rows = 1;
        let mut x = LEFT;
        for series in &self.series {
            let width = 16.0 + LEGEND_CHAR * series.name.chars().count() as f64 + 18.0;
            if x > LEFT && x + width > WIDTH - RIGHT {
                x = LEFT;
                rows += 1;
            }
            x += width;
        }
        rows
    }

    /// The chart as an `<svg>` element.
    pub fn to_svg(&self) -> String {
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.bars.iter().flatten())
            .flat_map(|b| std::iter::once(b.value).chain(b.high))
            .collect();
        let axis = Axis::new(&values, self.scale);
        let legend_rows = self.legend_rows();
        let height = HEIGHT + LEGEND_ROW * (legend_rows - 1) as f64;
        let (plot_top, plot_bottom) =
            (TOP + LEGEND_ROW * (legend_rows - 1) as f64, height - BOTTOM);
        let plot_width = WIDTH - LEFT - RIGHT;
        let groups = self.groups.len().max(1) as f64;
        let group_width = plot_width / groups;
        let series = self.series.len().max(1) as f64;
        let bar_width = (group_width * 0.8 / series).min(56.0);
        let mut s = String::new();
        let title = escape(&self.title);
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{title}" font-family="system-ui, sans-serif" font-size="12">"#
        );
        let scale_note = if axis.log { ", log scale" } else { "" };
        let _ = write!(
            s,
            r##"<text x="{LEFT}" y="18" font-size="14" font-weight="600">{title} <tspan font-weight="400" fill="#555">({unit}{scale_note})</tspan></text>"##,
            unit = escape(&self.unit)
        );
        // Legend: rows of entries, wrapped at the plot's width.
        let mut x = LEFT;
        let mut y = 28.0;
        for (i, series) in self.series.iter().enumerate() {
            let colour = COLOURS.get(i % COLOURS.len()).copied().unwrap_or("#444");
            let width = 16.0 + LEGEND_CHAR * series.name.chars().count() as f64 + 18.0;
            if x > LEFT && x + width > WIDTH - RIGHT {
                x = LEFT;
                y += LEGEND_ROW;
            }
            let _ = write!(
                s,
                r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/><text x="{tx}" y="{ty}">{name}</text>"#,
                tx = x + 16.0,
                ty = y + 10.0,
                name = escape(&series.name)
            );
            x += width;
        }
        // Grid and value axis.
        for t in &axis.ticks {
            let y = axis.y(*t, plot_top, plot_bottom);
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#333">{label}</text>"##,
                x2 = WIDTH - RIGHT,
                tx = LEFT - 6.0,
                ty = y + 4.0,
                label = number(*t)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{LEFT}" y1="{plot_top}" y2="{plot_bottom}" stroke="#333"/><line x1="{LEFT}" x2="{x2}" y1="{plot_bottom}" y2="{plot_bottom}" stroke="#333"/>"##,
            x2 = WIDTH - RIGHT
        );
        // Bars.
        for (g, label) in self.groups.iter().enumerate() {
            let group_left = LEFT + group_width * g as f64;
            let bars_left = group_left + (group_width - bar_width * series) / 2.0;
            let _ = write!(
                s,
                r#"<text x="{cx:.1}" y="{ly:.1}" text-anchor="middle">{label}</text>"#,
                cx = group_left + group_width / 2.0,
                ly = plot_bottom + 18.0,
                label = escape(label)
            );
            for (i, series_i) in self.series.iter().enumerate() {
                let Some(Some(bar)) = series_i.bars.get(g) else {
                    continue;
                };
                let colour = COLOURS.get(i % COLOURS.len()).copied().unwrap_or("#444");
                let x = bars_left + bar_width * i as f64;
                let y = axis.y(bar.value, plot_top, plot_bottom);
                let tip = match bar.high {
                    Some(h) => format!(
                        "{} — {}: {} {} (p95 {})",
                        label,
                        series_i.name,
                        number(bar.value),
                        self.unit,
                        number(h)
                    ),
                    None => format!(
                        "{} — {}: {} {}",
                        label,
                        series_i.name,
                        number(bar.value),
                        self.unit
                    ),
                };
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{colour}"><title>{tip}</title></rect>"#,
                    w = (bar_width - 2.0).max(1.0),
                    h = (plot_bottom - y).max(0.0),
                    tip = escape(&tip)
                );
                let mut text_y = y - 4.0;
                if let Some(high) = bar.high.filter(|h| *h > bar.value) {
                    let yh = axis.y(high, plot_top, plot_bottom);
                    let cx = x + (bar_width - 2.0) / 2.0;
                    let _ = write!(
                        s,
                        r##"<path d="M{cx:.1} {y:.1}V{yh:.1}M{l:.1} {yh:.1}H{r:.1}" stroke="#222" fill="none"/>"##,
                        l = cx - 4.0,
                        r = cx + 4.0
                    );
                    text_y = yh - 4.0;
                }
                if bar_width >= 30.0 {
                    let _ = write!(
                        s,
                        r##"<text x="{cx:.1}" y="{text_y:.1}" text-anchor="middle" font-size="10" fill="#222">{v}</text>"##,
                        cx = x + (bar_width - 2.0) / 2.0,
                        v = number(bar.value)
                    );
                }
            }
        }
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: &[f64], scale: Scale) -> BarChart {
        BarChart {
            title: "Size <of> things".into(),
            unit: "bytes".into(),
            groups: values.iter().map(|v| format!("g{v}")).collect(),
            series: vec![Series {
                name: "one".into(),
                bars: values
                    .iter()
                    .map(|v| {
                        Some(Bar {
                            value: *v,
                            high: Some(v * 1.5),
                        })
                    })
                    .collect(),
            }],
            scale,
        }
    }

    #[test]
    fn auto_goes_log_only_for_a_wide_spread() {
        assert!(!Axis::new(&[10.0, 200.0], Scale::Auto).log);
        let wide = Axis::new(&[37.0, 7000.0], Scale::Auto);
        assert!(wide.log);
        assert_eq!(wide.ticks, vec![10.0, 100.0, 1000.0, 10000.0]);
        let linear = Axis::new(&[0.0, 7.3], Scale::Linear);
        assert_eq!(linear.ticks.first(), Some(&0.0));
        assert!(linear.hi >= 7.3);
        assert!(!Axis::new(&[0.0, 0.0], Scale::Log).log, "nothing to log");
    }

    #[test]
    fn svg_is_escaped_and_has_a_bar_per_value() {
        let svg = chart(&[37.0, 7000.0], Scale::Auto).to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Size &lt;of&gt; things"));
        assert!(svg.contains("log scale"));
        assert_eq!(svg.matches("<title>").count(), 2);
        assert!(svg.contains("p95 10500"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(7609.0), "7609");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(1.2345), "1.23");
        assert_eq!(number(0.01234), "0.012");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(1.5), "1.5");
    }
}
