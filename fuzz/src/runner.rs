//! Running a target: seeds first, then mutated inputs, each under `catch_unwind`, watched for
//! hangs; a crash (panic, hang, an error that does not say where) is written to the crash folder
//! with the command that replays it.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::mutate::mutate;
use crate::rng::{fnv1a, Rng};
use crate::{Target, Verdict};

/// How long one input may run before it counts as a hang.
pub const HANG_LIMIT: Duration = Duration::from_secs(2);

/// How a target is run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Inputs to run (the seeds count).
    pub inputs: u64,
    /// Stop after this long, whatever `inputs` says.
    pub seconds: Option<f64>,
    /// The PRNG seed: the same seed gives the same inputs.
    pub seed: u64,
    /// Where crash files are written.
    pub crash_dir: PathBuf,
    /// An input running longer than this is a hang.
    pub hang_limit: Duration,
    /// A hang still running this long after the limit stops the process (a loop that never ends).
    pub hang_exit_after: Duration,
    /// Stop the target at its first crash.
    pub stop_at_first_crash: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            inputs: 10_000,
            seconds: None,
            seed: 0,
            crash_dir: default_crash_dir(),
            hang_limit: HANG_LIMIT,
            hang_exit_after: Duration::from_secs(30),
            stop_at_first_crash: false,
        }
    }
}

/// `fuzz/crashes` of the repository.
pub fn default_crash_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes")
}

/// What went wrong with one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKind {
    Panic,
    Hang,
    /// An error that does not name the file, line or field.
    BadError,
}

impl CrashKind {
    pub fn name(self) -> &'static str {
        match self {
            CrashKind::Panic => "panic",
            CrashKind::Hang => "hang",
            CrashKind::BadError => "bad-error",
        }
    }
}

/// One crash: what, the message, and the file holding the input.
#[derive(Debug, Clone)]
pub struct Crash {
    pub kind: CrashKind,
    pub message: String,
    pub file: Option<PathBuf>,
}

/// What a target's run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub target: String,
    pub inputs: u64,
    pub seconds: f64,
    /// Inputs the parser accepted (the rest were rejected with an error).
    pub accepted: u64,
    pub panics: u64,
    pub hangs: u64,
    pub bad_errors: u64,
    /// The slowest input, in seconds.
    pub slowest: f64,
    /// The most memory one input took while it ran (bytes over what was live before it), where
    /// the counting allocator is installed.
    pub largest_bytes: usize,
    pub crashes: Vec<Crash>,
}

impl Report {
    pub fn crashed(&self) -> bool {
        self.panics + self.hangs + self.bad_errors > 0
    }
}

/// Writes an input as `<dir>/<target>-<hash>`.
pub fn write_crash(dir: &Path, target: &str, input: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{target}-{:016x}", fnv1a(input)));
    std::fs::write(&path, input)?;
    Ok(path)
}

/// The command that runs a crash file again.
pub fn replay_command(target: &str, file: &Path) -> String {
    format!(
        "cargo run -p grsu-fuzz --release -- --target {target} --replay {}",
        file.display()
    )
}

/// The message of the last panic, captured by the hook [`quiet_panics`] installs.
static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the panic hook with one that records the message and location instead of printing
/// them (a fuzz run would print thousands).
pub fn quiet_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(install_quiet_hook);
}

thread_local! {
    /// Whether this thread is running a target's input (whose panics are recorded, not printed).
    static IN_TARGET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn install_quiet_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_TARGET.with(std::cell::Cell::get) {
            return previous(info);
        }
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let location = info
            .location()
            .map(|location| format!(" at {}:{}", location.file(), location.line()))
            .unwrap_or_default();
        *PANIC_MESSAGE.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(format!("{payload}{location}"));
    }));
}

fn take_panic_message() -> String {
    PANIC_MESSAGE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_else(|| "(panic message not captured)".into())
}

/// The state the watchdog thread reads: which input is running and since when.
struct Watch {
    /// Counts inputs; odd while one runs.
    generation: AtomicU64,
    started_ns: AtomicU64,
    /// The generation the watchdog flagged as a hang.
    flagged: AtomicU64,
    stop: AtomicBool,
    origin: Instant,
    input: Mutex<Vec<u8>>,
}

impl Watch {
    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

fn spawn_watchdog(
    watch: Arc<Watch>,
    target: String,
    options: RunOptions,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let tick =
            (options.hang_limit / 10).clamp(Duration::from_millis(5), Duration::from_millis(100));
        while !watch.stop.load(Ordering::Relaxed) {
            std::thread::sleep(tick);
            let generation = watch.generation.load(Ordering::Acquire);
            if generation.is_multiple_of(2) {
                continue;
            }
            let elapsed = Duration::from_nanos(
                watch
                    .now_ns()
                    .saturating_sub(watch.started_ns.load(Ordering::Acquire)),
            );
            if elapsed > options.hang_limit && watch.flagged.load(Ordering::Acquire) != generation {
                watch.flagged.store(generation, Ordering::Release);
                let input = watch
                    .input
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                match write_crash(&options.crash_dir, &target, &input) {
                    Ok(path) => eprintln!(
                        "hang: target {target}: an input has run for over {:.1} s; written to {}\nreplay: {}",
                        options.hang_limit.as_secs_f64(),
                        path.display(),
                        replay_command(&target, &path)
                    ),
                    Err(error) => eprintln!("hang: target {target}: cannot write the input: {error}"),
                }
            }
            if elapsed > options.hang_limit + options.hang_exit_after
                && watch.generation.load(Ordering::Acquire) == generation
            {
                eprintln!(
                    "hang: target {target}: the input has not finished after {:.0} s; stopping",
                    elapsed.as_secs_f64()
                );
                std::process::exit(70);
            }
        }
    })
}

/// Runs one input through a target, catching a panic.
pub fn run_one(target: &dyn Target, input: &[u8]) -> Result<Verdict, String> {
    IN_TARGET.with(|flag| flag.set(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| target.run(input)));
    IN_TARGET.with(|flag| flag.set(false));
    match result {
        Ok(verdict) => Ok(verdict),
        Err(_) => Err(take_panic_message()),
    }
}

/// Runs a target: every seed as it is, then mutated inputs, until `options.inputs` or
/// `options.seconds`.
pub fn run_target(target: &dyn Target, seeds: &[Vec<u8>], options: &RunOptions) -> Report {
    let name = target.name().to_string();
    let watch = Arc::new(Watch {
        generation: AtomicU64::new(0),
        started_ns: AtomicU64::new(0),
        flagged: AtomicU64::new(u64::MAX),
        stop: AtomicBool::new(false),
        origin: Instant::now(),
        input: Mutex::new(Vec::new()),
    });
    let watchdog = spawn_watchdog(watch.clone(), name.clone(), options.clone());
    let mut rng = Rng::new(options.seed ^ crate::rng::fnv1a(name.as_bytes()));
    let seeds: Vec<Vec<u8>> = if seeds.is_empty() {
        vec![Vec::new()]
    } else {
        seeds.to_vec()
    };
    // Inputs the parser accepted are mutated further (they reach deeper checks).
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut report = Report {
        target: name.clone(),
        ..Report::default()
    };
    let started = Instant::now();
    let mut input = Vec::new();
    let max_len = target.max_len();
    for index in 0..options.inputs {
        if let Some(limit) = options.seconds {
            if index % 64 == 0 && started.elapsed().as_secs_f64() > limit {
                break;
            }
        }
        if (index as usize) < seeds.len() {
            input.clone_from(&seeds[index as usize]);
        } else {
            let base = if !pool.is_empty() && rng.one_in(3) {
                rng.pick(&pool)
            } else {
                rng.pick(&seeds)
            };
            input.clone_from(base);
            mutate(&mut rng, &mut input, &seeds, target.structure(), max_len);
        }
        watch
            .input
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone_from(&input);
        crate::alloc::set_current(&name, &input, &options.crash_dir);
        watch.started_ns.store(watch.now_ns(), Ordering::Release);
        let generation = watch.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let live_before = crate::alloc::live_bytes();
        crate::alloc::reset_peak();
        let one = Instant::now();
        let result = run_one(target, &input);
        let took = one.elapsed().as_secs_f64();
        report.largest_bytes = report
            .largest_bytes
            .max(crate::alloc::peak_bytes().saturating_sub(live_before));
        watch.generation.fetch_add(1, Ordering::AcqRel);
        report.inputs += 1;
        report.slowest = report.slowest.max(took);
        let mut crash = match result {
            Ok(Verdict::Accepted) => {
                if pool.len() < 256 {
                    pool.push(input.clone());
                } else {
                    let at = rng.below(pool.len());
                    pool[at].clone_from(&input);
                }
                report.accepted += 1;
                None
            }
            Ok(Verdict::Rejected) => None,
            Ok(Verdict::BadError(message)) => Some((CrashKind::BadError, message)),
            Err(message) => Some((CrashKind::Panic, message)),
        };
        if crash.is_none()
            && (watch.flagged.load(Ordering::Acquire) == generation
                || Duration::from_secs_f64(took) > options.hang_limit)
        {
            crash = Some((CrashKind::Hang, format!("the input took {took:.2} s")));
        }
        if let Some((kind, message)) = crash {
            match kind {
                CrashKind::Panic => report.panics += 1,
                CrashKind::Hang => report.hangs += 1,
                CrashKind::BadError => report.bad_errors += 1,
            }
            let file = write_crash(&options.crash_dir, &name, &input).ok();
            if report.crashes.len() < 20 {
                report.crashes.push(Crash {
                    kind,
                    message,
                    file,
                });
            }
            if options.stop_at_first_crash {
                break;
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    watch.stop.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    report
}
