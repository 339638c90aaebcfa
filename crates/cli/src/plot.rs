//! `accrue curve`: a role's payout as a function of attainment, as a table and as an SVG
//! plot with the quota line, tier breakpoints and caps marked.

#![allow(clippy::float_arithmetic)] // plot coordinates are pixels, not money

use std::fmt::Write as _;

use accrue_engine::{PayoutCurve, format_money_grouped, format_percent};
use anyhow::{Result, anyhow};
use plotters::prelude::*;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

/// The curve as an aligned table: one row per attainment, one column per component.
pub fn table(curve: &PayoutCurve) -> String {
    let mut header = vec!["ATTAINMENT".to_string()];
    header.extend(curve.components.iter().cloned());
    header.push("TOTAL".into());
    let mut rows = vec![header];
    for point in &curve.points {
        let mut row = vec![format_percent(point.attainment)];
        row.extend(point.amounts.iter().map(|a| format_money_grouped(*a, 2)));
        row.push(format_money_grouped(point.total, 2));
        rows.push(row);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Payout curve of role `{}`: the year's payout by attainment of a {} {} quota, TI {}",
        curve.role,
        format_money_grouped(curve.quota, 2),
        curve.currency,
        format_money_grouped(curve.target_incentive, 2)
    );
    let _ = writeln!(out, "(even bookings through the year at full margin; modifiers and gates left out)\n");
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  "));
    }
    for (component, design) in curve.components.iter().zip(&curve.designs) {
        let marks: Vec<String> =
            design.breakpoints.iter().map(|(a, what)| format!("{} {what}", format_percent(*a))).collect();
        let cap = design.cap.map(|c| format!("; cap {}", format_money_grouped(c, 2))).unwrap_or_default();
        if !marks.is_empty() || !cap.is_empty() {
            let _ = writeln!(out, "\n{component}: {}{cap}", marks.join(", "));
        }
    }
    for (component, why) in &curve.skipped {
        let _ = writeln!(out, "\n{component}: not plotted ({why})");
    }
    out
}

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// `182000.0` → `182,000` for axis labels.
fn grouped(value: f64) -> String {
    let whole = rust_decimal::Decimal::from_f64(value.round()).unwrap_or_default();
    format_money_grouped(whole, 0)
}

fn f(value: rust_decimal::Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// The curve as an SVG document.
pub fn svg(curve: &PayoutCurve) -> Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (960, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let x0 = curve.points.first().map_or(0.0, |p| f(p.attainment));
        let x1 = curve.points.last().map_or(2.0, |p| f(p.attainment));
        let caps = curve.designs.iter().filter_map(|d| d.cap).map(f);
        let top = curve.points.iter().map(|p| f(p.total)).chain(caps).fold(1.0_f64, f64::max) * 1.08;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Payout curve: role {}", curve.role), ("sans-serif", 22))
            .margin(18)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(x0..x1, 0.0..top)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc(format!("attainment of a {} {} quota", format_money_grouped(curve.quota, 0), curve.currency))
            .y_desc(format!("payout over the year ({})", curve.currency))
            .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
            .y_label_formatter(&|y| grouped(*y))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        // The quota line at 100 %.
        if x0 <= 1.0 && 1.0 <= x1 {
            chart
                .draw_series(LineSeries::new(vec![(1.0, 0.0), (1.0, top)], BLACK.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label("quota (100%)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        }
        for (i, name) in curve.components.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let series: Vec<(f64, f64)> = curve.points.iter().map(|p| (f(p.attainment), f(p.amounts[i]))).collect();
            chart
                .draw_series(LineSeries::new(series, colour.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            let design = &curve.designs[i];
            for (at, _) in &design.breakpoints {
                let at = f(*at);
                if x0 <= at && at <= x1 {
                    chart
                        .draw_series(LineSeries::new(vec![(at, 0.0), (at, top)], colour.mix(0.35).stroke_width(1)))
                        .map_err(|e| anyhow!("{e}"))?;
                }
            }
            if let Some(cap) = design.cap {
                let cap = f(cap);
                chart
                    .draw_series(LineSeries::new(vec![(x0, cap), (x1, cap)], colour.mix(0.6).stroke_width(1)))
                    .map_err(|e| anyhow!("{e}"))?
                    .label(format!("{name} cap"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.mix(0.6)));
            }
        }
        if curve.components.len() > 1 {
            let series: Vec<(f64, f64)> = curve.points.iter().map(|p| (f(p.attainment), f(p.total))).collect();
            chart
                .draw_series(LineSeries::new(series, BLACK.mix(0.6).stroke_width(3)))
                .map_err(|e| anyhow!("{e}"))?
                .label("total")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6).stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(text)
}

/// The Monte Carlo histogram of total cost as an SVG document, with the budget line.
pub fn histogram_svg(result: &accrue_engine::MonteCarlo) -> Result<String> {
    let parse = |text: &str| text.parse::<rust_decimal::Decimal>().map(f).unwrap_or(0.0);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (960, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let bins: Vec<(f64, f64, u32)> =
            result.histogram.iter().map(|b| (parse(&b.from), parse(&b.to), b.count)).collect();
        let budget = result.budget.as_deref().map(parse);
        let mut x0 = bins.first().map_or(0.0, |b| b.0);
        let mut x1 = bins.last().map_or(1.0, |b| b.1);
        if let Some(b) = budget {
            x0 = x0.min(b);
            x1 = x1.max(b);
        }
        if x1 <= x0 {
            x0 -= 1.0;
            x1 += 1.0;
        }
        let pad = (x1 - x0) * 0.04;
        let top = f64::from(bins.iter().map(|b| b.2).max().unwrap_or(1)) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Monte Carlo: total comp cost of {} over {} draws", result.plan, result.draws),
                ("sans-serif", 22),
            )
            .margin(18)
            .x_label_area_size(48)
            .y_label_area_size(60)
            .build_cartesian_2d((x0 - pad)..(x1 + pad), 0.0..top)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc(format!("total comp for the year ({})", result.currency))
            .y_desc("draws")
            .x_label_formatter(&|x| grouped(*x))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(bins.iter().map(|(from, to, count)| {
                Rectangle::new([(*from, 0.0), (*to, f64::from(*count))], COLOURS[0].mix(0.7).filled())
            }))
            .map_err(|e| anyhow!("{e}"))?
            .label("draws per bin")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], COLOURS[0].mix(0.7).filled()));
        if let Some(b) = budget {
            chart
                .draw_series(LineSeries::new(vec![(b, 0.0), (b, top)], RED.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label(format!("budget {}", grouped(b)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(text)
}

/// Each role's pay and the profit after comp against revenue (at today's margin), as SVG.
pub fn alignment_svg(result: &accrue_engine::Alignment) -> Result<String> {
    let parse = |text: &str| text.parse::<rust_decimal::Decimal>().map(f).unwrap_or(0.0);
    let dm = result.margin.iter().find(|m| parse(m) == 0.0).or(result.margin.first()).cloned().unwrap_or_default();
    let cells: Vec<&accrue_engine::GridCell> = result.cells.iter().filter(|c| c.dm == dm).collect();
    let roles: Vec<String> = cells.first().map(|c| c.by_role.keys().cloned().collect()).unwrap_or_default();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (960, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let x0 = cells.first().map_or(0.0, |c| parse(&c.r));
        let x1 = cells.last().map_or(1.0, |c| parse(&c.r)).max(x0 + 0.01);
        let values =
            cells.iter().flat_map(|c| c.by_role.values().map(|v| parse(v)).chain([parse(&c.profit_after_comp)]));
        let (low, high) = values.fold((0.0_f64, 1.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let pad = (high - low) * 0.08;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Alignment of {}: pay and profit after comp ({})", result.plan, result.verdict),
                ("sans-serif", 22),
            )
            .margin(18)
            .x_label_area_size(48)
            .y_label_area_size(100)
            .build_cartesian_2d(x0..x1, (low - pad)..(high + pad))
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc(format!("company revenue (× today's), margin shift {dm}"))
            .y_desc(format!("for the year ({})", result.currency))
            .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
            .y_label_formatter(&|y| grouped(*y))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let profit: Vec<(f64, f64)> = cells.iter().map(|c| (parse(&c.r), parse(&c.profit_after_comp))).collect();
        chart
            .draw_series(LineSeries::new(profit, BLACK.stroke_width(3)))
            .map_err(|e| anyhow!("{e}"))?
            .label("company profit after comp")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(3)));
        for (i, role) in roles.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let series: Vec<(f64, f64)> = cells.iter().map(|c| (parse(&c.r), parse(&c.by_role[role]))).collect();
            chart
                .draw_series(LineSeries::new(series, colour.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label(role.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(text)
}
