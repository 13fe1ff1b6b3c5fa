//! `grsu synth critique|score --config C`: instruction data for training the simulated user
//! (paper, section 3.2.2). Writes `<output>/{critique,score}.jsonl` and a manifest beside each;
//! prints the counts at the end. A progress bar on a terminal, log lines otherwise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use grsu::synth::{
    plan_critique, run_critique, run_score, ExampleKind, SynthConfig, SynthError, SynthOutcome,
    SynthProgress,
};

use super::runtime::runtime;
use super::CliFailure;

#[derive(Debug, Subcommand)]
pub enum SynthCommand {
    /// Critique examples: a teacher model critiques lists of label subsets padded with negatives
    /// knowing the ground-truth preference; the example drops the preference. Resumable.
    Critique(SynthArguments),
    /// Scoring examples: per label item one Yes and `negatives_per_positive` sampled No answers,
    /// with the engine's scoring prompt.
    Score(SynthArguments),
}

#[derive(Debug, Args)]
pub struct SynthArguments {
    /// The synthesis configuration (TOML); see config/synth/.
    #[arg(long)]
    config: PathBuf,
    /// Print the manifest as JSON instead of the counts table.
    #[arg(long)]
    json: bool,
    /// Critique only: count the histories, lists and capped subsets without asking the teacher.
    #[arg(long)]
    plan: bool,
}

pub fn run(command: SynthCommand) -> Result<(), CliFailure> {
    let (kind, arguments) = match command {
        SynthCommand::Critique(arguments) => ("critique", arguments),
        SynthCommand::Score(arguments) => ("score", arguments),
    };
    let config = SynthConfig::load(&arguments.config)
        .map_err(|error| CliFailure::Config(error.to_string()))?;
    if arguments.plan {
        if kind != "critique" {
            return Err(CliFailure::Config(
                "--plan is for `grsu synth critique` (scoring needs no teacher)".into(),
            ));
        }
        let counts = plan_critique(&config).map_err(failure)?;
        let value = serde_json::to_value(counts)?;
        if arguments.json {
            println!("{}", serde_json::to_string_pretty(&value)?);
        } else {
            print_table(&value);
            println!(
                "\nplan only: {} teacher requests at least (one per list, up to 3 with retries)",
                counts.lists_with_labels + counts.lists_without_labels
            );
        }
        return Ok(());
    }
    let progress = Arc::new(SynthProgress::default());
    let unit = if kind == "critique" {
        "lists"
    } else {
        "histories"
    };
    let outcome = runtime()?.block_on(async {
        let (stop_sender, stop) = tokio::sync::watch::channel(false);
        let reporter = tokio::spawn(report_until(progress.clone(), unit, stop));
        let outcome = if kind == "critique" {
            tokio::select! {
                outcome = run_critique(&config, &progress, Some(grsu_embedded::loader())) => outcome,
                _ = tokio::signal::ctrl_c() => {
                    let _ = stop_sender.send(true);
                    let _ = reporter.await;
                    return Err(CliFailure::Other(anyhow::anyhow!(
                        "interrupted: finished teacher calls are cached; run `grsu synth critique --config {}` again to resume",
                        arguments.config.display()
                    )));
                }
            }
        } else {
            run_score(&config, &progress)
        };
        let _ = stop_sender.send(true);
        let _ = reporter.await;
        outcome.map_err(failure)
    })?;
    if arguments.json {
        println!("{}", serde_json::to_string_pretty(&outcome.manifest)?);
    } else {
        print_counts(&outcome);
    }
    let errors = outcome.manifest.counts["teacher_errors"]
        .as_u64()
        .unwrap_or(0);
    if errors > 0 {
        return Err(CliFailure::Other(anyhow::anyhow!(
            "{errors} teacher calls failed and their lists have no example; run `grsu synth {kind} --config {}` again to retry them (finished calls come from the cache)",
            arguments.config.display()
        )));
    }
    Ok(())
}

fn failure(error: SynthError) -> CliFailure {
    if error.is_bad_input() {
        match error {
            SynthError::Input(input) => CliFailure::Input(input),
            other => CliFailure::Config(other.to_string()),
        }
    } else {
        CliFailure::Other(error.into())
    }
}

fn print_table(counts: &serde_json::Value) {
    println!("| count | value |\n|---|---|");
    if let Some(counts) = counts.as_object() {
        for (name, value) in counts {
            println!("| {name} | {value} |");
        }
    }
}

fn print_counts(outcome: &SynthOutcome) {
    let manifest = &outcome.manifest;
    print_table(&manifest.counts);
    let run = &manifest.this_run;
    println!(
        "\n{} examples in {}; manifest {}; teacher calls {} (cached {}), wall time {:.1} s",
        match manifest.kind {
            ExampleKind::Critique => "critique",
            ExampleKind::Score => "score",
        },
        outcome.examples.display(),
        outcome.manifest_path.display(),
        run.teacher_calls,
        run.cache_hits,
        run.wall_s
    );
}

/// A bar on a terminal, a log line every 10 s otherwise, until `stop` changes.
async fn report_until(
    progress: Arc<SynthProgress>,
    unit: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let terminal = std::io::stderr().is_terminal();
    // Made once the work is planned, so that it never shows an empty bar as full.
    let mut bar: Option<indicatif::ProgressBar> = None;
    let period = if terminal {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(10)
    };
    loop {
        let now = progress.snapshot();
        if terminal && bar.is_none() && now.total > 0 {
            let new_bar = indicatif::ProgressBar::new(now.total);
            new_bar.set_style(
                indicatif::ProgressStyle::with_template(&format!(
                    "{{bar:30}} {{pos}}/{{len}} {unit}, eta {{eta}} | {{msg}}"
                ))
                .expect("a valid template"),
            );
            bar = Some(new_bar);
        }
        match &bar {
            Some(bar) => {
                bar.set_length(now.total);
                bar.set_position(now.done);
                bar.set_message(format!(
                    "{} failed | teacher: {} calls, {} cached, {} tokens",
                    now.failed, now.teacher_calls, now.cache_hits, now.tokens
                ));
            }
            None if terminal || now.total == 0 => {}
            None => tracing::info!(
                done = now.done,
                total = now.total,
                failed = now.failed,
                teacher_calls = now.teacher_calls,
                cache_hits = now.cache_hits,
                "progress ({unit})"
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => break,
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
