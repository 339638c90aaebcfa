//! Terminal rendering: diagnostics with the source line and a caret, and the statement table.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use accrue_engine::{
    Diagnostic, GoalsReport, RunError, RunResult, Severity, Span, format_money_grouped, format_percent,
};

/// Renders diagnostics with miette: message, `file:line:col`, the source line with the span
/// underlined, and the help. Colour only on a terminal (and never with `NO_COLOR`).
pub fn diagnostics(diagnostics: &[Diagnostic]) -> String {
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if colour { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut sources: HashMap<String, Option<Arc<String>>> = HashMap::new();
    let mut out = String::new();
    // Source order reads best: by file, then line and column (unlocated ones first).
    let mut ordered: Vec<&Diagnostic> = diagnostics.iter().collect();
    ordered.sort_by_key(|d| d.location.as_ref().map(|l| (l.file.clone(), l.span.line, l.span.col)));
    for d in ordered {
        let source = d.location.as_ref().and_then(|loc| {
            sources.entry(loc.file.to_string()).or_insert_with(|| read_small(&loc.file).map(Arc::new)).clone()
        });
        let report = Report::new(d, source);
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors + warnings > 0 {
        let _ = writeln!(out, "{errors} error(s), {warnings} warning(s)");
    }
    out
}

/// A file's text for a snippet, unless it is too large to be worth reading again.
fn read_small(path: &str) -> Option<String> {
    let size = std::fs::metadata(path).ok()?.len();
    if size > 8 << 20 { None } else { std::fs::read_to_string(path).ok() }
}

/// One engine diagnostic as a miette diagnostic.
#[derive(Debug)]
struct Report {
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<Arc<String>>>,
    span: Option<SourceSpan>,
}

impl Report {
    fn new(d: &Diagnostic, text: Option<Arc<String>>) -> Report {
        let severity = match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let location = d.location.as_ref();
        // A snippet of short lines only: a data row of a megabyte is not echoed whole.
        let text = text.filter(|text| location.is_none_or(|loc| snippet_lines_are_short(text, loc.span.line)));
        let span = location.zip(text.as_deref()).and_then(|(loc, text)| byte_span(text, loc.span));
        let message = match (location, span) {
            // miette prints the place next to the snippet; without one, say it in the message.
            (Some(loc), None) => format!("{}:{}:{}: {}", loc.file, loc.span.line, loc.span.col, d.message),
            _ => d.message.clone(),
        };
        let source = match (location, text) {
            (Some(loc), Some(text)) if span.is_some() => Some(NamedSource::new(&loc.file, text)),
            _ => None,
        };
        Report { message, severity, help: d.help.clone(), source, span }
    }
}

/// The longest source line a snippet shows; a longer one (a data row with a huge cell) is
/// left out and the place is said in the message instead.
const SNIPPET_LINE_MAX: usize = 300;

/// Whether line `line` (1-based) and the lines around it that miette prints are short.
fn snippet_lines_are_short(text: &str, line: u32) -> bool {
    let first = (line as usize).saturating_sub(2);
    text.split('\n').skip(first).take(3).all(|l| l.chars().count() <= SNIPPET_LINE_MAX)
}

/// The byte range of a line/column span (columns count characters).
fn byte_span(text: &str, span: Span) -> Option<SourceSpan> {
    let line_start =
        if span.line <= 1 { 0 } else { text.match_indices('\n').nth(span.line as usize - 2).map(|(i, _)| i + 1)? };
    let line = text[line_start..].split('\n').next().unwrap_or("");
    let mut chars = line.char_indices().skip(span.col.saturating_sub(1) as usize);
    let (start, _) = chars.next().unwrap_or((line.len(), ' '));
    let width = span.len.max(1) as usize;
    let end = line[start..].char_indices().nth(width).map_or(line.len(), |(i, _)| start + i);
    Some(SourceSpan::new(
        (line_start + start).into(),
        end.saturating_sub(start).max(if start < line.len() { 1 } else { 0 }),
    ))
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(None, span))))
    }
}

/// What the renderers need to know of the plan besides the statements: each component's
/// window, and which roles are paid on quota at all.
pub struct PlanView {
    windows: HashMap<(String, String), &'static str>,
    quota_roles: HashSet<String>,
}

impl PlanView {
    pub fn of(plan: &accrue_engine::Plan) -> PlanView {
        let mut windows = HashMap::new();
        let mut quota_roles = HashSet::new();
        for (role_id, role) in &plan.roles {
            for component in &role.components {
                let window = match component.window() {
                    accrue_engine::WindowKind::Ytd => "ytd",
                    accrue_engine::WindowKind::Period => "period",
                    accrue_engine::WindowKind::YtdAnnual => "ytd_annual",
                };
                windows.insert((role_id.clone(), component.id().to_string()), window);
                if component.design(role.target_incentive).is_some() {
                    quota_roles.insert(role_id.clone());
                }
            }
        }
        PlanView { windows, quota_roles }
    }

    /// `ytd` or `period`: the window a line's amount and attainment are computed over. A
    /// sub-line (`retention.churn_clawback`) is paid per period.
    pub fn window(&self, role: &str, component: &str) -> Option<&'static str> {
        match self.windows.get(&(role.to_string(), component.to_string())) {
            Some(window) => Some(window),
            None => component.contains('.').then_some("period"),
        }
    }

    /// The statement's quota, or an empty cell when the payee has none and the role is not
    /// paid on quota (an executive on profit): 0.00 there would read as "no quota this period".
    pub fn quota_cell(&self, s: &accrue_engine::Statement, money: impl Fn(rust_decimal::Decimal) -> String) -> String {
        if s.quota.is_zero() && !self.quota_roles.contains(&*s.role) { String::new() } else { money(s.quota) }
    }
}

/// Whether a run warning belongs in a `--period` view: it names that period; or it names no
/// period and either dates nothing in the plan year or dates something in that period (a deal
/// closed outside employment on 2027-08-20 belongs to 2027-Q3). The plan year's first and
/// last days are read as the year's bounds, not as dates of one period.
pub fn concerns_period(warning: &str, period: usize, calendar: &accrue_engine::Calendar) -> bool {
    let labels: Vec<&str> = calendar.labels().collect();
    if warning.contains(labels[period]) {
        return true;
    }
    if labels.iter().any(|label| warning.contains(label)) {
        return false;
    }
    let bytes = warning.as_bytes();
    let dated: Vec<usize> = (0..bytes.len().saturating_sub(9))
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .filter_map(|i| warning.get(i..i + 10).and_then(accrue_engine::parse_date))
        .filter(|date| *date != calendar.start() && *date != calendar.end())
        .filter_map(|date| calendar.index_of(date))
        .collect();
    dated.is_empty() || dated.contains(&period)
}

/// The widest a table cell is printed, in characters; a longer text (a name pasted with a
/// whole paragraph) is cut to this width and ends with `…`. JSON and CSV keep the full text.
pub const MAX_CELL_WIDTH: usize = 40;

/// Text from a plan or data file made safe for a terminal: ANSI escape sequences (colours,
/// cursor moves, window titles) are removed, line breaks and tabs become spaces, and every
/// other control character (and the bidirectional overrides that reorder what is shown)
/// becomes `�` (U+FFFD), so a name can neither rewrite the screen nor hide what it says.
pub fn terminal_text(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let stripped = console::strip_ansi_codes(text);
    Cow::Owned(
        stripped
            .chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => ' ',
                c if unsafe_char(c) => '\u{FFFD}',
                c => c,
            })
            .collect(),
    )
}

/// A table cell: [`terminal_text`], cut to [`MAX_CELL_WIDTH`] characters with an ellipsis.
pub fn cell(text: &str) -> String {
    // Only the first characters can be shown: a 5 MB name is not cleaned in full.
    let head: &str = match text.char_indices().nth(MAX_CELL_WIDTH * 8) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    let clean = terminal_text(head);
    if clean.chars().count() <= MAX_CELL_WIDTH && head.len() == text.len() {
        return clean.into_owned();
    }
    let mut cut: String = clean.chars().take(MAX_CELL_WIDTH - 1).collect();
    cut.push('…');
    cut
}

/// The statement table for people: one row per line, totals per role and period.
pub fn table(result: &RunResult, name: &str, view: &PlanView, explain: bool) -> String {
    let places = result.minor_units;
    let money = |v| format_money_grouped(v, places);
    let windows: HashSet<&str> = result
        .statements
        .iter()
        .flat_map(|s| s.lines.iter().map(move |l| view.window(&s.role, &l.component).unwrap_or("ytd")))
        .collect();
    // The header says which window ATTAIN. is measured over; when lines differ, each says so.
    let (attain_header, per_line) = match windows.iter().next() {
        Some(only) if windows.len() == 1 => (format!("ATTAIN. ({only})"), false),
        _ => ("ATTAIN. (ytd/period)".to_string(), true),
    };
    let mut rows: Vec<[String; 8]> = Vec::new();
    rows.push(
        ["PAYEE", "NAME", "ROLE", "PERIOD", "QUOTA", "COMPONENT", attain_header.as_str(), "AMOUNT"].map(String::from),
    );
    let mut explanations: Vec<Option<String>> = vec![None];
    for s in &result.statements {
        for (i, line) in s.lines.iter().enumerate() {
            let first = i == 0;
            rows.push([
                if first { cell(&s.payee) } else { String::new() },
                if first { cell(&s.name) } else { String::new() },
                if first { cell(&s.role) } else { String::new() },
                if first { s.period.to_string() } else { String::new() },
                if first { view.quota_cell(s, money) } else { String::new() },
                cell(&line.component),
                match (line.attainment, per_line) {
                    (Some(a), true) => {
                        format!("{} {}", format_percent(a), view.window(&s.role, &line.component).unwrap_or("ytd"))
                    }
                    (Some(a), false) => format_percent(a),
                    (None, _) => String::new(),
                },
                money(line.amount),
            ]);
            explanations.push(explain.then(|| terminal_text(&line.explain).into_owned()));
        }
        let mut total_row: [String; 8] = Default::default();
        if s.lines.is_empty() {
            total_row[0] = cell(&s.payee);
            total_row[1] = cell(&s.name);
            total_row[2] = cell(&s.role);
            total_row[3] = s.period.to_string();
            total_row[4] = view.quota_cell(s, money);
        }
        total_row[5] = "total".into();
        total_row[7] = money(s.total);
        rows.push(total_row);
        explanations.push(None);
        for adjustment in &s.adjustments {
            if let Some(note) = &adjustment.note {
                let mut row: [String; 8] = Default::default();
                row[5] = cell(&format!("  adjustment: {}", adjustment.kind));
                rows.push(row);
                let mut text = note.clone();
                if let (Some(reason), Some(approver)) = (&adjustment.reason, &adjustment.approver) {
                    text.push_str(&format!(" — {reason}, approved by {approver}"));
                }
                explanations.push(Some(terminal_text(&text).into_owned()));
            }
        }
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let right_aligned = [false, false, false, false, true, false, true, true];
    let mut out = String::new();
    let _ = writeln!(out, "{name} ({}) · {} · periods {}", result.plan, result.currency, result.periods.join(", "));
    let _ = writeln!(out, "plan {} · data {}\n", short(&result.plan_hash), short(&result.data_hash));
    for (row, explanation) in rows.iter().zip(&explanations) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if right_aligned[i] {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push_str("  ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if let Some(text) = explanation {
            let indent = widths[..5].iter().map(|w| w + 2).sum::<usize>();
            let _ = writeln!(out, "{}  ↳ {text}", " ".repeat(indent));
        }
    }
    let label_width = result
        .totals
        .by_role
        .keys()
        .chain(result.totals.by_period.keys())
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let amount_width = result
        .totals
        .by_role
        .values()
        .chain(result.totals.by_period.values())
        .map(|v| money(*v).len())
        .max()
        .unwrap_or(4)
        .max(money(result.totals.total).len());
    let _ = writeln!(out, "\nTotals by role");
    for (role, total) in &result.totals.by_role {
        let _ = writeln!(out, "  {role:<label_width$}  {:>amount_width$}", money(*total));
    }
    let _ = writeln!(out, "Totals by period");
    for (period, total) in &result.totals.by_period {
        let _ = writeln!(out, "  {period:<label_width$}  {:>amount_width$}", money(*total));
    }
    let _ = writeln!(out, "  {:<label_width$}  {:>amount_width$}", "Total", money(result.totals.total));
    out
}

/// Warnings and errors of a run, for stderr.
pub fn run_messages(warnings: &[String], errors: &[RunError]) -> String {
    let mut out = String::new();
    if !warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings ({})", warnings.len());
        for warning in warnings {
            let _ = writeln!(out, "  - {}", terminal_text(warning));
        }
    }
    if !errors.is_empty() {
        let _ = writeln!(out, "\nErrors ({}): these payees have no statements", errors.len());
        for error in errors {
            let _ = writeln!(out, "  - {}", terminal_text(&error.to_string()));
        }
    }
    out
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// The goal-setting report: Σ self-set goals and effective quotas against the budget.
pub fn goals(report: &GoalsReport, places: u32) -> String {
    let money = |v| format_money_grouped(v, places);
    let mut out = String::from("Goals and coverage (roll-up roles excluded)\n");
    let header = ["TEAM", "PAYEES", "SELF-SET", "ASSIGNED", "SELF GOALS", "EFFECTIVE"];
    let mut rows: Vec<[String; 6]> = vec![header.map(String::from)];
    for line in report.teams.iter().chain(std::iter::once(&report.total)) {
        rows.push([
            cell(&line.team),
            line.payees.to_string(),
            line.self_set.to_string(),
            money(line.assigned),
            money(line.self_goals),
            money(line.effective),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { format!("{c:<w$}", w = widths[i]) } else { format!("{c:>w$}", w = widths[i]) })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  "));
    }
    match (report.budget_revenue, report.coverage) {
        (Some(budget), Some(coverage)) => {
            let _ = writeln!(
                out,
                "  effective quotas {} against budget revenue {}: {} coverage",
                money(report.total.effective),
                money(budget),
                format_percent(coverage)
            );
            if let Some(with_run_rate) = report.coverage_with_run_rate {
                let _ = writeln!(
                    out,
                    "  run-rate book at the start of the year {} ({} of budget; renewals booked {}): {} with quotas",
                    money(report.run_rate_book),
                    format_percent(report.run_rate_book / budget),
                    money(report.renewals),
                    format_percent(with_run_rate)
                );
            }
        }
        _ => {
            let _ = writeln!(out, "  the plan has no `company.budget_revenue` to compare with");
        }
    }
    out.push('\n');
    out
}

/// The component catalogue as Markdown: `docs/components.md` is this output, committed, and a
/// test fails when it differs from what the registry says. Keys shared by several types
/// (same name and meaning) are listed once at the top; each type lists its own.
pub fn catalogue_markdown(infos: &[accrue_engine::TypeInfo]) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let shared: Vec<&accrue_engine::KeyInfo> = {
        let mut keys: Vec<&accrue_engine::KeyInfo> = Vec::new();
        for info in infos {
            for key in &info.keys {
                let uses = infos
                    .iter()
                    .filter(|other| other.keys.iter().any(|k| k.name == key.name && k.description == key.description))
                    .count();
                if uses >= 2 && !keys.iter().any(|k| k.name == key.name) {
                    keys.push(key);
                }
            }
        }
        keys
    };
    let is_shared =
        |key: &accrue_engine::KeyInfo| shared.iter().any(|k| k.name == key.name && k.description == key.description);
    let row = |out: &mut String, key: &accrue_engine::KeyInfo, kind: &str| {
        let required = if key.required { "yes" } else { "" };
        let default = key.default.as_deref().map(|d| format!("`{d}`")).unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{}` | {} | {required} | {} | {} |",
            key.name,
            cell(kind),
            cell(&default),
            cell(&key.description)
        );
    };
    let mut out = String::new();
    let _ = writeln!(out, "# Component catalogue\n");
    let _ = writeln!(
        out,
        "<!-- Generated by `accrue components --format markdown` from the component registry; do not edit.\n     \
         Refresh: cargo run -q -- components --format markdown > docs/components.md -->\n"
    );
    let _ = writeln!(
        out,
        "Every item of a role's `components:` list has a `type:` naming one of the types below. \
         The keys and their meanings come from the engine itself (the same text as `accrue components` \
         and the JSON Schema), so this page is always current. See [plan-format.md](plan-format.md) for \
         where components sit in a plan and [arithmetic.md](arithmetic.md) for how amounts are computed.\n"
    );
    let _ = writeln!(out, "| Type | Where it comes from | What it pays |\n|---|---|---|");
    for info in infos {
        let _ =
            writeln!(out, "| [`{}`](#{}) | {} | {} |", info.name, info.name, cell(&info.source), cell(&info.summary));
    }
    let _ = writeln!(out, "\n## Keys shared by several types\n");
    let _ = writeln!(out, "Each type below says which of these it takes.\n");
    let _ = writeln!(out, "| Key | Value | Required | Default | Meaning |\n|---|---|---|---|---|");
    for key in &shared {
        let kind = if key.name == "type" { "the type's name" } else { key.kind.as_str() };
        row(&mut out, key, kind);
    }
    for info in infos {
        let _ = writeln!(out, "\n## {}\n", info.name);
        let _ = writeln!(out, "{} ({}).\n", info.summary, info.source);
        let common: Vec<String> = info.keys.iter().filter(|k| is_shared(k)).map(|k| format!("`{}`", k.name)).collect();
        if !common.is_empty() {
            let _ = writeln!(out, "Shared keys: {}.\n", common.join(", "));
        }
        let own: Vec<&accrue_engine::KeyInfo> = info.keys.iter().filter(|k| !is_shared(k)).collect();
        if own.is_empty() {
            let _ = writeln!(out, "No keys of its own.");
        } else {
            let _ = writeln!(out, "| Key | Value | Required | Default | Meaning |\n|---|---|---|---|---|");
            for key in own {
                row(&mut out, key, &key.kind);
            }
        }
    }
    out
}
