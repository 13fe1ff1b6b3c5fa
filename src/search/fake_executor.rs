//! A deterministic stand-in for the BeamActor in tests: answers commands from fixed functions of
//! their request keys, in a chosen order, and logs every command.
//!
//! Lists are drawn from a small pool of titles by hashing the request path (which names the parent
//! node), so items recur across nodes as real CRS answers do; an item's score is a fixed function
//! of its title, so rewards differ between lists and the beam has something to choose.

use super::strategy::{Command, Event, RequestKey, SearchStrategy};
use crate::random::SplitMix64;

/// Items per list.
pub(crate) const LIST_LENGTH: usize = 5;
/// Distinct titles the fake CRS knows.
const POOL: u64 = 40;

/// The order in which outstanding commands are answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Order {
    /// Oldest first, as issued.
    Fifo,
    /// Newest first.
    Lifo,
    /// Any outstanding command, chosen with this seed.
    Shuffled(u64),
}

/// FNV-1a, to derive answers from strings without depending on std's randomised hasher.
pub(crate) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The score the fake user gives a title.
pub(crate) fn score_of(title: &str) -> f64 {
    (fnv(title) % 1000) as f64 / 1000.0
}

/// The fake CRS's list number `list` for a request.
fn list_for(request: &RequestKey, list: u32) -> Vec<String> {
    (0..LIST_LENGTH)
        .map(|position| {
            let hash = fnv(&format!("{}#{list}#{position}", request.path()));
            format!("Movie {} (19{:02})", hash % POOL, hash % POOL)
        })
        .collect()
}

/// Runs `strategy` to the end, answering in `order`; requests for which `fails` is true get
/// [`Event::Failed`]. Returns every command issued, in issue order.
pub(crate) fn run(
    strategy: &mut dyn SearchStrategy,
    order: Order,
    fails: impl Fn(&RequestKey) -> bool,
) -> Vec<Command> {
    let mut random = match order {
        Order::Shuffled(seed) => SplitMix64::new(seed),
        _ => SplitMix64::new(0),
    };
    let mut outstanding = strategy.start();
    let mut log = outstanding.clone();
    while !outstanding.is_empty() {
        let next = match order {
            Order::Fifo => 0,
            Order::Lifo => outstanding.len() - 1,
            Order::Shuffled(_) => random.below_multiply_shift(outstanding.len() as u64) as usize,
        };
        let command = outstanding.remove(next);
        let event = answer(strategy, &command, &fails);
        let issued = strategy.on_event(event);
        log.extend(issued.iter().cloned());
        outstanding.extend(issued);
    }
    assert!(
        strategy.is_finished(),
        "the strategy stopped asking but did not finish"
    );
    log
}

fn answer(
    strategy: &dyn SearchStrategy,
    command: &Command,
    fails: &impl Fn(&RequestKey) -> bool,
) -> Event {
    let request = command.request().clone();
    if fails(&request) {
        return Event::Failed { request };
    }
    match command {
        Command::Recommend { lists, .. } => Event::Recommended {
            lists: (0..*lists).map(|list| list_for(&request, list)).collect(),
            request,
        },
        Command::Critique { count, .. } => Event::Critiqued {
            critiques: (0..*count)
                .map(|index| format!("critique {index} of {}", request.node))
                .collect(),
            request,
        },
        Command::Score { node, .. } => Event::Scored {
            scores: strategy
                .tree()
                .node(*node)
                .items
                .iter()
                .map(|title| score_of(title))
                .collect(),
            request,
        },
    }
}
