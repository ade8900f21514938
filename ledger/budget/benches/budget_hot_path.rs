//! In-process lease spending, the serving hot path: spends per second on one core, and with two
//! threads sharing one lease. Prints figures; asserts nothing.
//!
//!   cargo bench -p budget --bench budget_hot_path             full run
//!   cargo bench -p budget --bench budget_hot_path -- --smoke  a short run, to check it runs

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use budget::LocalLease;
use ledger::LeaseId;

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let spends: u64 = if smoke { 1_000_000 } else { 200_000_000 };
    println!(
        "budget hot path{}",
        if smoke {
            " (SMOKE RUN: too short for meaningful figures)"
        } else {
            ""
        }
    );

    let lease = LocalLease::new(LeaseId::new(), i64::MAX);
    let started = Instant::now();
    for _ in 0..spends {
        black_box(lease.try_spend(black_box(2_500)));
    }
    let one = spends as f64 / started.elapsed().as_secs_f64();
    println!(
        "lease spends, 1 thread              {:>8.1} million/s   (target >= 10)",
        one / 1e6
    );
    assert_spent(&lease, spends);

    let shared = Arc::new(LocalLease::new(LeaseId::new(), i64::MAX));
    let started = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let lease = shared.clone();
            std::thread::spawn(move || {
                for _ in 0..spends / 2 {
                    black_box(lease.try_spend(black_box(2_500)));
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let two = spends as f64 / started.elapsed().as_secs_f64();
    println!(
        "lease spends, 2 threads, one lease  {:>8.1} million/s",
        two / 1e6
    );
    assert_spent(&shared, spends);
}

/// Every spend must have gone through: the figures count nothing that did not happen.
fn assert_spent(lease: &LocalLease, spends: u64) {
    let expected = i64::try_from(spends)
        .unwrap_or(i64::MAX)
        .saturating_mul(2_500);
    if lease.spent() != expected {
        eprintln!("lease spent {} but {expected} was expected", lease.spent());
        std::process::exit(1);
    }
}
