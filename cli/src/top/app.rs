//! The dashboard's state and what each key does to it. Pure: no terminal, no network; a key
//! that needs the API returns a [`Command`] for the loop to run.

use std::cmp::Ordering;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rust_decimal::Decimal;

use crate::top::data::{Budgets, CampaignRow, Pacing, System, Update};

/// The columns the campaigns can be sorted by, in the order `s` steps through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Name,
    Status,
    Spent,
    Pace,
    Refunds,
}

impl SortBy {
    fn next(self) -> SortBy {
        match self {
            SortBy::Name => SortBy::Status,
            SortBy::Status => SortBy::Spent,
            SortBy::Spent => SortBy::Pace,
            SortBy::Pace => SortBy::Refunds,
            SortBy::Refunds => SortBy::Name,
        }
    }

    /// As the title shows it.
    pub fn label(self) -> &'static str {
        match self {
            SortBy::Name => "name",
            SortBy::Status => "status",
            SortBy::Spent => "spent",
            SortBy::Pace => "pace",
            SortBy::Refunds => "refunds",
        }
    }
}

/// What the keys do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Browse,
    /// Typing a filter (`/`): Enter keeps it, Esc drops it.
    Filter(String),
    /// Asking whether to pause (or resume) a campaign: `y` does it.
    Confirm {
        campaign: String,
        name: String,
        resume: bool,
    },
    Help,
}

/// What the loop is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    Pause(String),
    Resume(String),
    Reconcile,
}

/// Everything on screen.
#[derive(Debug, Clone)]
pub struct App {
    pub campaigns: Vec<CampaignRow>,
    /// The shown campaigns' places in `campaigns`, filtered and sorted (kept, not worked out on
    /// every draw).
    order: Vec<usize>,
    pub system: Option<System>,
    pub budgets: Option<Budgets>,
    pub pacing: Option<Pacing>,
    /// The last failure of each part, shown where the part would be.
    pub campaigns_error: Option<String>,
    pub system_error: Option<String>,
    pub budgets_error: Option<String>,
    /// The selected campaign's id.
    pub selected: Option<String>,
    pub sort: SortBy,
    pub filter: String,
    pub mode: Mode,
    /// The last action's outcome, on the status line.
    pub message: String,
    /// More campaigns are live than the table holds.
    pub truncated: bool,
    /// Where the API is, for the title.
    pub api: String,
    /// Whether to use colour (not with `NO_COLOR`).
    pub colour: bool,
}

impl App {
    /// Nothing loaded yet.
    pub fn new(api: &str, colour: bool) -> App {
        App {
            campaigns: Vec::new(),
            order: Vec::new(),
            system: None,
            budgets: None,
            pacing: None,
            campaigns_error: None,
            system_error: None,
            budgets_error: None,
            selected: None,
            sort: SortBy::Name,
            filter: String::new(),
            mode: Mode::Browse,
            message: String::from("loading..."),
            truncated: false,
            api: api.to_owned(),
            colour,
        }
    }

    /// The campaigns shown: filtered (name, id or status containing the filter) and sorted.
    pub fn visible(&self) -> Vec<&CampaignRow> {
        self.order.iter().map(|&i| &self.campaigns[i]).collect()
    }

    /// Works out which campaigns are shown, in which order.
    fn reorder(&mut self) {
        let needle = self.filter.to_lowercase();
        let mut order: Vec<usize> = (self.campaigns.iter().enumerate())
            .filter(|(_, c)| {
                needle.is_empty()
                    || c.name.to_lowercase().contains(&needle)
                    || c.campaign_id.contains(&needle)
                    || c.status.contains(&needle)
            })
            .map(|(i, _)| i)
            .collect();
        let amount = |text: Option<&str>| text.and_then(|t| t.parse::<Decimal>().ok());
        let rows = &self.campaigns;
        match self.sort {
            SortBy::Name => order.sort_by_cached_key(|&i| {
                (rows[i].name.to_lowercase(), rows[i].campaign_id.clone())
            }),
            SortBy::Status => order.sort_by(|&a, &b| {
                (&rows[a].status, &rows[a].campaign_id)
                    .cmp(&(&rows[b].status, &rows[b].campaign_id))
            }),
            SortBy::Spent | SortBy::Pace | SortBy::Refunds => {
                let key = |c: &CampaignRow| match self.sort {
                    SortBy::Spent => amount(Some(&c.spent)),
                    SortBy::Pace => amount(c.pace.as_deref()),
                    _ => amount(Some(&c.refunds)),
                };
                let keys: Vec<Option<Decimal>> = rows.iter().map(key).collect();
                order.sort_by(|&a, &b| {
                    largest_first(keys[a], keys[b])
                        .then_with(|| rows[a].campaign_id.cmp(&rows[b].campaign_id))
                });
            }
        }
        self.order = order;
    }

    /// The selected row's place among the visible ones.
    pub fn selected_index(&self) -> Option<usize> {
        let selected = self.selected.as_deref()?;
        self.visible()
            .iter()
            .position(|c| c.campaign_id == selected)
    }

    /// The selected campaign.
    pub fn selected_row(&self) -> Option<&CampaignRow> {
        let selected = self.selected.as_deref()?;
        self.campaigns.iter().find(|c| c.campaign_id == selected)
    }

    /// Takes in what the fetcher or an action sent.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Campaigns(Ok(listing)) => {
                self.campaigns = listing.rows;
                self.truncated = listing.truncated;
                self.reorder();
                self.campaigns_error = None;
                if self.message == "loading..." {
                    self.message.clear();
                }
                self.keep_selection();
            }
            Update::Campaigns(Err(e)) => self.campaigns_error = Some(e),
            Update::System(Ok(system)) => {
                self.system = Some(system);
                self.system_error = None;
            }
            Update::System(Err(e)) => self.system_error = Some(e),
            Update::Budgets(Ok(budgets)) => {
                self.budgets = Some(budgets);
                self.budgets_error = None;
            }
            Update::Budgets(Err(e)) => self.budgets_error = Some(e),
            Update::Pacing(Ok(pacing)) => {
                if self.selected.as_deref() == Some(pacing.campaign_id.as_str()) {
                    self.pacing = Some(pacing);
                }
            }
            Update::Pacing(Err(_)) => self.pacing = None,
            Update::Done(message) => self.message = message,
            Update::Key(_) | Update::Resized => {}
        }
    }

    /// Keeps the selection on a campaign that is still shown (the first one otherwise).
    fn keep_selection(&mut self) {
        if self.selected_index().is_none() {
            self.selected = self.visible().first().map(|c| c.campaign_id.clone());
        }
    }

    /// Moves the selection by `step` rows.
    fn step(&mut self, step: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let at = self.selected_index().unwrap_or(0) as isize;
        let next = (at + step).clamp(0, visible.len() as isize - 1) as usize;
        self.selected = Some(visible[next].campaign_id.clone());
    }

    /// What a key does; a command when the loop must act.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Command::Quit);
        }
        match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Help => None,
            Mode::Filter(mut text) => {
                match key.code {
                    KeyCode::Enter => {
                        self.filter = text;
                        self.reorder();
                        self.keep_selection();
                    }
                    KeyCode::Esc => {}
                    KeyCode::Backspace => {
                        text.pop();
                        self.mode = Mode::Filter(text);
                    }
                    KeyCode::Char(c) if !c.is_control() => {
                        text.push(c);
                        self.mode = Mode::Filter(text);
                    }
                    _ => self.mode = Mode::Filter(text),
                }
                None
            }
            Mode::Confirm {
                campaign,
                name,
                resume,
            } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.message =
                        format!("{} {name}...", if resume { "resuming" } else { "pausing" });
                    Some(if resume {
                        Command::Resume(campaign)
                    } else {
                        Command::Pause(campaign)
                    })
                }
                _ => {
                    self.message = "nothing changed".into();
                    None
                }
            },
            Mode::Browse => self.browse(key),
        }
    }

    fn browse(&mut self, key: KeyEvent) -> Option<Command> {
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Some(Command::Quit),
            KeyCode::Down | KeyCode::Char('j') => self.step(1),
            KeyCode::Up | KeyCode::Char('k') => self.step(-1),
            KeyCode::PageDown => self.step(10),
            KeyCode::PageUp => self.step(-10),
            KeyCode::Home | KeyCode::Char('g') => self.step(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.step(isize::MAX / 2),
            KeyCode::Char('/') => self.mode = Mode::Filter(self.filter.clone()),
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                self.reorder();
                self.message = format!("sorted by {}", self.sort.label());
            }
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Char('r') => {
                self.message = "reconciling budgets...".into();
                return Some(Command::Reconcile);
            }
            KeyCode::Char('p') => match self.selected_row() {
                Some(row) if row.status == "active" || row.status == "paused" => {
                    self.mode = Mode::Confirm {
                        campaign: row.campaign_id.clone(),
                        name: row.name.clone(),
                        resume: row.status == "paused",
                    };
                }
                Some(row) => {
                    self.message = format!(
                        "{} is {}: only active or paused campaigns pause or resume",
                        row.name, row.status
                    );
                }
                None => {}
            },
            _ => {}
        }
        None
    }
}

/// Orders optional amounts largest first, the absent last.
fn largest_first(a: Option<Decimal>, b: Option<Decimal>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
