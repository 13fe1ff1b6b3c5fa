//! The fuzz run of CI: every target for a short run (a few thousand inputs, or its share of the
//! time budget when the debug build is slow), and checks that the harness does catch a panic, a
//! hang, an error that names nothing and an unbounded allocation, so that this test can fail.

use std::time::Duration;

use grsu_fuzz::alloc::AllocGuard;
use grsu_fuzz::runner::{self, run_target, RunOptions};
use grsu_fuzz::seeds::SeedFiles;
use grsu_fuzz::targets;

#[global_allocator]
static GUARD: AllocGuard = AllocGuard;

fn options(crash_dir: &std::path::Path, inputs: u64) -> RunOptions {
    RunOptions {
        inputs,
        crash_dir: crash_dir.to_path_buf(),
        ..RunOptions::default()
    }
}

#[test]
fn every_target_survives_a_short_run() {
    targets::prepare_environment();
    runner::quiet_panics();
    let crashes = tempfile::tempdir().unwrap();
    let files = SeedFiles::locate();
    let mut failures = Vec::new();
    for target in targets::all() {
        let seeds = target.seeds(&files);
        let mut options = options(crashes.path(), 2000);
        // The debug build is slow on the few targets that match titles or expand grids; a slow
        // input on a loaded CI machine is not a hang (the hang check is tested below).
        options.seconds = Some(1.2);
        options.hang_limit = Duration::from_secs(10);
        let report = run_target(target.as_ref(), &seeds, &options);
        println!(
            "{:<22} {:>6} inputs {:>5.2} s, {} seeds: {} panics, {} hangs, {} bad errors",
            report.target,
            report.inputs,
            report.seconds,
            seeds.len(),
            report.panics,
            report.hangs,
            report.bad_errors
        );
        assert!(
            report.inputs >= seeds.len() as u64 && report.inputs > 100,
            "{report:?}"
        );
        for crash in &report.crashes {
            failures.push(format!(
                "{} {}: {} (input {:?})",
                report.target,
                crash.kind.name(),
                crash.message,
                crash.file
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_panic_is_caught_and_its_input_written() {
    runner::quiet_panics();
    let crashes = tempfile::tempdir().unwrap();
    let target = targets::by_name("selftest-panic").unwrap();
    let seeds = target.seeds(&SeedFiles::locate());
    let report = run_target(target.as_ref(), &seeds, &options(crashes.path(), 200));
    assert!(report.panics >= 1, "{report:?}");
    assert!(report.crashed());
    let crash = &report.crashes[0];
    assert!(
        crash.message.contains("self-test panic"),
        "{}",
        crash.message
    );
    let file = crash.file.as_ref().expect("the input is written");
    assert!(file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("selftest-panic-"));
    let input = std::fs::read(file).unwrap();
    let replayed = runner::run_one(target.as_ref(), &input);
    assert!(replayed.unwrap_err().contains("self-test panic"));
    // The run went on after the panic.
    assert_eq!(report.inputs, 200);
}

#[test]
fn a_hang_and_an_error_naming_nothing_are_caught() {
    runner::quiet_panics();
    let crashes = tempfile::tempdir().unwrap();
    let hang = targets::by_name("selftest-hang").unwrap();
    let seeds = hang.seeds(&SeedFiles::locate());
    let mut hang_options = options(crashes.path(), seeds.len() as u64);
    hang_options.hang_limit = Duration::from_millis(100);
    let report = run_target(hang.as_ref(), &seeds, &hang_options);
    assert_eq!(report.hangs, 1, "{report:?}");
    let bad = targets::by_name("selftest-bad-error").unwrap();
    let report = run_target(bad.as_ref(), &seeds, &options(crashes.path(), 2));
    assert_eq!(report.bad_errors, 1, "{report:?}");
    assert!(report.crashes[0].message.contains("names nothing"));
}

#[test]
fn an_unbounded_allocation_stops_the_run_with_its_input() {
    let crashes = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_grsu-fuzz"))
        .args([
            "--target",
            "selftest-alloc",
            "--inputs",
            "10",
            "--crash-dir",
        ])
        .arg(crashes.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("unbounded allocation"), "{stderr}");
    assert!(
        stderr.contains("replay: cargo run -p grsu-fuzz"),
        "{stderr}"
    );
    let written: Vec<_> = std::fs::read_dir(crashes.path()).unwrap().collect();
    assert_eq!(written.len(), 1);
}
