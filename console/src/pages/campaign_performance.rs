//! A campaign's performance on its page: today's pacing chart (target against actual, SVG drawn
//! on the server, readable without JavaScript, with its figures as a table too), the last 30
//! days' spend per day with their delivery, and the latest refunds with their reasons.

use leptos::prelude::*;

use crate::money_text::{grouped, with_currency};
use crate::performance::{
    BAR_HEIGHT, BAR_WIDTH, CHART_BOTTOM, CHART_HEIGHT, CHART_LEFT, CHART_WIDTH, DayRow, Performance,
};

/// The performance sections.
pub fn performance(p: Performance) -> AnyView {
    let c = p.currency.clone();
    let budget = p.day_budget.as_deref().map_or_else(
        || "no budget for the day".to_owned(),
        |b| format!("of {}", with_currency(b, &c)),
    );
    view! {
        <section aria-labelledby="today-heading">
            <h2 id="today-heading">
                {format!("Today, {} ({}) ", p.today, p.time_zone)}
                <span class=p.badge.class()>{p.badge.label()}</span>
            </h2>
            <p>
                {format!("Spent {} {budget}", with_currency(&p.spent_today, &c))}
                {p.pace.clone().map(|pace| format!("; {pace} of the target so far"))}
            </p>
            {pacing_chart(&p)}
            {hours_table(&p)}
        </section>
        <section aria-labelledby="days-heading">
            <h2 id="days-heading">"The last 30 days"</h2>
            {days_chart(&p)}
            {days_table(&p)}
        </section>
        <section aria-labelledby="refunds-heading">
            <h2 id="refunds-heading">"Refunds for invalid traffic"</h2>
            {refunds_table(&p)}
        </section>
    }
    .into_any()
}

fn pacing_chart(p: &Performance) -> AnyView {
    let base = CHART_HEIGHT - CHART_BOTTOM;
    let line = |pick: fn(&crate::performance::HourPoint) -> Option<u32>| {
        std::iter::once(format!("{CHART_LEFT},{base}"))
            .chain(
                p.hours
                    .iter()
                    .filter_map(|h| pick(h).map(|y| format!("{},{y}", h.x))),
            )
            .collect::<Vec<_>>()
            .join(" ")
    };
    let target = line(|h| h.target_y);
    let actual = line(|h| h.actual_y);
    let description = format!(
        "Cumulative spend today against the pace target, hour by hour; the top of the chart is {}.",
        with_currency(&p.hours_top, &p.currency)
    );
    let ticks = p
        .hours
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 6 == 5)
        .map(|(_, h)| {
            view! { <text x=h.x.to_string() y=(CHART_HEIGHT - 4).to_string() class="tick">{h.label.clone()}</text> }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}")
                role="img"
                aria-labelledby="pacing-title pacing-desc"
            >
                <title id="pacing-title">"Today's pacing"</title>
                <desc id="pacing-desc">{description}</desc>
                <line x1=CHART_LEFT.to_string() y1=base.to_string() x2=CHART_WIDTH.to_string() y2=base.to_string() class="axis"/>
                <polyline points=target class="target"/>
                <polyline points=actual class="actual"/>
                {ticks}
            </svg>
            <figcaption>
                <span class="key actual">"Spent"</span>
                " against "
                <span class="key target">"the pace target"</span>
                {format!(" (top of the chart: {})", with_currency(&p.hours_top, &p.currency))}
            </figcaption>
        </figure>
    }
    .into_any()
}

fn hours_table(p: &Performance) -> AnyView {
    let rows = p
        .hours
        .iter()
        .map(|h| {
            view! {
                <tr>
                    <th scope="row">{h.label.clone()}</th>
                    <td class="number">{grouped(&h.spend)}</td>
                    <td class="number">{grouped(&h.spent_so_far)}</td>
                    <td class="number">{grouped(&h.target_so_far)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <details>
            <summary>"Today's hours as a table"</summary>
            <div class="table-wrap">
                <table>
                    <caption>{format!("Spend per hour, in {}", p.currency)}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Hour"</th>
                            <th scope="col" class="number">"Spent in the hour"</th>
                            <th scope="col" class="number">"Spent so far"</th>
                            <th scope="col" class="number">"Target so far"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </details>
    }
    .into_any()
}

fn days_chart(p: &Performance) -> AnyView {
    let height = BAR_HEIGHT + 4;
    // 30 slots whatever the days reported, the latest on the right
    let slots = 30u32;
    let width = (BAR_WIDTH + 4) * slots;
    let first = slots.saturating_sub(u32::try_from(p.days.len()).unwrap_or(slots));
    let bars = p
        .days
        .iter()
        .zip(0u32..)
        .map(|(d, i)| {
            let tip = format!("{}: {}", d.day, with_currency(&d.spend, &p.currency));
            view! {
                <rect
                    x=((first + i) * (BAR_WIDTH + 4)).to_string()
                    y=(height - d.bar).to_string()
                    width=BAR_WIDTH.to_string()
                    height=d.bar.to_string()
                    class="bar"
                >
                    <title>{tip}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {width} {height}")
                role="img"
                aria-labelledby="days-title"
            >
                <title id="days-title">
                    {format!("Spend per day, the highest {}", with_currency(&p.days_top, &p.currency))}
                </title>
                {bars}
            </svg>
        </figure>
    }
    .into_any()
}

fn day_cells(d: &DayRow) -> AnyView {
    view! {
        <td class="number">{d.impressions}</td>
        <td class="number">{d.clicks}</td>
        <td class="number">{d.ctr.clone()}</td>
        <td class="number">{grouped(&d.ecpm)}</td>
        <td class="number">{grouped(&d.spend)}</td>
        <td class="number">{grouped(&d.refunds)}</td>
    }
    .into_any()
}

fn days_table(p: &Performance) -> AnyView {
    let rows = p
        .days
        .iter()
        .map(|d| view! { <tr><th scope="row">{d.day.clone()}</th>{day_cells(d)}</tr> })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table>
                <caption>{format!("Delivery and money per day, in {}", p.currency)}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Day"</th>
                        <th scope="col" class="number">"Impressions"</th>
                        <th scope="col" class="number">"Clicks"</th>
                        <th scope="col" class="number">"CTR"</th>
                        <th scope="col" class="number">"eCPM"</th>
                        <th scope="col" class="number">"Spend"</th>
                        <th scope="col" class="number">"Refunds"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
                <tfoot>
                    <tr><th scope="row">"30 days"</th>{day_cells(&p.totals)}</tr>
                </tfoot>
            </table>
        </div>
    }
    .into_any()
}

fn refunds_table(p: &Performance) -> AnyView {
    if p.refunds.is_empty() {
        return view! { <p>"No refunds."</p> }.into_any();
    }
    let rows = p
        .refunds
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{r.posted_at.get(..16).unwrap_or(&r.posted_at).replace('T', " ")}</td>
                    <td>{r.reason.clone()}</td>
                    <td class="number">{grouped(&r.amount)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table>
                <caption>{format!("The latest refunds, newest first, in {} (times in UTC)", p.currency)}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Posted"</th>
                        <th scope="col">"Why"</th>
                        <th scope="col" class="number">"Amount"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
