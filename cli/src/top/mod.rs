//! `adctl top`: a live dashboard of the platform, refreshed every 2 s, that never blocks the
//! keyboard: the API is read by a task ([`data::fetch`]) and actions run in tasks of their own,
//! each sending its result to the UI loop, which only draws and handles keys.
//!
//! - [`app`]: the state and what each key does (pure).
//! - [`data`]: what the API gives and the task that fetches it.
//! - [`ui`]: drawing the state.
//! - [`terminal`]: the real terminal, given back on any exit.

pub mod app;
pub mod data;
pub mod terminal;
pub mod ui;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::client::Client;
use crate::context::Ctx;
use crate::failure::Failure;
use app::{App, Command};
use data::Update;

/// The live dashboard.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the dashboard until `q`.
pub async fn run(ctx: &Ctx, _args: Args) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "adctl top draws on a terminal; for scripts, use the other commands with -o json",
        ));
    }
    let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut app = App::new(ctx.client.base(), colour);
    let (updates, mut inbox) = mpsc::channel::<Update>(64);
    let (selected_tx, selected_rx) = watch::channel::<Option<String>>(None);
    let fetcher = tokio::spawn(data::fetch(
        ctx.client.clone(),
        updates.clone(),
        selected_rx,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let keys = read_keys(updates.clone(), stop.clone());
    let mut screen = terminal::Screen::enter()?;
    let quit = quit_signal();
    tokio::pin!(quit);
    let outcome = loop {
        if let Err(e) = screen.terminal.draw(|frame| ui::draw(frame, &app)) {
            break Err(Failure::Unavailable(format!("drawing: {e}")));
        }
        let update = tokio::select! {
            update = inbox.recv() => update,
            _ = &mut quit => break Ok(()),
        };
        let Some(update) = update else { break Ok(()) };
        let command = match update {
            Update::Key(key) => app.on_key(key),
            other => {
                app.apply(other);
                None
            }
        };
        if selected_tx.borrow().as_deref() != app.selected.as_deref() {
            app.pacing = None;
            let _ = selected_tx.send(app.selected.clone());
        }
        match command {
            Some(Command::Quit) => break Ok(()),
            Some(action) => {
                tokio::spawn(act(ctx.client.clone(), action, updates.clone()));
            }
            None => {}
        }
    };
    drop(screen);
    stop.store(true, Ordering::Relaxed);
    fetcher.abort();
    // the key thread may be waiting to hand over a key: closing the inbox lets it go
    drop(inbox);
    let _ = tokio::task::spawn_blocking(move || keys.join()).await;
    outcome
}

/// Reads the keyboard on a thread of its own (crossterm's reads block), a key at a time, until
/// `stop`.
fn read_keys(updates: mpsc::Sender<Update>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let update = match event::read() {
                Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => Update::Key(key),
                Ok(Event::Resize(..)) => Update::Resized,
                Ok(_) => continue,
                Err(_) => return,
            };
            if updates.blocking_send(update).is_err() {
                return;
            }
        }
    })
}

/// SIGTERM or SIGHUP: the terminal is given back before the process goes.
async fn quit_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

/// Runs a pause, a resume or a reconciliation, and sends what it came to.
async fn act(client: Client, command: Command, updates: mpsc::Sender<Update>) {
    let empty = json!({});
    let message = match &command {
        Command::Pause(id) | Command::Resume(id) => {
            let verb = if matches!(command, Command::Pause(_)) {
                "pause"
            } else {
                "resume"
            };
            match client
                .post(&format!("/api/v1/campaigns/{id}/{verb}"), &empty, None)
                .await
            {
                Ok(campaign) => format!(
                    "{}: now {}",
                    campaign["name"].as_str().unwrap_or(id),
                    campaign["status"].as_str().unwrap_or("?")
                ),
                Err(e) => format!("{verb} refused: {}", first_line(&e)),
            }
        }
        Command::Reconcile => match client
            .post("/api/v1/budget/reconcile", &json!({"repair": false}), None)
            .await
        {
            Ok(report) => format!(
                "reconciled: {} of {} campaign(s) out of line{}",
                report["out_of_sync"].as_u64().unwrap_or(0),
                report["campaigns"].as_array().map_or(0, Vec::len),
                if report["out_of_sync"].as_u64().unwrap_or(0) > 0 {
                    "; mend with: adctl budget reconcile --repair"
                } else {
                    ""
                }
            ),
            Err(e) => format!("reconcile refused: {}", first_line(&e)),
        },
        Command::Quit => return,
    };
    let _ = updates.send(Update::Done(message)).await;
}

fn first_line(failure: &Failure) -> String {
    failure
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}
