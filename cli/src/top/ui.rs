//! Drawing the dashboard from its state: the campaigns table, the selected campaign's pace chart
//! and spend sparkline, the fraud and system panels, and the status line. Usable at 80×24.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Sparkline, Table,
    TableState,
};
use rust_decimal::Decimal;

use crate::top::app::{App, Mode};
use crate::top::data::{CampaignRow, Pacing};

/// The keys, as help shows them.
const KEYS: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move"),
    ("PgUp PgDn g G", "move further"),
    ("/", "filter by name, id or status"),
    ("s", "sort: name, status, spent, pace, refunds"),
    ("p", "pause or resume the selected campaign"),
    ("r", "reconcile budgets (compare only)"),
    ("?", "this help"),
    ("q  Esc  Ctrl-C", "quit"),
];

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let [title, table, panels, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(10),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(title_line(app)), title);
    draw_campaigns(frame, app, table);
    let [pace, side] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(panels);
    draw_pace(frame, app, pace);
    let [fraud, system] = Layout::vertical([Constraint::Length(4), Constraint::Min(6)]).areas(side);
    frame.render_widget(
        Paragraph::new(fraud_lines(app)).block(Block::bordered().title(" fraud, last hour ")),
        fraud,
    );
    frame.render_widget(
        Paragraph::new(system_lines(app)).block(Block::bordered().title(" system ")),
        system,
    );
    frame.render_widget(Paragraph::new(status_line(app)), status);
    if app.mode == Mode::Help {
        draw_help(frame);
    }
}

fn title_line(app: &App) -> Line<'static> {
    let shown = app.visible().len();
    let mut text = format!(
        " adctl top  {}  {shown}{} live campaign(s)  sorted by {}",
        app.api,
        if app.truncated { " (the first)" } else { "" },
        app.sort.label()
    );
    if !app.filter.is_empty() {
        text.push_str(&format!("  filter {:?}", app.filter));
    }
    text.push_str("  ? help");
    Line::from(Span::styled(
        text,
        Style::new().add_modifier(Modifier::BOLD),
    ))
}

fn draw_campaigns(frame: &mut Frame, app: &App, area: Rect) {
    let header = Row::new(
        [
            "NAME", "STATUS", "SPENT", "BUDGET", "PACE", "USED", "CTR", "REFUNDS",
        ]
        .map(Cell::from),
    )
    .style(Style::new().add_modifier(Modifier::BOLD));
    let visible = app.visible();
    // only the rows that fit are made (thousands of campaigns are not drawn every refresh):
    // a window that keeps the selection in view
    let height = usize::from(area.height.saturating_sub(2)).max(1);
    let selected = app.selected_index();
    let start = selected.map_or(0, |s| (s + 1).saturating_sub(height));
    let rows = (visible.iter().skip(start).take(height)).map(|c| campaign_row(app, c));
    let widths = [
        Constraint::Min(12),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(8),
    ];
    let title = match &app.campaigns_error {
        Some(e) => format!(" campaigns today (not refreshed: {}) ", clean(e)),
        None => " campaigns today ".to_owned(),
    };
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::new().borders(Borders::TOP).title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶ ")
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
    let mut state = TableState::default().with_selected(selected.map(|s| s - start));
    frame.render_stateful_widget(table, area, &mut state);
}

fn campaign_row<'a>(app: &App, c: &CampaignRow) -> Row<'a> {
    let pace = percent(c.pace.as_deref());
    let pace_style = match (
        app.colour,
        c.pace.as_deref().and_then(|p| p.parse::<Decimal>().ok()),
    ) {
        (true, Some(p)) if p < Decimal::new(8, 1) || p > Decimal::new(12, 1) => {
            Style::new().fg(Color::Yellow)
        }
        _ => Style::new(),
    };
    let status_style = match (app.colour, c.status.as_str()) {
        (true, "active") => Style::new().fg(Color::Green),
        (true, "paused" | "exhausted") => Style::new().fg(Color::Yellow),
        _ => Style::new(),
    };
    Row::new(vec![
        Cell::from(clean(&c.name)),
        Cell::from(c.status.clone()).style(status_style),
        Cell::from(money(&c.spent)),
        Cell::from(c.day_budget.as_deref().map_or("-".into(), money)),
        Cell::from(pace).style(pace_style),
        Cell::from(percent(c.used.as_deref())),
        Cell::from(ctr(c.ctr.as_deref())),
        Cell::from(money(&c.refunds)),
    ])
}

fn draw_pace(frame: &mut Frame, app: &App, area: Rect) {
    let name = app
        .selected_row()
        .map_or_else(String::new, |c| clean(&c.name));
    let pacing = app
        .pacing
        .as_ref()
        .filter(|p| app.selected.as_deref() == Some(p.campaign_id.as_str()));
    let title = match pacing {
        Some(p) => format!(" {name}: today ({}), spent against target ", p.time_zone),
        None => format!(" {name}: today "),
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(pacing) = pacing else {
        frame.render_widget(Paragraph::new(" no pacing yet"), inner);
        return;
    };
    let [chart_area, spark_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(inner);
    let (spent, target) = cumulative(pacing);
    let top = spent
        .iter()
        .chain(&target)
        .map(|(_, y)| *y)
        .fold(0.0_f64, f64::max)
        .max(0.01);
    let hours = pacing.hours.len().max(1) as f64;
    let (spent_style, target_style) = if app.colour {
        (
            Style::new().fg(Color::Cyan),
            Style::new().fg(Color::DarkGray),
        )
    } else {
        (Style::new(), Style::new().add_modifier(Modifier::DIM))
    };
    let datasets = vec![
        Dataset::default()
            .name("target")
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(target_style)
            .data(&target),
        Dataset::default()
            .name("spent")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(spent_style)
            .data(&spent),
    ];
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, hours])
                .labels(["0h", "12h", "24h"]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(["0".to_owned(), format!("{top:.2}")]),
        );
    frame.render_widget(chart, chart_area);
    let per_hour: Vec<u64> = pacing.hours.iter().map(|h| micros(&h.spend)).collect();
    frame.render_widget(
        Sparkline::default()
            .block(Block::new().title("spend per hour"))
            .data(&per_hour)
            .style(spent_style),
        spark_area,
    );
}

/// A chart's line: (hour, amount) points, display only.
type Points = Vec<(f64, f64)>;

/// Spent and target summed through the day, by hour, for the chart.
fn cumulative(pacing: &Pacing) -> (Points, Points) {
    let value = |text: &str| text.parse::<f64>().unwrap_or(0.0);
    let mut spent = Vec::new();
    let mut target = Vec::new();
    // spent is drawn up to the hour now is in; the target through the day
    let now = (pacing.hours.iter())
        .position(|h| h.hour == pacing.current_hour)
        .unwrap_or(pacing.hours.len());
    for (i, hour) in pacing.hours.iter().enumerate() {
        let x = (i + 1) as f64;
        if i <= now {
            spent.push((x, value(&hour.spent_so_far)));
        }
        if let Some(t) = &hour.target_so_far {
            target.push((x, value(t)));
        }
    }
    (spent, target)
}

fn fraud_lines(app: &App) -> Vec<Line<'static>> {
    let Some(system) = &app.system else {
        return vec![Line::from(clean(
            app.system_error.as_deref().unwrap_or("loading..."),
        ))];
    };
    let refunds = if system.refunds_last_hour.is_empty() {
        "none".to_owned()
    } else {
        system
            .refunds_last_hour
            .iter()
            .map(|r| format!("{} {} ({})", money(&r.amount), r.currency, r.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        Line::from(format!(
            "blocklist {}  invalid events {}",
            system.blocklist_size, system.invalid_events_last_hour
        )),
        Line::from(format!("refunds {refunds}")),
    ]
}

fn system_lines(app: &App) -> Vec<Line<'static>> {
    let Some(system) = &app.system else {
        return vec![Line::from(clean(
            app.system_error.as_deref().unwrap_or("loading..."),
        ))];
    };
    let live = system.servingd.iter().filter(|s| s.live).count();
    let behind = system
        .servingd
        .iter()
        .filter(|s| s.live)
        .map(|s| s.revisions_behind)
        .max()
        .unwrap_or(0);
    let stale = system
        .servingd
        .iter()
        .filter(|s| s.live)
        .map(|s| s.feed_staleness_s)
        .fold(0.0_f64, f64::max);
    let budgets = match (&app.budgets, &app.budgets_error) {
        (_, Some(e)) => format!("drift: {}", clean(e)),
        (Some(b), None) => format!("drift: {} of {} out of line", b.out_of_sync, b.compared),
        (None, None) => "drift: comparing...".into(),
    };
    let checkpoint = match (
        &system.audit.signed_checkpoint_size,
        &system.audit.signed_checkpoint_at,
    ) {
        (Some(size), Some(at)) => {
            format!("signed {size} {}Z", at.get(11..16).unwrap_or(at))
        }
        _ => "none signed".into(),
    };
    vec![
        Line::from(format!(
            "servingd {live}/{} live, feed rev {}",
            system.servingd.len(),
            system.feed_revision
        )),
        Line::from(format!("feed: {behind} behind, {stale:.1} s stale")),
        Line::from(budgets),
        Line::from(format!("audit {}; {checkpoint}", system.audit.length)),
    ]
}

fn status_line(app: &App) -> Line<'static> {
    match &app.mode {
        Mode::Filter(text) => Line::from(format!("/{text}▏  Enter keeps, Esc drops")),
        Mode::Confirm { name, resume, .. } => Line::from(Span::styled(
            format!(
                "{} {}? y/N",
                if *resume { "Resume" } else { "Pause" },
                clean(name)
            ),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        _ => Line::from(if app.message.is_empty() {
            " j/k move  / filter  s sort  p pause/resume  r reconcile  ? help  q quit".to_owned()
        } else {
            format!(" {}", clean(&app.message))
        }),
    }
}

fn draw_help(frame: &mut Frame) {
    let area = frame.area();
    let width = 60.min(area.width);
    let height = (KEYS.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(keys, what)| Line::from(format!(" {keys:<16} {what}")))
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")),
        popup,
    );
}

/// An amount to 2 decimals (`21.30`), for the table.
fn money(text: &str) -> String {
    text.parse::<Decimal>()
        .map(|d| format!("{:.2}", d.round_dp(2)))
        .unwrap_or_else(|_| text.to_owned())
}

/// A ratio as a whole percentage (`0.9682` -> `97%`), `-` without one.
fn percent(ratio: Option<&str>) -> String {
    ratio
        .and_then(|r| r.parse::<Decimal>().ok())
        .map_or("-".into(), |r| {
            format!("{}%", (r * Decimal::from(100)).round())
        })
}

/// A click rate as a percentage to 2 decimals.
fn ctr(ratio: Option<&str>) -> String {
    ratio
        .and_then(|r| r.parse::<Decimal>().ok())
        .map_or("-".into(), |r| {
            format!("{:.2}%", (r * Decimal::from(100)).round_dp(2))
        })
}

/// An amount in micros, for the sparkline's heights (display only).
fn micros(text: &str) -> u64 {
    text.parse::<Decimal>()
        .ok()
        .and_then(|d| u64::try_from((d * Decimal::from(1_000_000)).trunc()).ok())
        .unwrap_or(0)
}

/// What others wrote, without the control characters that would steer the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}
