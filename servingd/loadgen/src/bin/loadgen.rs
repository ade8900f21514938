//! `loadgen`: sends OpenRTB requests from a realistic mix at a target rate (or as fast as
//! possible) and prints throughput, fill rate and latency percentiles.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(name = "loadgen", version, about = "OpenRTB load for servingd")]
struct Args {
    /// The auction endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8090/openrtb2/auction")]
    url: String,
    /// The supply partner's credential the requests carry (servingd answers 401 without one).
    #[arg(long, env = "LOADGEN_PARTNER_KEY", hide_env_values = true)]
    partner_key: Option<String>,
    /// Requests per second; 0 sends as fast as the clients can.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Distinct users.
    #[arg(long, default_value_t = 10_000)]
    users: u64,
    /// Seed of the request mix: the same seed sends the same requests.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print a summary every this many seconds while running (0: only at the end).
    #[arg(long, default_value_t = 0)]
    every: u64,
    /// Act as the browsers showing the ads: fetch each bid's billing URL, and follow its click
    /// URL with this probability (0 to 1).
    #[arg(long)]
    clicks: Option<f64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.clients == 0 || args.rate < 0.0 {
        eprintln!("loadgen: --clients must be at least 1 and --rate 0 or more");
        return ExitCode::FAILURE;
    }
    if args.clicks.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        eprintln!("loadgen: --clicks is a probability, from 0 to 1");
        return ExitCode::FAILURE;
    }
    let rounds = if args.every == 0 {
        1
    } else {
        args.duration.div_ceil(args.every)
    };
    let step = if args.every == 0 {
        args.duration
    } else {
        args.every
    };
    for round in 0..rounds {
        let plan = loadgen::Plan {
            url: args.url.clone(),
            partner_key: args.partner_key.clone(),
            rate: args.rate,
            // the last round takes what is left of --duration
            duration: Duration::from_secs(step.min(args.duration - round * step)),
            clients: args.clients,
            users: args.users,
            seed: args.seed.wrapping_add(round * 1_000),
            get: false,
            unmatched: false,
            click_share: args.clicks,
        };
        match loadgen::run(&plan).await {
            Ok(report) => println!("loadgen: {}", report.summary()),
            Err(e) => {
                eprintln!("loadgen: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
