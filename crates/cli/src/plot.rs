//! `accrue curve`: a role's payout as a function of attainment, as a table and as an SVG
//! plot with the quota line, tier breakpoints and caps marked.

#![allow(clippy::float_arithmetic)] // plot coordinates are pixels, not money

use std::fmt::Write as _;

use accrue_engine::{PayoutCurve, format_money_grouped, format_percent};
use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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

/// `120000.0` → `$120,000` (or `120,000 SEK` for a currency without a common sign): the
/// chart's y axis and labels.
fn money_label(value: f64, currency: &str) -> String {
    let amount = grouped(value.abs());
    let sign = if value < -0.5 { "-" } else { "" };
    match currency {
        "USD" => format!("{sign}${amount}"),
        "EUR" => format!("{sign}€{amount}"),
        "GBP" => format!("{sign}£{amount}"),
        other => format!("{sign}{amount} {other}"),
    }
}

/// The curve as an SVG chart for a CFO: the role's title, plan and year in the title; one
/// line per component by its name, and the total; every tier breakpoint labelled; caps;
/// the quota line and the pay at target marked. The curve was sampled at each breakpoint
/// and just before it, so a retroactive tier or a threshold shows as the cliff it is.
pub fn svg(curve: &PayoutCurve) -> Result<String> {
    let currency = curve.currency.as_str();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (1000, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let x0 = curve.points.first().map_or(0.0, |p| f(p.attainment));
        let x1 = curve.points.last().map_or(2.0, |p| f(p.attainment));
        let caps = curve.designs.iter().filter_map(|d| d.cap).map(f);
        // Head room above the highest pay for the breakpoint labels.
        let top = curve.points.iter().map(|p| f(p.total)).chain(caps).fold(1.0_f64, f64::max) * 1.4;
        let year = curve.year.to_string();
        let plan = if curve.plan_name.contains(&year) {
            curve.plan_name.clone()
        } else {
            format!("{} ({year})", curve.plan_name)
        };
        let title = format!("{} — {plan}: the year's pay by quota attainment", curve.title);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(18)
            .x_label_area_size(52)
            .y_label_area_size(100)
            .build_cartesian_2d(x0..x1, 0.0..top)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "attainment of a {} quota (even bookings through the year; modifiers and gates left out)",
                money_label(f(curve.quota), currency)
            ))
            .y_desc(format!("pay for the year ({currency})"))
            .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
            .y_label_formatter(&|y| money_label(*y, currency))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        let err = |e: DrawingAreaErrorKind<_>| anyhow!("{e}");
        // The quota line at 100 %.
        if x0 <= 1.0 && 1.0 <= x1 {
            chart
                .draw_series(LineSeries::new(vec![(1.0, 0.0), (1.0, top)], BLACK.mix(0.5).stroke_width(1)))
                .map_err(err)?
                .label("quota (100%)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.5).stroke_width(1)));
        }
        let label_style = |colour: RGBColor| ("sans-serif", 13).into_font().color(&colour);
        let mut label_row = 0;
        for (i, name) in curve.names.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let series: Vec<(f64, f64)> = curve.points.iter().map(|p| (f(p.attainment), f(p.amounts[i]))).collect();
            chart
                .draw_series(LineSeries::new(series, colour.stroke_width(2)))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            let design = &curve.designs[i];
            for (at, what) in &design.breakpoints {
                let at_f = f(*at);
                if at_f < x0 || at_f > x1 {
                    continue;
                }
                chart
                    .draw_series(LineSeries::new(vec![(at_f, 0.0), (at_f, top)], colour.mix(0.3).stroke_width(1)))
                    .map_err(err)?;
                // Labels stack down from the top so that breakpoints of several components
                // at nearby attainments stay readable; on the left quarter they start under
                // the legend.
                let start = if at_f < x0 + (x1 - x0) * 0.25 { 0.7 } else { 0.97 };
                let y = top * (start - 0.04 * f64::from(label_row % 4));
                label_row += 1;
                let label = format!("{}: {what}", format_percent(*at));
                chart
                    .draw_series(std::iter::once(Text::new(label, (at_f + (x1 - x0) * 0.004, y), label_style(colour))))
                    .map_err(err)?;
            }
            if let Some(cap) = design.cap {
                let cap = f(cap);
                chart
                    .draw_series(LineSeries::new(vec![(x0, cap), (x1, cap)], colour.mix(0.6).stroke_width(1)))
                    .map_err(err)?
                    .label(format!("{name} cap {}", money_label(cap, currency)))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.mix(0.6)));
            }
        }
        let total_colour = BLACK.mix(0.7);
        if curve.components.len() > 1 {
            let series: Vec<(f64, f64)> = curve.points.iter().map(|p| (f(p.attainment), f(p.total))).collect();
            chart
                .draw_series(LineSeries::new(series, total_colour.stroke_width(3)))
                .map_err(err)?
                .label("total")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], total_colour.stroke_width(3)));
        }
        // The pay at target: the point every plan is designed around.
        if let Some(point) = curve.points.iter().find(|p| p.attainment == rust_decimal::Decimal::ONE) {
            let at_target = (1.0, f(point.total));
            let label = format!("at target (100%): {}", money_label(f(point.total), currency));
            chart
                .draw_series([
                    Circle::new(at_target, 6, BLACK.filled()).into_dyn(),
                    // Above and to the left of the point, where a rising curve leaves room.
                    Text::new(
                        label,
                        (1.0 - (x1 - x0) * 0.012, at_target.1 + top * 0.015),
                        ("sans-serif", 15).into_font().color(&BLACK).pos(Pos::new(HPos::Right, VPos::Bottom)),
                    )
                    .into_dyn(),
                ])
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(err)?;
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
            .y_label_formatter(&|y| format!("{y:.0}"))
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
