//! The model work a search command asks for: each [`Command`] of a search strategy turned into the
//! job of the policy that answers it (the CRS's [`RecommendJob`], the simulated user's
//! [`CritiqueJob`] or [`ScoreJob`]), with the sample, the run seed and the paying unit. The engine
//! (which runs jobs through its actors) and the explorer's replay (which runs them against the
//! response cache) build them here, so that both ask exactly the same requests.

use std::sync::Arc;

use crate::crs::RecommendJob;
use crate::data::Sample;
use crate::search::{Command, SearchTree};
use crate::store::Origin;
use crate::user::{CritiqueJob, ScoreJob};

/// The job of one command.
pub enum Job {
    Recommend(RecommendJob),
    Critique(CritiqueJob),
    Score(ScoreJob),
}

/// The job that answers `command` for `sample` under `run_seed`, paid for by `origin`; node lists
/// are read from `tree` (the strategy's tree when the command was issued).
pub fn job_of(
    command: Command,
    sample: &Arc<Sample>,
    run_seed: u64,
    origin: Origin,
    tree: &SearchTree,
) -> Job {
    let items = |node| tree.node(node).items.clone();
    match command {
        Command::Recommend {
            request,
            parent,
            feedback,
            lists,
            temperature,
        } => Job::Recommend(RecommendJob {
            sample: sample.clone(),
            run_seed,
            origin,
            key: request,
            previous: parent.map(items),
            feedback,
            lists,
            temperature,
        }),
        Command::Critique {
            request,
            node,
            count,
        } => Job::Critique(CritiqueJob {
            sample: sample.clone(),
            run_seed,
            origin,
            key: request,
            items: items(node),
            count,
        }),
        Command::Score { request, node } => Job::Score(ScoreJob {
            sample: sample.clone(),
            run_seed,
            origin,
            key: request,
            items: items(node),
        }),
    }
}
