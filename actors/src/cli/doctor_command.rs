//! `grsu doctor`: checks the endpoints a config will call (or one given on the command line)
//! before a long sweep.
//!
//! With `--config` the file is loaded as a sweep, exactly as `grsu run` loads it (a config error
//! exits 2), because the endpoints a sweep calls are not only those of its base `[models.*]`
//! tables: a `[[variant]]` or a `[grid]` axis may point a role of some cells elsewhere (Table 3's
//! zero-shot CRSs each have their own server, one of them OpenAI's API), and what a role needs
//! differs from cell to cell. So, for every cell and every role the cell calls:
//!
//! - `crs`: chat completions, and `n` when `[crs] batch_lists` asks for several lists in one
//!   request; `continue_final_message` when `[crs] answer_prefix` pre-fills the answer;
//! - `user` (scoring with the generative scorer): logprobs, a `top_logprobs` limit of at least the
//!   cell's `[user] top_logprobs`, and `continue_final_message` for `scoring_mode = "forced"`;
//! - `critique` (the `user` model unless `[models.critique]` names another; called by beam and
//!   greedy search with critiquing, from depth 2): chat completions and `n`;
//! - `reward` (the discriminative scorer only): classification at `/classify`.
//!
//! Each distinct endpoint (URL, model id, API key variable) is probed once, with only the probes
//! its uses need, all endpoints at once; then it is judged against every need of every
//! (cell, role) using it, and the table says which cells a missing feature breaks. A wrong model id
//! or a dead server is reported as that alone, never as missing features (see
//! `grsu::model::doctor`). A server that ignores `n` is a warning, not a failure: the client asks
//! again for the missing choices. Exit code 1 when any endpoint cannot serve a need of a cell
//! (including an API key variable that is not set), else 0.
//!
//! With `--endpoint URL --model M` one endpoint gets every chat probe and is judged by the scoring
//! mode, as before sweeps had cells.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use futures_util::future::join_all;
use grsu::config::values::Seconds;
use grsu::config::{RunConfig, Scorer, StrategyName};
use grsu::model::doctor::{diagnose, diagnose_with, Capability, Check, DoctorReport, Probes};
use grsu::model::http::{HttpBackend, HttpEndpoint};
use grsu::model::role::Role;
use grsu::model::scoring::ScoringMode;
use grsu::sweep::Sweep;
use serde::Serialize;

use super::runtime::runtime;
use super::CliFailure;

#[derive(Debug, Args)]
pub struct DoctorArguments {
    /// A run config (a sweep with [grid] and [[variant]]s, or a plain one): every endpoint that
    /// any of its cells calls is checked for what those cells need.
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
    /// The scoring mode to judge by: with --endpoint, the mode the endpoint must serve (default
    /// generate); with --config, replaces every cell's [user] scoring_mode.
    #[arg(long, value_parser = parse_mode)]
    scoring_mode: Option<ScoringMode>,
    /// Per-request timeout in seconds (with --config: at most this, or the role's timeout_s).
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

fn mode_name(mode: ScoringMode) -> &'static str {
    match mode {
        ScoringMode::Generate => "generate",
        ScoringMode::Forced => "forced",
    }
}

pub fn run(arguments: DoctorArguments) -> Result<(), CliFailure> {
    let timeout = Seconds::try_from(arguments.timeout_s)
        .map_err(|problem| CliFailure::Config(format!("--timeout-s {problem}")))?
        .duration();
    if let Some(config) = &arguments.config {
        return run_config(config, &arguments, timeout);
    }
    if let (Some(url), Some(model)) = (&arguments.endpoint, &arguments.model) {
        return run_endpoint(url, model, &arguments, timeout);
    }
    Err(CliFailure::Config(
        "give --config, or --endpoint with --model".into(),
    ))
}

// ---------------------------------------------------------------------------------------------
// --config: every endpoint of every cell.

/// What one role of one cell needs from its endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct Needs {
    chat: bool,
    /// Several choices per request.
    n: bool,
    logprobs: bool,
    /// The smallest `top_logprobs` limit that serves the cell.
    top_logprobs: Option<u32>,
    /// Why a pre-filled answer must be continued, if it must.
    continue_final_message: Option<&'static str>,
    classify: bool,
    /// `[models.user] yes_no_token_ids` asks for exact Yes/No logprobs (`logprob_token_ids`):
    /// without them the scores fall back to the top logprobs (a warning).
    yes_no_token_ids: bool,
    /// `[models.user] scoring_priority`: the request priority scoring sends.
    priority: Option<i32>,
}

/// What `role` of a cell calls its model for; `None` when the cell never calls it.
fn needs_of(config: &RunConfig, role: Role, mode: ScoringMode) -> Option<Needs> {
    let strategy = config.search.strategy;
    match role {
        Role::Crs => Some(Needs {
            chat: true,
            n: config.crs.batch_lists && strategy != StrategyName::None,
            continue_final_message: config
                .crs
                .answer_prefix
                .as_deref()
                .is_some_and(|prefix| !prefix.is_empty())
                .then_some("`[crs] answer_prefix`"),
            ..Needs::default()
        }),
        Role::User => {
            (config.user.scoring && config.user.scorer == Scorer::Generative).then(|| Needs {
                chat: true,
                logprobs: true,
                top_logprobs: Some(config.user.top_logprobs),
                continue_final_message: (mode == ScoringMode::Forced).then_some("forced scoring"),
                yes_no_token_ids: config
                    .models
                    .get(Role::User)
                    .is_some_and(|settings| !settings.yes_no_token_ids.is_off()),
                priority: config
                    .models
                    .get(Role::User)
                    .and_then(|settings| settings.scoring_priority),
                ..Needs::default()
            })
        }
        Role::Critique => (config.user.critique
            && matches!(strategy, StrategyName::Beam | StrategyName::Greedy)
            && config.search.depth >= 2)
            .then(|| Needs {
                chat: true,
                n: config.search.expand_width > 1,
                ..Needs::default()
            }),
        Role::Reward => Some(Needs {
            classify: true,
            ..Needs::default()
        }),
        Role::Teacher => None,
    }
}

/// One (cell, role) calling an endpoint.
#[derive(Debug, Clone)]
struct Use {
    cell: usize,
    role: Role,
    needs: Needs,
}

/// A distinct endpoint: URL (as the client normalises it), model id, API key variable, the CA
/// file it is trusted through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EndpointKey {
    url: String,
    model: String,
    api_key_env: Option<String>,
    ca_file: Option<std::path::PathBuf>,
}

struct Target {
    key: EndpointKey,
    timeout: Duration,
    uses: Vec<Use>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Failure,
    Warning,
}

/// A problem of an endpoint, and the (cell, role) pairs it hits.
struct Finding {
    severity: Severity,
    text: String,
    hits: Vec<(Role, usize)>,
}

/// An endpoint's row: what was found and what it means for its cells.
struct Row {
    target: Target,
    /// `None`: not checked (its API key variable is not set).
    report: Option<DoctorReport>,
    findings: Vec<Finding>,
}

impl Row {
    fn ok(&self) -> bool {
        self.findings
            .iter()
            .all(|finding| finding.severity == Severity::Warning)
    }
}

/// The cells of a sweep, for naming them in findings.
struct Cells<'a> {
    names: Vec<&'a str>,
}

impl Cells<'_> {
    fn total(&self) -> usize {
        self.names.len()
    }

    /// "all 5 cells", or the names (at most three; longer lists as "a, b, … (+k)").
    fn list(&self, cells: &[usize]) -> String {
        if cells.len() == self.total() && self.total() > 1 {
            return format!("all {} cells", self.total());
        }
        let names: Vec<&str> = cells.iter().map(|&cell| self.names[cell]).collect();
        // Grid cells are named `a=1, b=2`: then names are separated by semicolons.
        let separator = if names.iter().any(|name| name.contains(',')) {
            "; "
        } else {
            ", "
        };
        if names.len() <= 3 {
            names.join(separator)
        } else {
            format!(
                "{}{separator}… (+{})",
                names[..2].join(separator),
                names.len() - 2
            )
        }
    }

    /// As [`Cells::list`], with "cell"/"cells" in front of names.
    fn phrase(&self, cells: &[usize]) -> String {
        let list = self.list(cells);
        match cells.len() {
            _ if list.starts_with("all ") => list,
            1 => format!("cell {list}"),
            _ => format!("cells {list}"),
        }
    }

    /// "crs in all 5 cells and user in cell GRSU": roles with the same cells are named together.
    fn who(&self, hits: &[(Role, usize)]) -> String {
        let mut groups: Vec<(Vec<usize>, Vec<&'static str>)> = Vec::new();
        for role in Role::RUN {
            let mut cells: Vec<usize> = hits
                .iter()
                .filter(|(hit_role, _)| *hit_role == role)
                .map(|(_, cell)| *cell)
                .collect();
            if cells.is_empty() {
                continue;
            }
            cells.sort_unstable();
            cells.dedup();
            match groups.iter_mut().find(|(other, _)| *other == cells) {
                Some((_, roles)) => roles.push(role.as_str()),
                None => groups.push((cells, vec![role.as_str()])),
            }
        }
        groups
            .iter()
            .map(|(cells, roles)| format!("{} in {}", roles.join(", "), self.phrase(cells)))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

fn distinct_roles(uses: &[Use]) -> Vec<&'static str> {
    Role::RUN
        .into_iter()
        .filter(|role| uses.iter().any(|usage| usage.role == *role))
        .map(|role| role.as_str())
        .collect()
}

fn distinct_cells(uses: &[Use]) -> Vec<usize> {
    let mut cells: Vec<usize> = uses.iter().map(|usage| usage.cell).collect();
    cells.sort_unstable();
    cells.dedup();
    cells
}

/// The probes that serve every use of an endpoint.
fn probes_for(uses: &[Use]) -> Probes {
    let mut probes = Probes::default();
    for Use { needs, .. } in uses {
        probes.chat |= needs.chat;
        probes.n |= needs.n;
        probes.logprobs |= needs.logprobs;
        // Whether exact Yes/No logprobs are served is worth knowing wherever scores are read.
        probes.logprob_token_ids |= needs.logprobs;
        probes.continue_final_message |= needs.continue_final_message.is_some();
        probes.classify |= needs.classify;
        probes.priority = probes.priority.or(needs.priority);
        if let Some(top) = needs.top_logprobs {
            if !probes.top_logprobs.contains(&top) {
                probes.top_logprobs.push(top);
            }
        }
    }
    probes
}

/// What `report` means for one use: failures (the cell cannot run on this endpoint) and warnings.
fn judge(report: &DoctorReport, needs: &Needs) -> Vec<(Severity, String)> {
    use Severity::{Failure, Warning};
    let mut found = Vec::new();
    let not_checked =
        |capability: Capability| (Failure, format!("{} not checked", capability.name()));
    if needs.chat {
        match report.check(Capability::Chat) {
            Some(Check::Supported) => {}
            Some(Check::Unknown { reason }) => {
                // Nothing built on chat completions was probed.
                return vec![(
                    Failure,
                    format!("chat completions could not be checked: {reason}"),
                )];
            }
            Some(check) => {
                return vec![(
                    Failure,
                    format!(
                        "chat completions fail: {}",
                        check.reason().unwrap_or("no reason given")
                    ),
                )];
            }
            None => return vec![not_checked(Capability::Chat)],
        }
        if needs.n {
            match report.check(Capability::N) {
                Some(Check::Supported) => {}
                Some(Check::Degraded { reason }) => {
                    found.push((Warning, format!("`n` {reason}")));
                }
                Some(Check::Unknown { reason }) => {
                    found.push((Warning, format!("`n` could not be checked: {reason}")));
                }
                Some(Check::Missing { reason }) => found.push((Failure, format!("`n`: {reason}"))),
                None => found.push(not_checked(Capability::N)),
            }
        }
        if needs.logprobs {
            match report.check(Capability::Logprobs) {
                Some(Check::Supported) => {
                    let accepted = report.max_top_logprobs.unwrap_or(0);
                    if let Some(wanted) = needs.top_logprobs.filter(|wanted| accepted < *wanted) {
                        found.push((
                            Failure,
                            format!(
                                "top_logprobs = {wanted} rejected (the largest accepted: {accepted})"
                            ),
                        ));
                    }
                }
                Some(Check::Unknown { reason }) => {
                    found.push((Failure, format!("logprobs could not be checked: {reason}")))
                }
                Some(check) => found.push((
                    Failure,
                    format!(
                        "no logprobs: {}",
                        check.reason().unwrap_or("no reason given")
                    ),
                )),
                None => found.push(not_checked(Capability::Logprobs)),
            }
        }
        if needs.yes_no_token_ids {
            match report.check(Capability::LogprobTokenIds) {
                Some(Check::Supported) | None => {}
                Some(check) => found.push((
                    Warning,
                    format!(
                        "no exact Yes/No logprobs (`[models.user] yes_no_token_ids`), scores are read from the top logprobs: {}",
                        check.reason().unwrap_or("no reason given")
                    ),
                )),
            }
        }
        if let Some(priority) = needs.priority {
            match report.check(Capability::Priority) {
                Some(Check::Supported) => {}
                Some(check) => found.push((
                    Failure,
                    format!(
                        "`[models.user] scoring_priority = {priority}` needs a server started with \
                         `--scheduling-policy priority`: {}",
                        check.reason().unwrap_or("no reason given")
                    ),
                )),
                None => found.push(not_checked(Capability::Priority)),
            }
        }
        if let Some(why) = needs.continue_final_message {
            match report.check(Capability::ContinueFinalMessage) {
                Some(Check::Supported) => {}
                Some(Check::Unknown { reason }) => found.push((
                    Failure,
                    format!("continue_final_message (for {why}) could not be checked: {reason}"),
                )),
                Some(check) => found.push((
                    Failure,
                    format!(
                        "no continue_final_message (for {why}): {}",
                        check.reason().unwrap_or("no reason given")
                    ),
                )),
                None => found.push(not_checked(Capability::ContinueFinalMessage)),
            }
        }
    }
    if needs.classify {
        match report.check(Capability::Classify) {
            Some(Check::Supported) => {}
            Some(Check::Unknown { reason }) => {
                found.push((Failure, format!("/classify could not be checked: {reason}")))
            }
            Some(check) => found.push((
                Failure,
                format!(
                    "no classification at /classify: {}",
                    check.reason().unwrap_or("no reason given")
                ),
            )),
            None => found.push(not_checked(Capability::Classify)),
        }
    }
    found
}

fn add_finding(findings: &mut Vec<Finding>, severity: Severity, text: String, hit: (Role, usize)) {
    match findings
        .iter_mut()
        .find(|finding| finding.severity == severity && finding.text == text)
    {
        Some(finding) => finding.hits.push(hit),
        None => findings.push(Finding {
            severity,
            text,
            hits: vec![hit],
        }),
    }
}

fn findings_of(target: &Target, report: Option<&DoctorReport>) -> Vec<Finding> {
    let hits: Vec<(Role, usize)> = target
        .uses
        .iter()
        .map(|usage| (usage.role, usage.cell))
        .collect();
    let Some(report) = report else {
        let variable = target.key.api_key_env.as_deref().unwrap_or_default();
        return vec![Finding {
            severity: Severity::Failure,
            text: format!("environment variable {variable} (api_key_env) is not set"),
            hits,
        }];
    };
    if let Some(stopped) = &report.stopped {
        return vec![Finding {
            severity: Severity::Failure,
            text: stopped.clone(),
            hits,
        }];
    }
    let mut findings = Vec::new();
    for usage in &target.uses {
        for (severity, text) in judge(report, &usage.needs) {
            add_finding(&mut findings, severity, text, (usage.role, usage.cell));
        }
    }
    findings.sort_by_key(|finding| finding.severity == Severity::Warning);
    findings
}

/// The verdict column: "ok", or each failure and the roles and cells it hits.
fn verdict(row: &Row, cells: &Cells) -> String {
    match &row.report {
        // Not checked, or stopped before any feature was probed: that alone is the verdict.
        None => {
            let finding = &row.findings[0];
            return format!(
                "{} ({}); not checked",
                finding.text,
                cells.who(&finding.hits)
            );
        }
        Some(report) if report.stopped.is_some() => return row.findings[0].text.clone(),
        Some(_) => {}
    }
    let of = |severity: Severity| -> Vec<String> {
        row.findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .map(|finding| format!("{} ({})", finding.text, cells.who(&finding.hits)))
            .collect()
    };
    let (failures, warnings) = (of(Severity::Failure), of(Severity::Warning));
    let mut text = if failures.is_empty() {
        "ok".to_string()
    } else {
        failures.join("; ")
    };
    if !warnings.is_empty() {
        text.push_str("; warning: ");
        text.push_str(&warnings.join("; "));
    }
    text
}

fn run_config(
    path: &Path,
    arguments: &DoctorArguments,
    timeout: Duration,
) -> Result<(), CliFailure> {
    let sweep = Sweep::load(path).map_err(|error| CliFailure::Config(error.to_string()))?;
    let cells = Cells {
        names: sweep.cells.iter().map(|cell| cell.name.as_str()).collect(),
    };
    let mut targets: Vec<Target> = Vec::new();
    let mut index: HashMap<EndpointKey, usize> = HashMap::new();
    let mut embedded: Vec<(Role, usize)> = Vec::new();
    for (cell_index, cell) in sweep.cells.iter().enumerate() {
        let config = &cell.config;
        let mode = arguments.scoring_mode.unwrap_or(config.user.scoring_mode);
        for role in config.roles_used() {
            let Some(needs) = needs_of(config, role, mode) else {
                continue;
            };
            let settings = config.role(role);
            if settings.is_embedded() {
                embedded.push((role, cell_index));
                continue;
            }
            for url in &settings.endpoints {
                let key = EndpointKey {
                    url: grsu::model::http::normalise_base(url.as_str()),
                    model: settings.model.clone().unwrap_or_default(),
                    api_key_env: settings.api_key_env.clone(),
                    ca_file: settings.ca_file.clone(),
                };
                let position = *index.entry(key.clone()).or_insert_with(|| {
                    targets.push(Target {
                        key,
                        timeout,
                        uses: Vec::new(),
                    });
                    targets.len() - 1
                });
                let target = &mut targets[position];
                target.timeout = target.timeout.min(settings.timeout());
                target.uses.push(Use {
                    cell: cell_index,
                    role,
                    needs: needs.clone(),
                });
            }
        }
    }
    // Rows by role (every CRS endpoint, then the simulated users', …), then as first met.
    let role_rank = |target: &Target| {
        Role::RUN
            .iter()
            .position(|role| target.uses.iter().any(|usage| usage.role == *role))
            .unwrap_or(Role::RUN.len())
    };
    targets.sort_by_key(role_rank);

    let mut backends: Vec<Option<HttpBackend>> = Vec::with_capacity(targets.len());
    for target in &targets {
        let api_key = match &target.key.api_key_env {
            Some(variable) => match std::env::var(variable) {
                Ok(key) => Some(key),
                Err(_) => {
                    backends.push(None);
                    continue;
                }
            },
            None => None,
        };
        let backend = HttpBackend::new(HttpEndpoint {
            url: target.key.url.clone(),
            model: target.key.model.clone(),
            api_key,
            timeout: target.timeout,
            ca_file: target.key.ca_file.clone(),
        })
        .map_err(|error| CliFailure::Other(error.into()))?;
        backends.push(Some(backend));
    }
    let reports: Vec<Option<DoctorReport>> = if targets.is_empty() {
        Vec::new()
    } else {
        runtime()?.block_on(join_all(targets.iter().zip(&backends).map(
            |(target, backend)| async move {
                match backend {
                    Some(backend) => Some(diagnose_with(backend, &probes_for(&target.uses)).await),
                    None => None,
                }
            },
        )))
    };
    let rows: Vec<Row> = targets
        .into_iter()
        .zip(reports)
        .map(|(target, report)| Row {
            findings: findings_of(&target, report.as_ref()),
            target,
            report,
        })
        .collect();

    if arguments.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json_of(path, &rows, &embedded, &cells))?
        );
    } else {
        if !rows.is_empty() {
            print_table(&rows, &cells);
        }
        if !embedded.is_empty() {
            println!(
                "embedded model (nothing to check over HTTP): {}",
                cells.who(&embedded)
            );
        }
    }
    let failing = rows.iter().filter(|row| !row.ok()).count();
    if failing == 0 {
        if !arguments.json && !rows.is_empty() {
            println!(
                "{} endpoint(s) can serve every need of the {} cell(s) using them",
                rows.len(),
                cells.total()
            );
        }
        Ok(())
    } else {
        Err(CliFailure::Other(anyhow::anyhow!(
            "{failing} of {} endpoint(s) cannot serve what the cells of {} need",
            rows.len(),
            path.display()
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

/// A capability column's value: `-` when not needed or not probed.
fn check_cell(row: &Row, capability: Capability) -> String {
    let needed = row.target.uses.iter().any(|usage| {
        let needs = &usage.needs;
        match capability {
            Capability::Chat => needs.chat,
            Capability::N => needs.n,
            Capability::Logprobs => needs.logprobs,
            Capability::ContinueFinalMessage => needs.continue_final_message.is_some(),
            Capability::Classify => needs.classify,
            Capability::LogprobTokenIds => needs.logprobs,
            Capability::Priority => needs.priority.is_some(),
        }
    });
    let check = row
        .report
        .as_ref()
        .and_then(|report| report.check(capability));
    match (needed, check) {
        (false, _) | (true, None) => "-".into(),
        (true, Some(Check::Supported)) => "yes".into(),
        (true, Some(Check::Degraded { .. })) => "ignored".into(),
        (true, Some(Check::Missing { .. })) => "no".into(),
        (true, Some(Check::Unknown { .. })) => "?".into(),
    }
}

fn print_table(rows: &[Row], cells: &Cells) {
    let needs_any = |test: fn(&Needs) -> bool| {
        rows.iter()
            .any(|row| row.target.uses.iter().any(|usage| test(&usage.needs)))
    };
    let mut columns: Vec<&str> = vec!["endpoint", "model", "roles", "cells", "reachable", "listed"];
    let mut capabilities: Vec<(Capability, &str)> = Vec::new();
    if needs_any(|needs| needs.chat) {
        capabilities.push((Capability::Chat, "chat"));
    }
    if needs_any(|needs| needs.n) {
        capabilities.push((Capability::N, "n"));
    }
    let logprobs = needs_any(|needs| needs.logprobs);
    if logprobs {
        capabilities.push((Capability::Logprobs, "logprobs"));
        capabilities.push((Capability::LogprobTokenIds, "token_ids"));
    }
    if needs_any(|needs| needs.continue_final_message.is_some()) {
        capabilities.push((Capability::ContinueFinalMessage, "continue_final_message"));
    }
    if needs_any(|needs| needs.classify) {
        capabilities.push((Capability::Classify, "classify"));
    }
    if needs_any(|needs| needs.priority.is_some()) {
        capabilities.push((Capability::Priority, "priority"));
    }
    for (capability, name) in &capabilities {
        columns.push(name);
        if *capability == Capability::Logprobs {
            columns.push("top_logprobs");
        }
    }
    columns.extend(["latency", "verdict"]);

    let mut table: Vec<Vec<String>> = vec![columns.iter().map(|name| name.to_string()).collect()];
    for row in rows {
        let report = row.report.as_ref();
        let mut line = vec![
            row.target.key.url.clone(),
            row.target.key.model.clone(),
            distinct_roles(&row.target.uses).join(", "),
            cells.list(&distinct_cells(&row.target.uses)),
            report.map_or("-".into(), |report| yes_no(report.reachable).into()),
            report
                .filter(|report| report.reachable)
                .map_or("-".into(), |report| yes_no(report.model_listed).into()),
        ];
        for (capability, _) in &capabilities {
            line.push(check_cell(row, *capability));
            if *capability == Capability::Logprobs {
                let shown = report
                    .filter(|report| report.logprobs && check_cell(row, *capability) != "-")
                    .and_then(|report| report.max_top_logprobs);
                line.push(shown.map_or("-".into(), |top| top.to_string()));
            }
        }
        line.push(
            report
                .and_then(|report| report.median_latency_ms)
                .map_or("-".into(), |ms| format!("{ms:.0} ms")),
        );
        line.push(verdict(row, cells));
        table.push(line);
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|column| {
            table
                .iter()
                .map(|line| line[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in &table {
        let mut text = String::new();
        for (column, value) in line.iter().enumerate() {
            if column + 1 == line.len() {
                text.push_str(value);
            } else {
                text.push_str(value);
                let pad = widths[column] - value.chars().count() + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        println!("{}", text.trim_end());
    }
}

fn json_of(
    path: &Path,
    rows: &[Row],
    embedded: &[(Role, usize)],
    cells: &Cells,
) -> serde_json::Value {
    use serde_json::json;
    let severity = |severity: Severity| match severity {
        Severity::Failure => "failure",
        Severity::Warning => "warning",
    };
    let endpoints: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            let target = &row.target;
            json!({
                "endpoint": target.key.url,
                "model": target.key.model,
                "api_key_env": target.key.api_key_env,
                "roles": distinct_roles(&target.uses),
                "cells": distinct_cells(&target.uses).iter().map(|&cell| cells.names[cell]).collect::<Vec<_>>(),
                "uses": target.uses.iter().map(|usage| json!({
                    "cell": cells.names[usage.cell],
                    "role": usage.role.as_str(),
                    "needs": usage.needs,
                })).collect::<Vec<_>>(),
                "checked": row.report.is_some(),
                "report": row.report,
                "ok": row.ok(),
                "verdict": verdict(row, cells),
                "findings": row.findings.iter().map(|finding| json!({
                    "severity": severity(finding.severity),
                    "text": finding.text,
                    "uses": finding.hits.iter().map(|(role, cell)| json!({"role": role.as_str(), "cell": cells.names[*cell]})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let embedded: Vec<serde_json::Value> = Role::RUN
        .into_iter()
        .filter_map(|role| {
            let used: Vec<&str> = embedded
                .iter()
                .filter(|(embedded_role, _)| *embedded_role == role)
                .map(|(_, cell)| cells.names[*cell])
                .collect();
            (!used.is_empty()).then(|| json!({"role": role.as_str(), "cells": used}))
        })
        .collect();
    json!({
        "config": path.display().to_string(),
        "cells": cells.names,
        "ok": rows.iter().all(Row::ok),
        "endpoints": endpoints,
        "embedded": embedded,
    })
}

// ---------------------------------------------------------------------------------------------
// --endpoint URL --model M: one endpoint, every chat probe, judged by the scoring mode.

fn run_endpoint(
    url: &str,
    model: &str,
    arguments: &DoctorArguments,
    timeout: Duration,
) -> Result<(), CliFailure> {
    let input = |message: String| CliFailure::Other(anyhow::anyhow!(message));
    let api_key = match &arguments.api_key_env {
        Some(variable) => Some(
            std::env::var(variable)
                .map_err(|_| input(format!("environment variable {variable} is not set")))?,
        ),
        None => None,
    };
    let mode = arguments.scoring_mode.unwrap_or_default();
    let backend = HttpBackend::new(HttpEndpoint {
        url: url.to_string(),
        model: model.to_string(),
        api_key,
        timeout,
        ca_file: None,
    })
    .map_err(|error| CliFailure::Other(error.into()))?;
    let report = runtime()?.block_on(diagnose(&backend));
    let ok = report.can_serve(mode);
    if arguments.json {
        let mut value = serde_json::to_value(&report)?;
        value["role"] = "endpoint".into();
        value["can_serve"] = ok.into();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"scoring_mode": mode, "endpoints": [value]})
            )?
        );
    } else {
        print_report("endpoint", &report, mode);
    }
    if ok {
        Ok(())
    } else {
        Err(CliFailure::Other(anyhow::anyhow!(
            "the endpoint cannot serve the `{}` scoring mode",
            mode_name(mode)
        )))
    }
}

/// A check's value: `-` when the probe did not run (an earlier failure says why).
fn check_text(report: &DoctorReport, capability: Capability) -> &'static str {
    match report.check(capability) {
        None => "-",
        Some(Check::Supported) => "yes",
        Some(Check::Degraded { .. }) => "ignored",
        Some(Check::Missing { .. }) => "no",
        Some(Check::Unknown { .. }) => "?",
    }
}

fn print_report(role: &str, report: &DoctorReport, mode: ScoringMode) {
    println!("{role}: {} (model {})", report.endpoint, report.model);
    let listed = if report.reachable && !report.models_listed.is_empty() {
        format!("{} {:?}", yes_no(report.model_listed), report.models_listed)
    } else if report.reachable {
        yes_no(report.model_listed).to_string()
    } else {
        "-".to_string()
    };
    let rows = [
        ("reachable", yes_no(report.reachable).to_string()),
        ("model listed", listed),
        ("chat", check_text(report, Capability::Chat).to_string()),
        (
            "logprobs",
            check_text(report, Capability::Logprobs).to_string(),
        ),
        (
            "max top_logprobs",
            report
                .max_top_logprobs
                .map_or("-".into(), |top| top.to_string()),
        ),
        ("honours n", check_text(report, Capability::N).to_string()),
        (
            "continue_final_message",
            check_text(report, Capability::ContinueFinalMessage).to_string(),
        ),
        (
            "logprob_token_ids",
            match &report.yes_no_token_ids {
                Some(ids) if report.check(Capability::LogprobTokenIds).is_some() => format!(
                    "{} (Yes {:?}, No {:?} by /tokenize)",
                    check_text(report, Capability::LogprobTokenIds),
                    ids.yes,
                    ids.no
                ),
                _ => check_text(report, Capability::LogprobTokenIds).to_string(),
            },
        ),
        (
            "median latency",
            report
                .median_latency_ms
                .map_or("-".into(), |ms| format!("{ms:.0} ms")),
        ),
        (
            "can serve scoring mode",
            format!("{} ({})", yes_no(report.can_serve(mode)), mode_name(mode)),
        ),
    ];
    for (name, value) in rows {
        println!("  {name:<24} {value}");
    }
    for problem in &report.problems {
        println!("  ! {problem}");
    }
}
