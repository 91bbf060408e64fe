//! The markdown the harness prints: where and with what it ran, one table of medians with
//! each library's ratio to this runtime, a line per row saying who leads, and the spread of
//! the samples behind every cell.

use std::fmt::Write as _;

use crate::common::Sizes;
use crate::rows::{Lib, Row, Samples};

/// Where and with what the run happened.
pub(crate) struct Setting {
    /// The command that reproduces it.
    pub(crate) command: String,
    /// `date -u`'s day and time when the run started.
    pub(crate) date: String,
    /// `/proc/cpuinfo`'s model name, the cores and the memory.
    pub(crate) machine: String,
    /// `/proc/loadavg` before and after.
    pub(crate) load: (String, String),
    /// Library and tool versions, as `name version`.
    pub(crate) versions: Vec<(String, String)>,
    /// The libraries in the table.
    pub(crate) libs: Vec<Lib>,
}

/// The median of `figures` (the mean of the middle two for an even count).
pub(crate) fn median(figures: &[f64]) -> Option<f64> {
    if figures.is_empty() {
        return None;
    }
    let mut sorted = figures.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    })
}

/// A figure with as many decimals as it needs to show three digits or so.
fn figure(value: f64) -> String {
    if value >= 100.0 {
        crate::rows::thousands(value.round() as usize)
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The whole report.
pub(crate) fn markdown(setting: &Setting, sizes: &Sizes, samples: &Samples) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run started {} with `{}`.",
        setting.date, setting.command
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "- Machine: {}.", setting.machine);
    let _ = writeln!(
        out,
        "- Load average (1, 5, 15 min) at the start: {}; at the end: {}.",
        setting.load.0, setting.load.1
    );
    let versions: Vec<String> = setting
        .versions
        .iter()
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    let _ = writeln!(out, "- Versions: {}.", versions.join(", "));
    let _ = writeln!(
        out,
        "- Each cell is the median of {} samples{}; in parentheses, the figure divided by \
         otpscope's (above 1: otpscope is ahead). Lower is better on every row.",
        sizes.samples,
        if sizes.warm_up {
            ", after one untimed warm-up round"
        } else {
            ""
        }
    );
    let _ = writeln!(out);
    table(&mut out, setting, sizes, samples);
    let _ = writeln!(out);
    leaders(&mut out, setting, sizes, samples);
    let _ = writeln!(out);
    spread(&mut out, setting, sizes, samples);
    if !samples.bytes_left.is_empty() {
        let _ = writeln!(out);
        let left: Vec<String> = samples
            .bytes_left
            .iter()
            .map(|(lib, bytes)| format!("{} {bytes} B", lib.heading()))
            .collect();
        let _ = writeln!(
            out,
            "Bytes still live once a round of rows 1–3 was over and its runtime dropped, against \
             before it began (the most of all samples; the allocator's view, the whole process; \
             what a library keeps in globals): {}.",
            left.join(", ")
        );
    }
    out
}

fn table(out: &mut String, setting: &Setting, sizes: &Sizes, samples: &Samples) {
    let headings: Vec<&str> = setting.libs.iter().map(|lib| lib.heading()).collect();
    let _ = writeln!(out, "| workload | unit | {} |", headings.join(" | "));
    let _ = writeln!(out, "| --- | --- |{}", " ---: |".repeat(setting.libs.len()));
    for row in Row::ALL {
        let ours = samples.cells.get(&(row, Lib::Otp)).and_then(|s| median(s));
        let cells: Vec<String> = setting
            .libs
            .iter()
            .map(|&lib| {
                let Some(value) = samples.cells.get(&(row, lib)).and_then(|s| median(s)) else {
                    return "n/a".to_owned();
                };
                match (lib, ours) {
                    (Lib::Otp, _) => format!("**{}**", figure(value)),
                    (_, Some(ours)) if ours > 0.0 => {
                        format!("{} (×{:.2})", figure(value), value / ours)
                    }
                    _ => figure(value),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            row.label(sizes),
            row.unit(),
            cells.join(" | ")
        );
    }
}

fn leaders(out: &mut String, setting: &Setting, sizes: &Sizes, samples: &Samples) {
    let _ = writeln!(
        out,
        "Who leads each row (among the libraries; the tokio floor is not one):"
    );
    let _ = writeln!(out);
    for row in Row::ALL {
        let mut ranked: Vec<(f64, Lib)> = setting
            .libs
            .iter()
            .filter(|lib| lib.is_peer())
            .filter_map(|&lib| {
                let value = samples.cells.get(&(row, lib)).and_then(|s| median(s))?;
                Some((value, lib))
            })
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        let label = row.label(sizes);
        let number = label.split('.').next().unwrap_or_default();
        let line = match ranked.as_slice() {
            [] => "no figures".to_owned(),
            [(_, only)] => format!("{} alone", only.heading()),
            [(best, leader), (next, second), ..] => {
                let margin = next / best;
                if *leader == Lib::Otp {
                    format!(
                        "**otpscope leads**, ×{margin:.2} ahead of {} (the next best)",
                        second.heading()
                    )
                } else {
                    let ours = ranked
                        .iter()
                        .find(|(_, lib)| *lib == Lib::Otp)
                        .map(|(v, _)| v / best);
                    match ours {
                        Some(behind) => format!(
                            "{} leads; otpscope is ×{behind:.2} behind it",
                            leader.heading()
                        ),
                        None => format!("{} leads", leader.heading()),
                    }
                }
            }
        };
        let _ = writeln!(out, "- Row {number}: {line}.");
    }
}

fn spread(out: &mut String, setting: &Setting, sizes: &Sizes, samples: &Samples) {
    let headings: Vec<&str> = setting.libs.iter().map(|lib| lib.heading()).collect();
    let _ = writeln!(
        out,
        "Spread of the samples (lowest–highest) behind each median:"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| workload | {} |", headings.join(" | "));
    let _ = writeln!(out, "| --- |{}", " ---: |".repeat(setting.libs.len()));
    for row in Row::ALL {
        let cells: Vec<String> = setting
            .libs
            .iter()
            .map(|&lib| match samples.cells.get(&(row, lib)) {
                Some(figures) if !figures.is_empty() => {
                    let low = figures.iter().copied().fold(f64::INFINITY, f64::min);
                    let high = figures.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    format!("{}–{}", figure(low), figure(high))
                }
                _ => "n/a".to_owned(),
            })
            .collect();
        let label = row.label(sizes);
        let number = label.split(' ').next().unwrap_or_default();
        let _ = writeln!(out, "| {number} | {} |", cells.join(" | "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn the_table_gives_ratios_to_otpscope_and_names_the_leader() {
        let mut samples = Samples::default();
        for row in Row::ALL {
            samples.push(row, Lib::Otp, 10.0);
            samples.push(row, Lib::Ractor, 20.0);
        }
        let setting = Setting {
            command: "cmd".to_owned(),
            date: "today".to_owned(),
            machine: "here".to_owned(),
            load: ("0".to_owned(), "0".to_owned()),
            versions: vec![],
            libs: vec![Lib::Otp, Lib::Ractor],
        };
        let text = markdown(&setting, &Sizes::quick(), &samples);
        assert!(text.contains("| **10.0** | 20.0 (×2.00) |"), "{text}");
        assert!(
            text.contains("**otpscope leads**, ×2.00 ahead of ractor"),
            "{text}"
        );
    }
}
