//! `grsu-fuzz`: runs the fuzz targets and prints one row per target; exits 1 on any crash.
//!
//! ```sh
//! cargo run -p grsu-fuzz --release -- --target all --inputs 100000 --seed 1
//! cargo run -p grsu-fuzz --release -- --target dataset-grsu --replay fuzz/crashes/dataset-grsu-…
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use grsu_fuzz::alloc::AllocGuard;
use grsu_fuzz::runner::{self, replay_command, run_target, Report, RunOptions};
use grsu_fuzz::seeds::SeedFiles;
use grsu_fuzz::targets;

#[global_allocator]
static GUARD: AllocGuard = AllocGuard;

#[derive(Debug, Parser)]
#[command(about = "Fuzzes every grsu parser that reads outside data")]
struct Arguments {
    /// A target name, or `all`.
    #[arg(long, default_value = "all")]
    target: String,
    /// Inputs per target (its seeds included).
    #[arg(long, default_value_t = 10_000)]
    inputs: u64,
    /// Seconds per target at most.
    #[arg(long)]
    seconds: Option<f64>,
    /// The PRNG seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Runs one input file through the target (with the panic message printed) and exits.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Where crash files are written.
    #[arg(long)]
    crash_dir: Option<PathBuf>,
    /// Lists the targets.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    targets::prepare_environment();
    if arguments.list {
        for target in targets::all() {
            println!("{}", target.name());
        }
        return ExitCode::SUCCESS;
    }
    if let Some(file) = &arguments.replay {
        return replay(&arguments.target, file);
    }
    let selected: Vec<Box<dyn grsu_fuzz::Target>> = if arguments.target == "all" {
        targets::all()
    } else {
        match targets::by_name(&arguments.target) {
            Some(target) => vec![target],
            None => {
                eprintln!("unknown target `{}`; `--list` lists them", arguments.target);
                return ExitCode::from(2);
            }
        }
    };
    let options = RunOptions {
        inputs: arguments.inputs,
        seconds: arguments.seconds,
        seed: arguments.seed,
        crash_dir: arguments
            .crash_dir
            .unwrap_or_else(runner::default_crash_dir),
        ..RunOptions::default()
    };
    let files = SeedFiles::locate();
    runner::quiet_panics();
    println!(
        "{:<22} {:>10} {:>9} {:>6} {:>6} {:>6} {:>7} {:>9} {:>9} {:>9}",
        "target",
        "inputs",
        "seconds",
        "seeds",
        "panics",
        "hangs",
        "errors",
        "accepted",
        "slowest",
        "largest"
    );
    let mut reports: Vec<Report> = Vec::new();
    for target in &selected {
        let seeds = target.seeds(&files);
        let report = run_target(target.as_ref(), &seeds, &options);
        println!(
            "{:<22} {:>10} {:>9.1} {:>6} {:>6} {:>6} {:>7} {:>8.1}% {:>7.1}ms {:>6.1}MiB",
            report.target,
            report.inputs,
            report.seconds,
            seeds.len(),
            report.panics,
            report.hangs,
            report.bad_errors,
            100.0 * report.accepted as f64 / report.inputs.max(1) as f64,
            report.slowest * 1000.0,
            report.largest_bytes as f64 / (1 << 20) as f64
        );
        reports.push(report);
    }
    let total: u64 = reports.iter().map(|report| report.inputs).sum();
    let seconds: f64 = reports.iter().map(|report| report.seconds).sum();
    println!("{:<22} {total:>10} {seconds:>9.1}", "total");
    let mut crashed = false;
    for report in &reports {
        for crash in &report.crashes {
            crashed = true;
            println!(
                "\n{} {}: {}",
                report.target,
                crash.kind.name(),
                crash.message
            );
            if let Some(file) = &crash.file {
                println!("  input: {}", file.display());
                println!("  replay: {}", replay_command(&report.target, file));
            }
        }
    }
    if crashed || reports.iter().any(Report::crashed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn replay(target: &str, file: &std::path::Path) -> ExitCode {
    let Some(target) = targets::by_name(target) else {
        eprintln!("unknown target `{target}`; `--list` lists them");
        return ExitCode::from(2);
    };
    let input = match std::fs::read(file) {
        Ok(input) => input,
        Err(error) => {
            eprintln!("cannot read {}: {error}", file.display());
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    // The default panic hook stays: a panic prints its message and location (RUST_BACKTRACE=1
    // for the backtrace).
    let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target.run(&input)));
    let took = started.elapsed().as_secs_f64();
    match verdict {
        Ok(grsu_fuzz::Verdict::BadError(message)) => {
            println!("{}: bad error after {took:.3} s: {message}", target.name());
            ExitCode::FAILURE
        }
        Ok(verdict) => {
            println!("{}: {verdict:?} in {took:.3} s", target.name());
            if took > runner::HANG_LIMIT.as_secs_f64() {
                println!("(longer than the hang limit of {:?})", runner::HANG_LIMIT);
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(_) => {
            println!("{}: panicked after {took:.3} s", target.name());
            ExitCode::FAILURE
        }
    }
}
