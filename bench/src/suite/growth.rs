//! How the scale figures grow with history: a table for the terminal and the
//! result file, and a plot image (SVG) written next to the result.

use std::path::Path;

use plotters::prelude::*;

use super::Error;
use super::report::median;
use super::scale::Reading;

fn largest(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// One row per measurement; sizes in MB (10^6 bytes) where the targets are, MiB
/// where the rest of the table has them.
struct Row {
    task_instances: usize,
    rss_mb: f64,
    peak_rss_mb: f64,
    data_dir_mib: f64,
    list_p99_ms: f64,
    catch_up_s: f64,
    new_node_peak_rss_mb: f64,
    snapshot_mib: f64,
    history_s: f64,
}

fn rows(readings: &[Reading]) -> Vec<Row> {
    let mb = |mib: f64| mib * 1_048_576.0 / 1e6;
    readings
        .iter()
        .map(|r| Row {
            task_instances: r.task_instances,
            rss_mb: mb(largest(&r.rss_mib)),
            peak_rss_mb: mb(largest(&r.peak_rss_mib)),
            data_dir_mib: median(&r.data_dir_mib),
            list_p99_ms: median(&r.list_p99_ms),
            catch_up_s: median(&r.catch_up_s),
            new_node_peak_rss_mb: mb(largest(&r.new_node_peak_rss_mib)),
            snapshot_mib: r.snapshot_mib,
            history_s: r.history_s,
        })
        .collect()
}

pub fn table(readings: &[Reading]) -> String {
    let columns = [
        "task instances of history",
        "RSS per node (largest)",
        "its peak (VmHWM)",
        "data dir (median)",
        "follower list p99",
        "new node caught up",
        "its peak RSS",
        "snapshot",
        "generated in",
    ];
    let widths = [26, 22, 16, 17, 17, 18, 12, 8, 12];
    let mut out = String::new();
    let cells: Vec<String> = columns
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:>w$}"))
        .collect();
    out.push_str(&cells.join(" | "));
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("-|-"));
    out.push('\n');
    for r in rows(readings) {
        out.push_str(&format!(
            "{:>26} | {:>19.0} MB | {:>13.0} MB | {:>13.0} MiB | {:>14.2} ms | {:>16.2} s | {:>9.0} MB | {:>4.0} MiB | {:>10.1} s\n",
            r.task_instances,
            r.rss_mb,
            r.peak_rss_mb,
            r.data_dir_mib,
            r.list_p99_ms,
            r.catch_up_s,
            r.new_node_peak_rss_mb,
            r.snapshot_mib,
            r.history_s
        ));
    }
    out
}

/// Four panels against the history in millions of task instances: memory, disk,
/// the follower's list p99 and the new node's catch-up.
pub fn plot(readings: &[Reading], file: &Path, title: &str) -> Result<(), Error> {
    let rows = rows(readings);
    let x_max = rows
        .iter()
        .map(|r| r.task_instances as f64 / 1e6)
        .fold(0.0, f64::max)
        * 1.1;
    let root = SVGBackend::new(file, (1000, 720)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 18))
        .map_err(|e| e.to_string())?;
    type Series<'a> = Vec<(&'a str, RGBColor, Box<dyn Fn(&Row) -> f64>)>;
    let panels: Vec<(&str, &str, Series)> = vec![
        (
            "memory per node (largest)",
            "MB",
            vec![
                ("RSS", BLUE, Box::new(|r: &Row| r.rss_mb)),
                ("peak (VmHWM)", RED, Box::new(|r: &Row| r.peak_rss_mb)),
                (
                    "new node's peak",
                    GREEN,
                    Box::new(|r: &Row| r.new_node_peak_rss_mb),
                ),
            ],
        ),
        (
            "disk per node",
            "MiB",
            vec![
                (
                    "data dir (median)",
                    BLUE,
                    Box::new(|r: &Row| r.data_dir_mib),
                ),
                ("snapshot", RED, Box::new(|r: &Row| r.snapshot_mib)),
            ],
        ),
        (
            "follower: list a DAG's last 25 runs, p99",
            "ms",
            vec![("p99", BLUE, Box::new(|r: &Row| r.list_p99_ms))],
        ),
        (
            "new node: snapshot received, caught up",
            "s",
            vec![("median", BLUE, Box::new(|r: &Row| r.catch_up_s))],
        ),
    ];
    for ((caption, unit, series), area) in panels.into_iter().zip(root.split_evenly((2, 2))) {
        let y_max = series
            .iter()
            .flat_map(|(_, _, value)| rows.iter().map(value))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(&area)
            .caption(caption, ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max.max(0.1), 0.0..y_max.max(1e-3))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("task instances of history (millions)")
            .y_desc(unit)
            .draw()
            .map_err(|e| e.to_string())?;
        for (label, color, value) in series {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .map(|r| (r.task_instances as f64 / 1e6, value(r)))
                .filter(|(_, y)| y.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color))
                .map_err(|e| e.to_string())?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
