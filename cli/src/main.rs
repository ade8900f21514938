//! `adctl`: parses the command line, runs it, and turns the outcome into one line and an exit
//! code (see `adctl --help`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = adctl::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("adctl: starting: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(adctl::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("adctl: {failure}");
            failure.exit_code()
        }
    }
}
