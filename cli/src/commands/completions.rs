//! `adctl completions SHELL` and `adctl man`: shell completions and man pages, made from the
//! same clap definitions as the command line itself.

use std::io::Write;
use std::path::PathBuf;

use crate::failure::Failure;

/// Print the completion script for a shell.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell (bash: `source <(adctl completions bash)`).
    pub shell: clap_complete::Shell,
}

/// Write the man pages (adctl.1, adctl-campaigns.1, ...).
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The folder to write them to (then `man -M FOLDER adctl`).
    #[arg(long, default_value = "man")]
    pub out: PathBuf,
}

/// Prints the completion script of `command` (the whole command line).
pub fn completions(args: CompletionsArgs, mut command: clap::Command) -> Result<(), Failure> {
    // made whole first: the generator panics on a closed pipe (`adctl completions bash | head`)
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "adctl", &mut script);
    let mut out = std::io::stdout().lock();
    crate::output::written(out.write_all(&script).and_then(|()| out.flush()))
}

/// Writes a man page for `command` (the whole command line) and each of its subcommands.
pub fn man(args: ManArgs, command: clap::Command) -> Result<(), Failure> {
    let failed = |e: std::io::Error| Failure::usage(format!("writing {}: {e}", args.out.display()));
    std::fs::create_dir_all(&args.out).map_err(failed)?;
    let mut written = 0;
    let mut pending = vec![(String::from("adctl"), command)];
    while let Some((name, command)) = pending.pop() {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let page = format!("{name}-{}", sub.get_name());
            let invoked = format!("{} {}", name.replace('-', " "), sub.get_name());
            // clap names commands with static strings; these few live as long as the command
            let named = sub
                .clone()
                .name(&*Box::leak(page.clone().into_boxed_str()))
                .bin_name(&*Box::leak(invoked.into_boxed_str()));
            pending.push((page, named));
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(failed)?;
        std::fs::write(args.out.join(format!("{name}.1")), page).map_err(failed)?;
        written += 1;
    }
    eprintln!("adctl: wrote {written} man pages to {}", args.out.display());
    Ok(())
}
