//! grsu-fuzz: a structure-aware mutation fuzzer for every grsu parser that reads outside data, on
//! the stable toolchain (the coverage-guided fuzzers need nightly).
//!
//! Each [`Target`] feeds bytes to one parser's real entry point and says whether the input was
//! accepted or rejected; a rejection must be an error that names where (the file, the line, the
//! field or key). The [`runner`] runs the seeds, then mutations of them ([`mutate`]), each under
//! `catch_unwind`, with a watchdog for inputs that run longer than [`runner::HANG_LIMIT`]; the
//! binary installs the counting allocator ([`alloc`]) that turns an unbounded allocation into a
//! clear failure.
//!
//! ## Layout
//!
//! - [`targets`]: one target per parser, with its seeds (small slices of the real files).
//! - [`mutate`]: byte-level and structure-aware (JSON, JSON lines, TOML, TSV) mutations.
//! - [`runner`]: running a target, catching panics and hangs, writing crash files.
//! - [`alloc`]: the counting allocator.
//! - [`seeds`]: reading slices of the shared data, fixtures and configs.
//! - [`rng`]: the deterministic PRNG.

pub mod alloc;
pub mod mutate;
pub mod rng;
pub mod runner;
pub mod seeds;
pub mod targets;

pub use mutate::Structure;

/// What a parser did with an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Parsed (and the result met the target's checks).
    Accepted,
    /// Rejected with an error that says where.
    Rejected,
    /// Rejected with an error that does not say where, or accepted with a result that breaks an
    /// invariant: the message says which.
    BadError(String),
}

/// One parser under test.
pub trait Target: Send + Sync {
    /// The name used by `--target`.
    fn name(&self) -> &'static str;
    /// The shape of its inputs, for the structure-aware mutations.
    fn structure(&self) -> Structure;
    /// The seeds (read from the real files where there are some).
    fn seeds(&self, files: &seeds::SeedFiles) -> Vec<Vec<u8>>;
    /// Runs one input.
    fn run(&self, input: &[u8]) -> Verdict;
    /// The longest input to try.
    fn max_len(&self) -> usize {
        64 * 1024
    }
}
