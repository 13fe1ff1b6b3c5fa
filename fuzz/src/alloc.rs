//! A counting global allocator that turns an unbounded allocation into a clear failure.
//!
//! A binary installs it with `#[global_allocator] static GUARD: AllocGuard = AllocGuard;`. Every
//! allocation is counted; one larger than [`SINGLE_LIMIT`] or one that takes the live total over
//! [`LIVE_LIMIT`] prints which target and input caused it, writes that input as a crash file (see
//! [`set_current`]) and aborts: a parser must bound what it allocates from its input, and the
//! operating system's OOM killer would say nothing about which input it was.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The largest single allocation a parser may make: 256 MiB.
pub const SINGLE_LIMIT: usize = 256 << 20;
/// The most memory the fuzzer may hold at once: 2 GiB.
pub const LIVE_LIMIT: usize = 2 << 30;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static REPORTING: AtomicBool = AtomicBool::new(false);

/// What is being run, for the report of an allocation over the limits.
struct Current {
    target: String,
    input: Vec<u8>,
    crash_dir: PathBuf,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

/// Records the input about to run (its target and where crash files go).
pub fn set_current(target: &str, input: &[u8], crash_dir: &std::path::Path) {
    let mut current = CURRENT.lock().unwrap_or_else(|poison| poison.into_inner());
    match current.as_mut() {
        Some(current) if current.target == target => {
            current.input.clear();
            current.input.extend_from_slice(input);
        }
        _ => {
            *current = Some(Current {
                target: target.to_string(),
                input: input.to_vec(),
                crash_dir: crash_dir.to_path_buf(),
            })
        }
    }
}

/// Bytes allocated and not yet freed.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The most bytes live at once since the start or the last [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts measuring the peak again from what is live now (before an input runs).
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// The counting allocator (over the system allocator).
pub struct AllocGuard;

fn over_limit(size: usize) -> ! {
    // Allocations made while reporting go through unchecked.
    REPORTING.store(true, Ordering::SeqCst);
    let live = LIVE.load(Ordering::Relaxed);
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "\nunbounded allocation: one allocation of {size} bytes with {live} bytes live (limits: \
         {SINGLE_LIMIT} bytes at once, {LIVE_LIMIT} bytes live)"
    );
    if let Ok(guard) = CURRENT.try_lock() {
        if let Some(current) = guard.as_ref() {
            match crate::runner::write_crash(&current.crash_dir, &current.target, &current.input) {
                Ok(path) => {
                    let _ = writeln!(
                        stderr,
                        "target {}: input written to {}\nreplay: {}",
                        current.target,
                        path.display(),
                        crate::runner::replay_command(&current.target, &path)
                    );
                }
                Err(error) => {
                    let _ = writeln!(
                        stderr,
                        "target {}: cannot write the input: {error}",
                        current.target
                    );
                }
            }
        }
    }
    std::process::abort()
}

fn count(size: usize) {
    if REPORTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(size, Ordering::Relaxed);
        return;
    }
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    if size > SINGLE_LIMIT || live > LIVE_LIMIT {
        over_limit(size);
    }
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the same layout and pointer; the counters are
// atomics and the report path only runs before `abort`.
unsafe impl GlobalAlloc for AllocGuard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            count(new_size - layout.size());
            if new_size > SINGLE_LIMIT && !REPORTING.load(Ordering::Relaxed) {
                over_limit(new_size);
            }
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
