//! `grsu doctor`: checks every endpoint of a config (or one given on the command line) before a
//! long sweep. Exit code 1 when an endpoint cannot serve the configured scoring mode.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use grsu::config::models::read_models_section;
use grsu::model::doctor::{diagnose, DoctorReport};
use grsu::model::http::{HttpBackend, HttpEndpoint};
use grsu::model::scoring::ScoringMode;

use super::runtime::runtime;
use super::CliFailure;

#[derive(Debug, Args)]
pub struct DoctorArguments {
    /// A run config: every endpoint of its [models.*] tables is checked.
    #[arg(long, conflicts_with_all = ["endpoint", "model"])]
    config: Option<PathBuf>,
    /// One endpoint's base URL (e.g. http://gpu-01:8000/v1).
    #[arg(long, requires = "model")]
    endpoint: Option<String>,
    /// The model id to ask the endpoint for.
    #[arg(long)]
    model: Option<String>,
    /// Environment variable holding the API key (with --endpoint).
    #[arg(long)]
    api_key_env: Option<String>,
    /// The scoring mode the endpoints must serve (default: the config's [user] scoring_mode, else
    /// generate).
    #[arg(long, value_parser = parse_mode)]
    scoring_mode: Option<ScoringMode>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120.0)]
    timeout_s: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_mode(text: &str) -> Result<ScoringMode, String> {
    match text {
        "generate" => Ok(ScoringMode::Generate),
        "forced" => Ok(ScoringMode::Forced),
        other => Err(format!(
            "unknown scoring mode `{other}`; expected generate or forced"
        )),
    }
}

pub fn run(arguments: DoctorArguments) -> Result<(), CliFailure> {
    let input = |message: String| CliFailure::Other(anyhow::anyhow!(message));
    let mut targets: Vec<(String, HttpEndpoint)> = Vec::new();
    let mut mode = arguments.scoring_mode;
    if let Some(config) = &arguments.config {
        let (models, configured_mode) = read_models_section(config).map_err(input)?;
        if mode.is_none() {
            mode = configured_mode
                .as_deref()
                .map(parse_mode)
                .transpose()
                .map_err(input)?;
        }
        for (role, settings) in &models {
            if settings.is_embedded() {
                eprintln!("[models.{role}]: embedded model, no endpoint to check");
                continue;
            }
            let endpoints = settings
                .http_endpoints(role)
                .map_err(|error| input(error.to_string()))?;
            targets.extend(
                endpoints
                    .into_iter()
                    .map(|endpoint| (role.clone(), endpoint)),
            );
        }
    } else if let (Some(url), Some(model)) = (&arguments.endpoint, &arguments.model) {
        let api_key = match &arguments.api_key_env {
            Some(variable) => Some(
                std::env::var(variable)
                    .map_err(|_| input(format!("environment variable {variable} is not set")))?,
            ),
            None => None,
        };
        targets.push((
            "endpoint".into(),
            HttpEndpoint {
                url: url.clone(),
                model: model.clone(),
                api_key,
                timeout: Duration::from_secs_f64(arguments.timeout_s),
            },
        ));
    } else {
        return Err(input("give --config, or --endpoint with --model".into()));
    }
    let mode = mode.unwrap_or_default();
    let runtime = runtime()?;
    let mut reports: Vec<(String, DoctorReport)> = Vec::new();
    for (role, endpoint) in targets {
        let backend =
            HttpBackend::new(endpoint).map_err(|error| CliFailure::Other(error.into()))?;
        reports.push((role, runtime.block_on(diagnose(&backend))));
    }
    let all_ok = reports.iter().all(|(_, report)| report.can_serve(mode));
    if arguments.json {
        let value: Vec<serde_json::Value> = reports
            .iter()
            .map(|(role, report)| {
                let mut value = serde_json::to_value(report).expect("a report serialises");
                value["role"] = role.clone().into();
                value["can_serve"] = report.can_serve(mode).into();
                value
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"scoring_mode": mode, "endpoints": value})
            )?
        );
    } else {
        for (role, report) in &reports {
            print_report(role, report, mode);
        }
    }
    if all_ok {
        Ok(())
    } else {
        Err(CliFailure::Other(anyhow::anyhow!(
            "an endpoint cannot serve the `{}` scoring mode",
            serde_json::to_value(mode)?.as_str().unwrap_or("?")
        )))
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn print_report(role: &str, report: &DoctorReport, mode: ScoringMode) {
    println!("{role}: {} (model {})", report.endpoint, report.model);
    let rows = [
        ("reachable", yes_no(report.reachable).to_string()),
        (
            "model listed",
            format!("{} {:?}", yes_no(report.model_listed), report.models_listed),
        ),
        ("logprobs", yes_no(report.logprobs).to_string()),
        (
            "max top_logprobs",
            report
                .max_top_logprobs
                .map_or("-".into(), |top| top.to_string()),
        ),
        ("honours n", yes_no(report.honours_n).to_string()),
        (
            "continue_final_message",
            yes_no(report.continue_final_message).to_string(),
        ),
        (
            "median latency",
            report
                .median_latency_ms
                .map_or("-".into(), |ms| format!("{ms:.0} ms")),
        ),
        (
            "can serve scoring mode",
            format!(
                "{} ({})",
                yes_no(report.can_serve(mode)),
                serde_json::to_value(mode)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        ),
    ];
    for (name, value) in rows {
        println!("  {name:<24} {value}");
    }
    for problem in &report.problems {
        println!("  ! {problem}");
    }
}
