//! `adctl top`: the screen drawn from fixed data (snapshots at 80×24 and larger), what the keys
//! do (pause asks first, then sends; the filter; sorting), and one run in a real terminal
//! (tmux) against the API: the campaigns on screen, and the terminal given back on `q`.

use std::process::Command;
use std::time::{Duration, Instant};

use adctl::top::app::{App, Command as TopCommand, Mode, SortBy};
use adctl::top::data::{
    Budgets, CampaignRow, Chain, Listing, Pacing, PacingHour, RefundTotal, ServingInstance, System,
    Update,
};
use adctl::top::ui;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sqlx::PgPool;

use crate::MIGRATOR;
use crate::helpers::Platform;

fn row(n: u8, name: &str, status: &str, spent: &str, pace: Option<&str>) -> CampaignRow {
    CampaignRow {
        campaign_id: format!("0193a5f0-0000-7000-8000-0000000000{n:02}"),
        name: name.into(),
        status: status.into(),
        currency: "USD".into(),
        day_budget: Some("50.000000".into()),
        spent: spent.into(),
        used: Some("0.426".into()),
        pace: pace.map(str::to_owned),
        impressions: 10650,
        clicks: 14,
        ctr: Some("0.001315".into()),
        refunds: "0.040000".into(),
    }
}

/// A dashboard with three campaigns, the first selected, its day half spent on pace.
fn app() -> App {
    let mut app = App::new("http://api.test", false);
    app.apply(Update::Campaigns(Ok(Listing {
        rows: vec![
            row(1, "Winter boots", "active", "21.300000", Some("0.9682")),
            row(2, "Summer sandals", "paused", "4.000000", Some("0.31")),
            row(3, "Scarves", "active", "30.000000", Some("1.5")),
        ],
        truncated: false,
    })));
    app.selected = Some("0193a5f0-0000-7000-8000-000000000001".into());
    app.apply(Update::System(Ok(System {
        feed_revision: 42,
        servingd: vec![
            ServingInstance {
                instance: "serving-1:8080".into(),
                live: true,
                revisions_behind: 0,
                feed_staleness_s: 0.8,
            },
            ServingInstance {
                instance: "serving-2:8080".into(),
                live: false,
                revisions_behind: 3,
                feed_staleness_s: 40.0,
            },
        ],
        blocklist_size: 17,
        invalid_events_last_hour: 230,
        refunds_last_hour: vec![RefundTotal {
            currency: "USD".into(),
            count: 12,
            amount: "0.030000".into(),
        }],
        audit: Chain {
            length: 90210,
            signed_checkpoint_size: Some(90000),
            signed_checkpoint_at: Some("2026-11-30T12:00:00Z".into()),
        },
    })));
    app.apply(Update::Budgets(Ok(Budgets {
        compared: 3,
        out_of_sync: 1,
    })));
    let hours = (0..24)
        .map(|h| {
            let spent = if h <= 12 { h as f64 * 1.5 } else { 18.0 };
            PacingHour {
                hour: format!("2026-11-30T{h:02}:00:00"),
                spend: if (1..=12).contains(&h) {
                    "1.500000"
                } else {
                    "0.000000"
                }
                .into(),
                spent_so_far: format!("{spent:.6}"),
                target_so_far: Some(format!("{:.6}", (h + 1) as f64 * 50.0 / 24.0)),
            }
        })
        .collect();
    app.apply(Update::Pacing(Ok(Pacing {
        campaign_id: "0193a5f0-0000-7000-8000-000000000001".into(),
        time_zone: "America/New_York".into(),
        current_hour: "2026-11-30T12:00:00".into(),
        hours,
    })));
    app
}

/// The screen as text, a line per row.
fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal.draw(|frame| ui::draw(frame, app)).expect("drawn");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        let line: String = (0..width).map(|x| buffer[(x, y)].symbol()).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn snapshot(name: &str, text: &str) {
    let path = test_support::package_dir()
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    test_support::binary::assert_snapshot(&path, text);
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn the_dashboard_fits_80_by_24_and_grows_with_the_terminal() {
    let app = app();
    let small = screen(&app, 80, 24);
    assert!(
        small.contains("Winter boots") && small.contains("97%"),
        "{small}"
    );
    assert!(small.contains("blocklist 17"), "{small}");
    assert!(small.contains("servingd 1/2 live"), "{small}");
    assert!(small.contains("▶ Winter boots"), "the selection: {small}");
    assert!(
        small.contains("audit 90210; signed 90000 12:00Z"),
        "{small}"
    );
    snapshot("top-80x24", &small);
    let large = screen(&app, 120, 36);
    snapshot("top-120x36", &large);
    let mut help = app.clone();
    help.on_key(key(KeyCode::Char('?')));
    assert_eq!(help.mode, Mode::Help);
    let shown = screen(&help, 80, 24);
    assert!(
        shown.contains("pause or resume the selected campaign"),
        "{shown}"
    );
    help.on_key(key(KeyCode::Char('x')));
    assert_eq!(help.mode, Mode::Browse, "any key closes the help");
    // a terminal smaller than the layout does not panic
    screen(&app, 20, 5);
}

#[test]
fn pause_asks_first_then_sends_and_the_keys_move_filter_and_sort() {
    let mut app = app();
    assert_eq!(
        app.selected_row().map(|r| r.name.as_str()),
        Some("Winter boots")
    );
    assert_eq!(app.on_key(key(KeyCode::Char('p'))), None, "asks first");
    assert!(matches!(app.mode, Mode::Confirm { resume: false, .. }));
    assert!(screen(&app, 80, 24).contains("Pause Winter boots? y/N"));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        Some(TopCommand::Pause(
            "0193a5f0-0000-7000-8000-000000000001".into()
        ))
    );
    // no at the question changes nothing
    app.on_key(key(KeyCode::Char('p')));
    assert_eq!(app.on_key(key(KeyCode::Char('n'))), None);
    assert_eq!(app.message, "nothing changed");

    // j moves down (by name: Scarves, Summer sandals, Winter boots); a paused one resumes
    app.on_key(key(KeyCode::Char('g')));
    app.on_key(key(KeyCode::Char('j')));
    assert_eq!(
        app.selected_row().map(|r| r.name.as_str()),
        Some("Summer sandals")
    );
    app.on_key(key(KeyCode::Char('p')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        Some(TopCommand::Resume(
            "0193a5f0-0000-7000-8000-000000000002".into()
        ))
    );

    // s sorts: status, then spent (largest first)
    app.on_key(key(KeyCode::Char('s')));
    app.on_key(key(KeyCode::Char('s')));
    assert_eq!(app.sort, SortBy::Spent);
    let order: Vec<&str> = app.visible().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(order, ["Scarves", "Winter boots", "Summer sandals"]);

    // / filters; Esc drops what was typed
    app.on_key(key(KeyCode::Char('/')));
    for c in "boot".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.visible().len(), 1);
    assert_eq!(
        app.selected_row().map(|r| r.name.as_str()),
        Some("Winter boots")
    );
    app.on_key(key(KeyCode::Char('/')));
    app.on_key(key(KeyCode::Backspace));
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.filter, "boot");

    assert_eq!(
        app.on_key(key(KeyCode::Char('r'))),
        Some(TopCommand::Reconcile)
    );
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), Some(TopCommand::Quit));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.on_key(ctrl_c), Some(TopCommand::Quit));
}

/// The test's own tmux server, killed however the test ends.
struct TmuxServer(String);

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = tmux(&self.0, &["kill-server"]);
    }
}

/// Runs `tmux ARGS` on the test's own server socket.
fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux runs (scripts/services installs it)")
}

/// The pane's text once `ready` holds, within 20 s (waiting without blocking the runtime that
/// serves the API).
async fn wait_for(socket: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pane = tmux(socket, &["capture-pane", "-p", "-t", "top"]);
        let text = String::from_utf8_lossy(&pane.stdout).into_owned();
        if ready(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the pane never got there:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn top_runs_in_a_real_terminal_and_gives_it_back_on_q(pool: PgPool) {
    let platform = Platform::start(pool).await;
    platform.login().await;
    let (_, id) = platform.active_campaign("Terminal Shoes").await;
    let server = TmuxServer(format!("adctl-top-{}", uuid::Uuid::now_v7().simple()));
    let socket = server.0.clone();
    let adctl = env!("CARGO_BIN_EXE_adctl");
    let config = platform.config_home.display().to_string();
    // a shell in an 80×24 terminal; adctl top inside it, then a marker once it has exited
    let started = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "80",
            "-y",
            "24",
            "sh",
        ],
    );
    assert!(started.status.success(), "{started:?}");
    let command = format!("XDG_CONFIG_HOME={config} NO_COLOR=1 {adctl} top; echo adctl-exited-$?");
    tmux(&socket, &["send-keys", "-t", "top", &command, "Enter"]);
    let shown = wait_for(&socket, |text| text.contains("Winter boots")).await;
    assert!(shown.contains("adctl top"), "{shown}");
    assert!(shown.contains("active"), "{shown}");
    // p asks, y pauses it through the API
    tmux(&socket, &["send-keys", "-t", "top", "p"]);
    wait_for(&socket, |text| text.contains("Pause Winter boots? y/N")).await;
    tmux(&socket, &["send-keys", "-t", "top", "y"]);
    wait_for(&socket, |text| text.contains("Winter boots: now paused")).await;
    let paused = platform.json(&["campaigns", "get", &id]).await;
    assert_eq!(paused["status"], "paused");
    // ? shows the keys, any key closes them; q quits
    tmux(&socket, &["send-keys", "-t", "top", "?"]);
    wait_for(&socket, |text| text.contains("keys (any key closes)")).await;
    tmux(&socket, &["send-keys", "-t", "top", "x"]);
    tmux(&socket, &["send-keys", "-t", "top", "q"]);
    let after = wait_for(&socket, |text| text.contains("adctl-exited-0")).await;
    // the shell's screen is back: the dashboard is gone with the alternate screen
    assert!(!after.contains("campaigns today"), "{after}");
}
