//! The suite's table and its JSON: each figure with its samples (one per round),
//! their median, the target from issue 8 and whether it is met, and Airflow's
//! figure beside it where the peer measured the same thing.

use serde_json::{Value, json};

/// What a figure should be, as the issue states it.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
}

#[derive(Debug, Clone)]
pub struct Figure {
    pub key: std::borrow::Cow<'static, str>,
    pub label: String,
    pub unit: &'static str,
    pub samples: Vec<f64>,
    pub target: Option<Target>,
    /// Airflow's figure (median of its runs), when measured.
    pub airflow: Option<f64>,
    /// Whether the figure is better when smaller (latencies) or larger (rates).
    pub lower_is_better: bool,
}

impl Figure {
    pub fn new(
        key: impl Into<std::borrow::Cow<'static, str>>,
        label: impl Into<String>,
        unit: &'static str,
        samples: Vec<f64>,
    ) -> Figure {
        Figure {
            key: key.into(),
            label: label.into(),
            unit,
            samples,
            target: None,
            airflow: None,
            lower_is_better: true,
        }
    }

    pub fn target(mut self, target: Target) -> Figure {
        self.lower_is_better = matches!(target, Target::AtMost(_));
        self.target = Some(target);
        self
    }

    pub fn higher_is_better(mut self) -> Figure {
        self.lower_is_better = false;
        self
    }

    pub fn airflow(mut self, value: Option<f64>) -> Figure {
        self.airflow = value;
        self
    }

    pub fn median(&self) -> f64 {
        median(&self.samples)
    }

    pub fn met(&self) -> Option<bool> {
        let m = self.median();
        self.target.map(|t| match t {
            Target::AtMost(limit) => m <= limit,
            Target::AtLeast(floor) => m >= floor,
        })
    }

    /// How many times better Kairos is than Airflow (above 1: Kairos is better).
    pub fn ratio(&self) -> Option<f64> {
        let a = self.airflow?;
        let k = self.median();
        if a <= 0.0 || k <= 0.0 {
            return None;
        }
        Some(if self.lower_is_better { a / k } else { k / a })
    }
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn number(value: f64) -> String {
    if !value.is_finite() {
        "-".into()
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The table as text: one line per figure.
pub fn table(figures: &[Figure], airflow_note: &str) -> String {
    let mut rows = vec![[
        "figure".to_string(),
        "Kairos (median)".to_string(),
        "samples".to_string(),
        "target".to_string(),
        "met".to_string(),
        "Airflow".to_string(),
        "Kairos vs Airflow".to_string(),
    ]];
    for f in figures {
        let target = match f.target {
            Some(Target::AtMost(v)) => format!("<= {} {}", number(v), f.unit),
            Some(Target::AtLeast(v)) => format!(">= {} {}", number(v), f.unit),
            None => String::new(),
        };
        let met = match f.met() {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        let airflow = match f.airflow {
            Some(v) => format!("{} {}", number(v), f.unit),
            None if is_airflow_figure(&f.key) => "not measured".into(),
            None => String::new(),
        };
        let ratio = f
            .ratio()
            .map(|r| format!("{}x better", number(r)))
            .unwrap_or_default();
        rows.push([
            f.label.clone(),
            format!("{} {}", number(f.median()), f.unit),
            f.samples.len().to_string(),
            target,
            met.to_string(),
            airflow,
            ratio,
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join(" | ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("-|-"));
            out.push('\n');
        }
    }
    if !airflow_note.is_empty() {
        out.push_str(airflow_note);
        out.push('\n');
    }
    out
}

/// The figures Airflow's peer script measures (the chain's).
fn is_airflow_figure(key: &str) -> bool {
    key.starts_with("chain_")
}

pub fn to_json(figures: &[Figure]) -> Value {
    Value::Array(
        figures
            .iter()
            .map(|f| {
                json!({
                    "key": f.key,
                    "label": f.label,
                    "unit": f.unit,
                    "samples": f.samples,
                    "median": f.median(),
                    "target": f.target.map(|t| match t {
                        Target::AtMost(v) => json!({"at_most": v}),
                        Target::AtLeast(v) => json!({"at_least": v}),
                    }),
                    "met": f.met(),
                    "airflow": f.airflow,
                    "ratio_vs_airflow": f.ratio(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_targets_and_ratios_read_the_right_way_round() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let gap = Figure::new("chain_gap_p50", "gap", "ms", vec![2.0, 4.0, 3.0])
            .target(Target::AtMost(5.0))
            .airflow(Some(600.0));
        assert_eq!(gap.met(), Some(true));
        assert_eq!(gap.ratio(), Some(200.0));
        let rate = Figure::new("tis", "rate", "/s", vec![100.0, 300.0, 200.0])
            .target(Target::AtLeast(5000.0))
            .airflow(Some(50.0));
        assert_eq!(rate.met(), Some(false));
        assert_eq!(rate.ratio(), Some(4.0));
        let text = table(&[gap, rate], "");
        assert!(text.contains("| yes"), "{text}");
        assert!(text.contains("| NO"), "{text}");
        assert!(text.contains("200x better"), "{text}");
    }

    #[test]
    fn a_chain_figure_without_airflow_says_not_measured() {
        let gap = Figure::new("chain_gap_p50", "gap", "ms", vec![2.0]);
        assert!(table(&[gap], "").contains("not measured"));
        let rss = Figure::new("scale_rss", "rss", "MiB", vec![2.0]);
        assert!(!table(&[rss], "").contains("not measured"));
    }
}
