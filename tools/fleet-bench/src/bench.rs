//! What every benchmark shares: the grsu binary, the world the fleet knows, the dataset, the
//! paper's setting, the folders; fleets; and arithmetic on fleet statistics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use sim_vllm::{spawn_fleet, CapacityConfig, Fleet, FleetConfig, ReplicaStats, Workload, World};

use crate::grsu_config::{DataSpec, PaperConfig, CRS_MODEL, USER_MODEL};
use crate::table::Table;

/// The shared context of the benchmarks.
pub struct Bench {
    pub grsu: PathBuf,
    pub world: Arc<World>,
    pub data: DataSpec,
    pub paper: PaperConfig,
    /// Scratch folder: configs, grsu outputs, logs.
    pub work: PathBuf,
    /// Where the tables are written.
    pub out: PathBuf,
    /// The longest a grsu run may take before it is killed.
    pub run_timeout: std::time::Duration,
}

impl Bench {
    /// A fleet config over the bench's world serving both model names, with `replicas` replicas.
    pub fn fleet_config(&self, replicas: usize) -> FleetConfig {
        let mut config = FleetConfig::new(self.world.clone());
        config.replicas = replicas;
        config.served_model_names = vec![CRS_MODEL.into(), USER_MODEL.into()];
        config
    }

    pub async fn spawn(&self, config: FleetConfig) -> anyhow::Result<Fleet> {
        spawn_fleet(config).await.context("starting the fleet")
    }

    /// A fresh, empty folder `<work>/<name>`.
    pub fn folder(&self, name: &str) -> anyhow::Result<PathBuf> {
        let folder = self.work.join(name);
        if folder.exists() {
            std::fs::remove_dir_all(&folder)
                .with_context(|| format!("clearing {}", folder.display()))?;
        }
        std::fs::create_dir_all(&folder)?;
        Ok(folder)
    }

    /// Writes `<out>/<name>.md` (the tables) and `<out>/<name>.json` (the tables and `details`).
    pub fn write_result(
        &self,
        name: &str,
        tables: &[Table],
        details: &impl Serialize,
    ) -> anyhow::Result<String> {
        std::fs::create_dir_all(&self.out)?;
        let markdown: String = tables
            .iter()
            .map(Table::markdown)
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(self.out.join(format!("{name}.md")), &markdown)?;
        let json = serde_json::json!({ "tables": tables, "details": details });
        std::fs::write(
            self.out.join(format!("{name}.json")),
            serde_json::to_string_pretty(&json)?,
        )?;
        Ok(markdown)
    }
}

/// `later − earlier` for a fleet total: counters subtracted, the window's simulated length as
/// `elapsed_s`, rates recomputed over the window.
pub fn window(later: &ReplicaStats, earlier: &ReplicaStats) -> ReplicaStats {
    let mut stats = later.clone();
    stats.elapsed_s = later.elapsed_s - earlier.elapsed_s;
    stats.requests -= earlier.requests;
    stats.served -= earlier.served;
    stats.rejected -= earlier.rejected;
    stats.unknown_conversations -= earlier.unknown_conversations;
    stats.sequences -= earlier.sequences;
    stats.prompt_tokens -= earlier.prompt_tokens;
    stats.cached_tokens -= earlier.cached_tokens;
    stats.completion_tokens -= earlier.completion_tokens;
    stats.prefill_s -= earlier.prefill_s;
    stats.slot_s -= earlier.slot_s;
    stats.busy_s -= earlier.busy_s;
    stats.queue_wait_s -= earlier.queue_wait_s;
    stats.by_kind.crs -= earlier.by_kind.crs;
    stats.by_kind.critique -= earlier.by_kind.critique;
    stats.by_kind.score -= earlier.by_kind.score;
    stats.by_kind.other -= earlier.by_kind.other;
    stats.prefix_cache_hit_rate =
        crate::table::ratio(stats.cached_tokens as f64, stats.prompt_tokens as f64);
    stats.utilisation = crate::table::ratio(
        stats.slot_s,
        stats.max_running_sequences as f64 * stats.elapsed_s,
    );
    stats
}

/// Replica-seconds a saturated replica of `capacity` needs to serve the work counted in `stats`:
/// the capacity model's measure of GPU work (prefill and decode together, see
/// [`sim_vllm::capacity`]).
pub fn modelled_replica_seconds(capacity: &CapacityConfig, stats: &ReplicaStats) -> f64 {
    let served = capacity.capacity(&Workload::measured(stats));
    crate::table::ratio(stats.served as f64, served.requests_per_s)
}

/// A path made absolute against the current folder (grsu resolves config paths against the
/// config's folder, which is elsewhere).
pub fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// The machine, for the tables' headers.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub memory_gib: f64,
    pub grsu: String,
}

impl Machine {
    pub fn read(grsu: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name")
                    .and_then(|rest| rest.split_once(':'))
                    .map(|(_, name)| name.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let memory_kb = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|line| {
                line.strip_prefix("MemTotal:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(0.0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            model,
            memory_gib: memory_kb / 1024.0 / 1024.0,
            grsu: grsu.display().to_string(),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "Machine: {} CPUs (nproc), {}, {:.0} GiB; the fleet simulation runs in the harness process on the same CPUs as grsu.",
            self.cpus, self.model, self.memory_gib
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_subtract_counters_and_recompute_rates() {
        let earlier = ReplicaStats {
            max_running_sequences: 4,
            elapsed_s: 10.0,
            served: 10,
            prompt_tokens: 100,
            cached_tokens: 50,
            slot_s: 20.0,
            ..ReplicaStats::default()
        };
        let later = ReplicaStats {
            elapsed_s: 20.0,
            served: 30,
            prompt_tokens: 300,
            cached_tokens: 200,
            slot_s: 56.0,
            ..earlier.clone()
        };
        let delta = window(&later, &earlier);
        assert_eq!((delta.served, delta.prompt_tokens), (20, 200));
        assert!((delta.prefix_cache_hit_rate - 0.75).abs() < 1e-12);
        assert!((delta.utilisation - 0.9).abs() < 1e-12);
    }
}
