//! The real terminal: raw mode and the alternate screen while the dashboard runs, and the
//! terminal put back however it ends (a return, an error, a panic: ratatui's panic hook
//! restores it before the panic is reported).

use ratatui::DefaultTerminal;

use crate::failure::Failure;

/// The terminal while the dashboard owns it; dropping it gives the terminal back.
pub struct Screen {
    pub terminal: DefaultTerminal,
}

impl Screen {
    /// Takes the terminal over (raw mode, alternate screen, a panic hook that restores it).
    pub fn enter() -> Result<Screen, Failure> {
        let terminal = ratatui::try_init()
            .map_err(|e| Failure::usage(format!("adctl top needs a terminal: {e}")))?;
        Ok(Screen { terminal })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
    }
}
