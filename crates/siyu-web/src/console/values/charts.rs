//! SVG geometry of the value pages' charts, in user units; the templates only place what is computed here.
//!
//! - [`heatmap`]: the 5 × 5 R × F grid, R 5 at the top and F 5 on the right, each cell shaded by its
//!   customers (square-root scale, so small cells stay visible) with the number in it.
//! - [`stacks`]: class sizes across runs, one stacked bar per run, oldest on the left.
//! - [`distribution`]: customers per CLV bucket as bars.

use siyu_domain::rfm::{RfmClass, RfmRun};

use crate::console::customers::view::{fmt_date, yuan};

/// Side of one heatmap cell and the gap between cells.
const CELL: i64 = 60;
const GAP: i64 = 4;
/// Where the grid starts (room for the R axis title and labels on the left).
const LEFT: i64 = 56;
const TOP: i64 = 8;

/// One cell of the R × F heatmap.
pub struct HeatCell {
    pub r: u8,
    pub f: u8,
    pub customers: i64,
    pub x: i64,
    pub y: i64,
    /// `rgb(…)`, from near white (none) to the brand's dark green (the largest cell).
    pub fill: String,
    /// Light text on dark cells.
    pub dark: bool,
}

/// An axis label: position and text.
pub struct Tick {
    pub x: i64,
    pub y: i64,
    pub text: String,
}

pub struct Heatmap {
    pub cells: Vec<HeatCell>,
    pub ticks: Vec<Tick>,
    /// The viewBox.
    pub width: i64,
    pub height: i64,
    /// Centre of the grid, for the axis titles (F under it, R rotated on its left).
    pub mid_x: i64,
    pub mid_y: i64,
    pub max: i64,
}

/// The 25 cells from the stored (r, f, customers) counts; missing pairs have none.
pub fn heatmap(counts: &[(u8, u8, i64)]) -> Heatmap {
    let max = counts.iter().map(|c| c.2).max().unwrap_or(0).max(0);
    let step = CELL + GAP;
    let mut cells = Vec::with_capacity(25);
    for r in (1..=5u8).rev() {
        for f in 1..=5u8 {
            let customers = counts.iter().filter(|c| c.0 == r && c.1 == f).map(|c| c.2).sum::<i64>();
            let t = if max == 0 { 0.0 } else { (customers as f64 / max as f64).sqrt() };
            cells.push(HeatCell {
                r,
                f,
                customers,
                x: LEFT + i64::from(f - 1) * step,
                y: TOP + i64::from(5 - r) * step,
                fill: shade(if customers == 0 { -1.0 } else { t }),
                dark: customers > 0 && t > 0.55,
            });
        }
    }
    let mut ticks: Vec<Tick> = (1..=5u8)
        .map(|r| Tick { x: LEFT - 14, y: TOP + i64::from(5 - r) * step + CELL / 2 + 4, text: format!("R{r}") })
        .collect();
    ticks.extend((1..=5u8).map(|f| Tick {
        x: LEFT + i64::from(f - 1) * step + CELL / 2,
        y: TOP + 5 * step + 12,
        text: format!("F{f}"),
    }));
    let grid = 5 * step - GAP;
    Heatmap {
        cells,
        ticks,
        width: LEFT + grid + GAP,
        height: TOP + grid + 36,
        mid_x: LEFT + grid / 2,
        mid_y: TOP + grid / 2,
        max,
    }
}

/// `t` in 0..=1 from light to dark green; below 0 the grey of an empty cell.
fn shade(t: f64) -> String {
    if t < 0.0 {
        return "rgb(243,244,246)".into();
    }
    let (from, to) = ((232.0, 248.0, 239.0), (4.0, 122.0, 60.0));
    let mix = |a: f64, b: f64| (a + (b - a) * t.clamp(0.0, 1.0)).round() as i64;
    format!("rgb({},{},{})", mix(from.0, to.0), mix(from.1, to.1), mix(from.2, to.2))
}

/// The colour of each class in the stacked chart and its legend, in [`RfmClass::all`] order.
pub fn class_colour(c: RfmClass) -> &'static str {
    match c {
        RfmClass::ImportantValue => "#047a3c",
        RfmClass::ImportantDevelop => "#12b76a",
        RfmClass::ImportantKeep => "#2563eb",
        RfmClass::ImportantWinBack => "#dc6803",
        RfmClass::GeneralValue => "#86d8a8",
        RfmClass::GeneralDevelop => "#c7efd7",
        RfmClass::GeneralKeep => "#a4bcfd",
        RfmClass::GeneralWinBack => "#fec84b",
    }
}

/// One class's part of a run's bar.
pub struct StackPart {
    pub y: i64,
    pub height: i64,
    pub colour: &'static str,
    pub title: String,
}

/// One run's stacked bar.
pub struct Stack {
    pub x: i64,
    pub width: i64,
    pub parts: Vec<StackPart>,
    pub label: String,
    pub total: u64,
    /// Centre of the bar, for its label.
    pub mid: i64,
}

/// Height of the stacked chart's plot area; bars stand on its bottom.
const STACK_HEIGHT: i64 = 150;

/// Stacked bars of the runs given newest first (as stored), drawn oldest first; at most `limit` runs.
/// `name` names a class in the tooltips.
pub fn stacks(runs: &[RfmRun], limit: usize, name: impl Fn(RfmClass) -> String) -> Vec<Stack> {
    let shown: Vec<&RfmRun> = runs.iter().take(limit).rev().collect();
    let max = shown.iter().map(|r| r.classes.values().sum::<u64>()).max().unwrap_or(0).max(1);
    let slot = 600 / (shown.len().max(1) as i64);
    let width = (slot - 8).clamp(6, 40);
    shown
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let mut bottom = STACK_HEIGHT;
            let mut parts = Vec::new();
            let day = fmt_date(&run.as_of);
            for c in RfmClass::all() {
                let n = run.classes.get(c.as_str()).copied().unwrap_or(0);
                let height = (n as i64 * STACK_HEIGHT) / max as i64;
                if n == 0 {
                    continue;
                }
                bottom -= height;
                parts.push(StackPart {
                    y: bottom,
                    height,
                    colour: class_colour(c),
                    title: format!("{day} · {} · {n}", name(c)),
                });
            }
            Stack {
                x: i as i64 * slot + (slot - width) / 2,
                width,
                parts,
                label: run.as_of.format("%m-%d").to_string(),
                total: run.classes.values().sum(),
                mid: i as i64 * slot + slot / 2,
            }
        })
        .collect()
}

/// One bucket of the CLV distribution.
pub struct Bucket {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    pub customers: i64,
    /// `≤ ¥12.30` under the bar.
    pub label: String,
}

/// Bars of (upper bound in fen, customers) buckets over a 600 × 150 plot area.
pub fn distribution(buckets: &[(i64, i64)]) -> Vec<Bucket> {
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let slot = 600 / (buckets.len().max(1) as i64);
    buckets
        .iter()
        .enumerate()
        .map(|(i, (upper, customers))| {
            let height = customers * 140 / max;
            Bucket {
                x: i as i64 * slot + 4,
                y: 160 - height,
                height,
                customers: *customers,
                label: format!("≤{}", yuan(*upper)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_heatmap_has_every_cell_with_r5_on_top_and_the_largest_cell_darkest() {
        let h = heatmap(&[(5, 1, 10), (1, 5, 1)]);
        assert_eq!(h.cells.len(), 25);
        assert_eq!((h.cells[0].r, h.cells[0].f, h.cells[0].customers, h.cells[0].y), (5, 1, 10, TOP));
        assert!(h.cells[0].dark && !h.cells[24].dark);
        assert_eq!((h.cells[24].r, h.cells[24].f, h.cells[24].customers), (1, 5, 1));
        assert_eq!(h.cells[1].fill, "rgb(243,244,246)", "an empty cell is grey");
        assert_eq!(h.ticks.len(), 10);
    }

    #[test]
    fn stacked_runs_are_drawn_oldest_first_and_scaled_to_the_largest_run() {
        let run = |day: u32, n: u64| RfmRun {
            as_of: chrono::DateTime::parse_from_rfc3339(&format!("2025-03-{day:02}T02:00:00Z")).unwrap().to_utc(),
            config_version: 1,
            scored: n,
            super_users: 0,
            classes: BTreeMap::from([("important_value".to_string(), n), ("general_win_back".to_string(), n)]),
            moves: Vec::new(),
        };
        let s = stacks(&[run(2, 2), run(1, 1)], 12, |c| c.as_str().to_string());
        assert_eq!((s[0].label.as_str(), s[0].total, s[1].total), ("03-01", 2, 4));
        assert_eq!(s[1].parts.iter().map(|p| p.height).sum::<i64>(), STACK_HEIGHT);
        assert_eq!(s[1].parts[0].y + s[1].parts[0].height, STACK_HEIGHT, "the first class sits at the bottom");
    }

    #[test]
    fn distribution_bars_scale_to_the_fullest_bucket() {
        let b = distribution(&[(1_000, 2), (2_000, 4)]);
        assert_eq!((b[0].height, b[1].height, b[1].y), (70, 140, 20));
        assert_eq!(b[0].label, "≤¥10.00");
    }
}
