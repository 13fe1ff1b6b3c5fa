//! `grsu probe order <output> --cell C [--lists N] [--seed S] [--json]`: how much the simulated
//! user's scores move when only what should not matter changes. It takes N stored lists (scored
//! nodes) of cell C's records and, with list-context scoring, scores each again with its items
//! reversed and shuffled (seeded), the scores mapped back to the items; with item-context
//! scoring, asks each item's score again with another request seed. The statistics are
//! [`grsu::probe::order`]'s. It costs model calls (opt-in): asked through the store's response
//! cache, so a second identical probe replays every answer and costs none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use clap::{Args, Subcommand};
use futures_util::stream::{self, StreamExt};
use grsu::catalog::Catalog;
use grsu::config::{RunConfig, ScoreContext, Scorer};
use grsu::data::Sample;
use grsu::model::ask::Ask;
use grsu::model::build::BackendBuilder;
use grsu::model::cached::{CachedAnswer, CachedBackend};
use grsu::model::context::RequestContext;
use grsu::model::role::Role;
use grsu::model::{ChatRequest, ChatResponse, ModelError};
use grsu::probe::order::{self, ConditionSummary, ListProbe};
use grsu::random::SplitMix64;
use grsu::report::diagnostics::measures::Stat;
use grsu::search::{RequestKey, RequestKind};
use grsu::seeds::request_seed;
use grsu::store::{origin_of, SampleRecord, Store};
use grsu::user::{ScoreJob, SimulatedUser};
use grsu_actors::engine::store_path;
use serde::Serialize;

use super::runtime::runtime;
use super::CliFailure;

/// What is added to a record's run seed for the item-context re-ask.
pub const RESEED_OFFSET: u64 = 1_000_003;
/// The shuffle seed without `--seed`.
const DEFAULT_SHUFFLE_SEED: u64 = 0;
/// Lists re-scored at a time (each asks its items at once; the endpoint pool caps requests).
const LISTS_IN_FLIGHT: usize = 16;

#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// Order sensitivity and test-retest stability of the simulated user's scores: N stored
    /// lists of a cell re-scored reversed and shuffled (list-context scoring) or with another
    /// request seed (item-context scoring). Costs model calls.
    Order(OrderArguments),
}

#[derive(Debug, Args)]
pub struct OrderArguments {
    /// The sweep's output folder (its `[run] output`).
    output: PathBuf,
    /// The cell whose stored lists are probed (a name `grsu status` lists; names that start
    /// with `-`, such as `- critiquing`, are taken as they are).
    #[arg(long, allow_hyphen_values = true)]
    cell: String,
    /// How many stored lists to probe.
    #[arg(long, default_value_t = 20)]
    lists: usize,
    /// Probe a seeded sample of the stored lists (default: the first N in record order); also
    /// seeds the shuffles.
    #[arg(long)]
    seed: Option<u64>,
    /// Print JSON instead of Markdown tables.
    #[arg(long)]
    json: bool,
}

pub fn run(command: ProbeCommand) -> Result<(), CliFailure> {
    match command {
        ProbeCommand::Order(arguments) => order_probe(arguments),
    }
}

/// One condition's results.
#[derive(Debug, Serialize)]
struct Condition {
    name: &'static str,
    description: String,
    #[serde(flatten)]
    summary: ConditionSummary,
}

/// One probed list: where it is stored, its items and scores, and the new scores per condition
/// (in the stored item order).
#[derive(Debug, Serialize)]
struct ProbedList {
    sample: String,
    seed: u64,
    node: String,
    items: Vec<String>,
    original: Vec<f64>,
    rescored: BTreeMap<&'static str, Vec<f64>>,
    /// The presented order per condition (`presented[p]`: the stored index of the item shown at
    /// position `p`).
    presented: BTreeMap<&'static str, Vec<usize>>,
}

/// What `grsu probe order` reports (and writes to `<output>/probe-order.json`).
#[derive(Debug, Serialize)]
struct OrderProbe {
    cell: String,
    score_context: ScoreContext,
    scoring_mode: grsu::model::scoring::ScoringMode,
    /// `first` (in record order) or `seeded`.
    selection: &'static str,
    seed: Option<u64>,
    lists_stored: usize,
    lists_probed: usize,
    /// Requests a model answered now (the rest came from the response cache).
    model_calls: u64,
    requests: u64,
    cache_hits: u64,
    /// Items whose new score could not be read (scored 0, as in a run).
    unscored_items: u64,
    conditions: Vec<Condition>,
    notes: Vec<String>,
    lists: Vec<ProbedList>,
}

/// A stored list to probe.
struct StoredList<'a> {
    record: &'a SampleRecord,
    node: String,
    items: Vec<String>,
    scores: Vec<f64>,
}

/// The store's cache in front of the user model, counting what a model answered.
struct Counting {
    backend: CachedBackend,
    calls: AtomicU64,
    hits: AtomicU64,
}

#[async_trait]
impl Ask for Counting {
    async fn ask(
        &self,
        request: ChatRequest,
        context: RequestContext,
    ) -> Result<CachedAnswer<ChatResponse>, ModelError> {
        let answer = self.backend.chat(&request, &context).await?;
        let counter = if answer.cached {
            &self.hits
        } else {
            &self.calls
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(answer)
    }
}

fn open_store(output: &Path) -> Result<Store, CliFailure> {
    let path = store_path(output);
    if !path.is_dir() {
        return Err(CliFailure::Config(format!(
            "{} holds no sweep (no store at {})",
            output.display(),
            path.display()
        )));
    }
    Store::open(&path).map_err(|error| {
        CliFailure::Config(format!(
            "{error} (is a `grsu run` still writing it? probe the sweep once that run has \
             finished or been stopped)"
        ))
    })
}

fn order_probe(arguments: OrderArguments) -> Result<(), CliFailure> {
    let other = |error: grsu::store::StoreError| CliFailure::Other(error.into());
    let output = &arguments.output;
    let store = open_store(output)?;
    let manifest = store.manifest().map_err(other)?.ok_or_else(|| {
        CliFailure::Config(format!("{}: no sweep was started there", output.display()))
    })?;
    let cell = manifest.cell(&arguments.cell).ok_or_else(|| {
        let names: Vec<String> = manifest
            .cells
            .iter()
            .map(|cell| format!("`{}`", cell.name))
            .collect();
        CliFailure::Config(format!(
            "{}: no cell `{}`; the sweep's cells: {}",
            output.display(),
            arguments.cell,
            names.join(", ")
        ))
    })?;
    let config: RunConfig = serde_json::from_value(cell.config.clone())?;
    if !config.user.scoring {
        return Err(CliFailure::Config(format!(
            "cell `{}` does not score items ([user] scoring = false): it has no scores to probe",
            cell.name
        )));
    }
    if config.user.scorer == Scorer::Discriminative {
        return Err(CliFailure::Config(format!(
            "cell `{}` scores with the discriminative scorer ([user] scorer = \"discriminative\"); \
             the probe re-asks the generative simulated user only",
            cell.name
        )));
    }
    if arguments.lists == 0 {
        return Err(CliFailure::Config("--lists must be at least 1".into()));
    }

    let records = store.records().map_err(other)?;
    let cell_records = manifest.cell_records(cell, &records);
    let deepest = cell.depth.unwrap_or(u32::MAX);
    let mut without_history = 0;
    let mut stored: Vec<StoredList> = Vec::new();
    for record in &cell_records {
        if record.history.is_empty() {
            // Stored before histories were kept: the prompts cannot be rebuilt.
            without_history += 1;
            continue;
        }
        for node in record.tree.nodes() {
            match &node.scores {
                Some(scores)
                    if node.depth <= deepest
                        && !node.items.is_empty()
                        && scores.len() == node.items.len() =>
                {
                    stored.push(StoredList {
                        record,
                        node: node.path.clone(),
                        items: node.items.clone(),
                        scores: scores.clone(),
                    });
                }
                _ => {}
            }
        }
    }
    if stored.is_empty() {
        return Err(CliFailure::Config(format!(
            "cell `{}` has no stored scored lists in {} ({} records{}): run the sweep first",
            cell.name,
            output.display(),
            cell_records.len(),
            if without_history > 0 {
                format!(", {without_history} stored without their conversation")
            } else {
                String::new()
            }
        )));
    }
    let chosen: Vec<&StoredList> = match arguments.seed {
        None => stored.iter().take(arguments.lists).collect(),
        Some(seed) => SplitMix64::new(seed)
            .distinct_below(stored.len() as u128, arguments.lists)
            .into_iter()
            .map(|index| &stored[index as usize])
            .collect(),
    };

    let catalog = Arc::new(Catalog::load(
        &config.data.catalog,
        config.data.catalog_format,
    )?);
    let user = SimulatedUser::for_config(&config, catalog, None);
    let cache = store.response_cache().map_err(other)?;
    let shuffle_seed = arguments.seed.unwrap_or(DEFAULT_SHUFFLE_SEED);
    let list_context = config.user.score_context == ScoreContext::List;

    let (model, results) = runtime()?.block_on(async {
        let mut builder = BackendBuilder::new(grsu_embedded::loader());
        let built = builder
            .build(Role::User, config.role(Role::User))
            .await
            .map_err(|error| CliFailure::Other(anyhow::anyhow!("the user model: {error}")))?;
        let model = Counting {
            backend: CachedBackend::shared(built.backend.clone(), cache),
            calls: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        };
        let conditions: Vec<&'static str> = if list_context {
            vec!["reversed", "shuffled"]
        } else {
            vec!["reseeded"]
        };
        let mut results = Vec::new();
        // Condition by condition, so that a request two conditions share (a list of two
        // reversed is also its shuffle) is asked once and then replayed.
        for &condition in &conditions {
            let outcomes: Vec<_> = stream::iter(chosen.iter().map(|list| {
                let presented = match condition {
                    "reversed" => order::reversed(list.items.len()),
                    "shuffled" => order::shuffled(
                        list.items.len(),
                        request_seed(shuffle_seed, &list.record.sample, &list.node, 0),
                    ),
                    _ => (0..list.items.len()).collect(),
                };
                let job = ScoreJob {
                    sample: Arc::new(sample_of(list.record)),
                    run_seed: if condition == "reseeded" {
                        list.record.seed.wrapping_add(RESEED_OFFSET)
                    } else {
                        list.record.seed
                    },
                    origin: origin_of(
                        &format!("probe-order/{}", list.record.search),
                        list.record.seed,
                        &list.record.sample,
                    ),
                    key: RequestKey::new(RequestKind::Score, list.node.as_str(), 0),
                    items: presented
                        .iter()
                        .map(|&index| list.items[index].clone())
                        .collect(),
                };
                let (user, model) = (&user, &model);
                async move {
                    let outcome = if condition == "reseeded" {
                        user.score_seeded(model, job).await
                    } else {
                        user.score(model, job).await
                    };
                    (presented, outcome)
                }
            }))
            .buffered(LISTS_IN_FLIGHT)
            .collect()
            .await;
            results.push((condition, outcomes));
        }
        Ok::<_, CliFailure>((model, results))
    })?;

    let mut unscored_items = 0;
    let mut probed: Vec<ProbedList> = chosen
        .iter()
        .map(|list| ProbedList {
            sample: list.record.sample.clone(),
            seed: list.record.seed,
            node: list.node.clone(),
            items: list.items.clone(),
            original: list.scores.clone(),
            rescored: BTreeMap::new(),
            presented: BTreeMap::new(),
        })
        .collect();
    let mut conditions = Vec::new();
    for (condition, outcomes) in results {
        let mut probes = Vec::new();
        for ((presented, outcome), (list, entry)) in
            outcomes.into_iter().zip(chosen.iter().zip(&mut probed))
        {
            let scores = outcome.scores.map_err(|error| {
                CliFailure::Other(anyhow::anyhow!(
                    "scoring list {} of sample {} again ({condition}): {error}",
                    list.node,
                    list.record.sample
                ))
            })?;
            if scores.len() != list.items.len() {
                return Err(CliFailure::Other(anyhow::anyhow!(
                    "list {} of sample {}: {} of its {} items are in the catalog now",
                    list.node,
                    list.record.sample,
                    scores.len(),
                    list.items.len()
                )));
            }
            unscored_items += outcome.unscored;
            let probe = ListProbe::from_presented(list.scores.clone(), presented, &scores);
            entry.rescored.insert(condition, probe.rescored.clone());
            entry.presented.insert(condition, probe.presented.clone());
            probes.push(probe);
        }
        let description = match condition {
            "reversed" => "the items in reverse order".to_string(),
            "shuffled" => format!("the items shuffled (seed {shuffle_seed})"),
            _ => {
                format!("each item asked again with request seeds from run seed + {RESEED_OFFSET}")
            }
        };
        conditions.push(Condition {
            name: condition,
            description,
            summary: order::summarise(&probes, condition != "reseeded"),
        });
    }

    let (calls, hits) = (
        model.calls.load(Ordering::Relaxed),
        model.hits.load(Ordering::Relaxed),
    );
    let mut notes = Vec::new();
    if without_history > 0 {
        notes.push(format!(
            "{without_history} records were stored without their conversation and are left out"
        ));
    }
    if !list_context {
        if let Some(condition) = conditions.first() {
            if condition.summary.identical_lists == condition.summary.lists {
                notes.push(
                    "every re-asked score equals the stored one: scoring asks greedily \
                     (temperature 0), so a server that ignores the seed at temperature 0 answers \
                     the same; this measures test-retest stability of the server, not sampling \
                     noise"
                        .to_string(),
                );
            } else {
                notes.push(format!(
                    "{} of {} lists got exactly their stored scores (scoring is greedy, \
                     temperature 0: what moves is the server's nondeterminism)",
                    condition.summary.identical_lists, condition.summary.lists
                ));
            }
        }
    }
    if unscored_items > 0 {
        notes.push(format!(
            "{unscored_items} items had no readable Yes/No after every attempt and scored 0"
        ));
    }
    let report = OrderProbe {
        cell: cell.name.clone(),
        score_context: config.user.score_context,
        scoring_mode: config.user.scoring_mode,
        selection: if arguments.seed.is_some() {
            "seeded"
        } else {
            "first"
        },
        seed: arguments.seed,
        lists_stored: stored.len(),
        lists_probed: chosen.len(),
        model_calls: calls,
        requests: calls + hits,
        cache_hits: hits,
        unscored_items,
        conditions,
        notes,
        lists: probed,
    };
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(output.join("probe-order.json"), format!("{json}\n"))?;
    if arguments.json {
        println!("{json}");
    } else {
        println!("{}", markdown(&report));
    }
    eprintln!(
        "{} model calls ({} requests, {} answered from the cache); wrote {}",
        calls,
        calls + hits,
        hits,
        output.join("probe-order.json").display()
    );
    Ok(())
}

/// The stored sample a record was searched for.
fn sample_of(record: &SampleRecord) -> Sample {
    let (conversation, turn) = record
        .sample
        .rsplit_once(':')
        .unwrap_or((record.sample.as_str(), ""));
    Sample {
        id: record.sample.clone(),
        conversation: conversation.to_string(),
        turn: turn.to_string(),
        history: record.history.clone(),
        labels: record.labels.clone(),
    }
}

fn stat(value: &Stat) -> String {
    match value {
        Stat::Value(value) => format!("{value:.4}"),
        Stat::Undefined(reason) => format!("— ({reason})"),
    }
}

fn markdown(report: &OrderProbe) -> String {
    let context = match report.score_context {
        ScoreContext::List => "list-context scoring",
        ScoreContext::Item => "item-context scoring",
    };
    let selection = match report.seed {
        Some(seed) => format!("a seeded sample, seed {seed}"),
        None => "the first in record order".to_string(),
    };
    let mut text = format!(
        "## Order probe of cell `{}` ({context})\n\n{} of {} stored lists ({selection}); {} model \
         calls ({} requests, {} answered from the cache).\n",
        report.cell,
        report.lists_probed,
        report.lists_stored,
        report.model_calls,
        report.requests,
        report.cache_hits
    );
    for condition in &report.conditions {
        let s = &condition.summary;
        text.push_str(&format!(
            "\n### {}: {}\n\n| lists | items | mean abs diff | Spearman ρ per list (mean) | lists \
             with ρ | Spearman ρ pooled | top item changed | identical lists |\n|---:|---:|---:|\
             ---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} | {} / {} ({}) | {} |\n",
            condition.name,
            condition.description,
            s.lists,
            s.items,
            stat(&s.mean_abs_diff),
            stat(&s.spearman_mean),
            s.spearman_lists,
            stat(&s.spearman_pooled),
            s.top_changed,
            s.lists,
            stat(&s.top_changed_share),
            s.identical_lists
        ));
        if !s.positions.is_empty() {
            text.push_str(
                "\nMean score by position (before: the stored list; after: the item shown there \
                 now):\n\n| position | lists | before | after | after − before |\n|---:|---:|---:|\
                 ---:|---:|\n",
            );
            for at in &s.positions {
                text.push_str(&format!(
                    "| {} | {} | {:.4} | {:.4} | {:+.4} |\n",
                    at.position,
                    at.lists,
                    at.before,
                    at.after,
                    at.after - at.before
                ));
            }
        }
    }
    for note in &report.notes {
        text.push_str(&format!("\nNote: {note}\n"));
    }
    text
}
