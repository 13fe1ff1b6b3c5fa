//! Fault injection: what can go wrong with a replica, decided from seeds so that a test sees the
//! same faults every time.
//!
//! Per chat-completion request (numbered per replica from 0 in arrival order: the *ordinal*), one
//! draw keyed by (fleet seed, replica, ordinal) picks at most one of
//! - **reset**: the connection is dropped with a TCP reset, nothing answered (the client sees a
//!   connection error); no work is done;
//! - **hang**: the request is never answered (the client's timeout fires); no work is done, no
//!   slot is held;
//! - **server error**: an immediate 5xx with a vLLM-style error body; with
//!   `server_error_burst` = N the N − 1 requests after it fail too (an engine restarting);
//! - **malformed**: the work is done, then a 200 with a broken body (truncated JSON, JSON without
//!   `choices`, or not JSON at all);
//!
//! and an independent draw adds a **latency spike** (extra simulated milliseconds after the work).
//! [`FaultConfig::script`] forces the fault of given ordinals, for tests that need one fault at a
//! known place. With one client sending one request at a time the faults are exactly
//! reproducible; with concurrent clients the ordinals follow arrival order.
//!
//! **Down windows** ([`FaultConfig::down`]): between `from_s` and `until_s` simulated seconds after
//! the replica started it is dead. [`DownMode::Refuse`] closes the listening socket (new
//! connections are refused by the kernel) and resets open connections; at `until_s` the replica
//! binds the same address again. [`DownMode::Reset`] keeps listening but resets every connection
//! (for when the port must not be released).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::random::{mix, unit};

/// A fault of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    LatencySpike,
    ServerError,
    Reset,
    Hang,
    Malformed,
}

impl std::str::FromStr for FaultKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "latency-spike" => Ok(FaultKind::LatencySpike),
            "server-error" => Ok(FaultKind::ServerError),
            "reset" => Ok(FaultKind::Reset),
            "hang" => Ok(FaultKind::Hang),
            "malformed" => Ok(FaultKind::Malformed),
            other => Err(format!(
                "unknown fault `{other}` (latency-spike, server-error, reset, hang, malformed)"
            )),
        }
    }
}

/// How a replica is dead during a down window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DownMode {
    /// The listener is closed: connections are refused.
    #[default]
    Refuse,
    /// The listener stays open; every connection is reset.
    Reset,
}

/// A period during which a replica is dead, in simulated seconds after its start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DownWindow {
    pub from_s: f64,
    pub until_s: f64,
}

/// The faults of one replica (a fleet gives the same to all, with per-replica overrides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    pub latency_spike_probability: f64,
    /// Extra simulated milliseconds of a latency spike.
    pub latency_spike_ms: f64,
    pub server_error_probability: f64,
    /// Requests that fail per server-error trigger (1: just the one).
    pub server_error_burst: u32,
    /// The status of a server error (500, 502, 503 ...).
    pub server_error_status: u16,
    pub reset_probability: f64,
    pub hang_probability: f64,
    pub malformed_probability: f64,
    pub down: Vec<DownWindow>,
    pub down_mode: DownMode,
    /// Forced faults by request ordinal (0-based, per replica); they replace the random draw.
    pub script: BTreeMap<u64, FaultKind>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            latency_spike_probability: 0.0,
            latency_spike_ms: 1000.0,
            server_error_probability: 0.0,
            server_error_burst: 1,
            server_error_status: 500,
            reset_probability: 0.0,
            hang_probability: 0.0,
            malformed_probability: 0.0,
            down: Vec::new(),
            down_mode: DownMode::Refuse,
            script: BTreeMap::new(),
        }
    }
}

impl FaultConfig {
    /// No faults at all.
    pub fn none() -> Self {
        FaultConfig::default()
    }

    /// Checks probabilities, the burst, the status and the windows.
    pub fn validate(&self) -> Result<(), String> {
        let exclusive = [
            ("server_error_probability", self.server_error_probability),
            ("reset_probability", self.reset_probability),
            ("hang_probability", self.hang_probability),
            ("malformed_probability", self.malformed_probability),
        ];
        for (name, value) in exclusive
            .iter()
            .chain(&[("latency_spike_probability", self.latency_spike_probability)])
        {
            if !(0.0..=1.0).contains(value) {
                return Err(format!("faults.{name} must be within 0..=1, not {value}"));
            }
        }
        let sum: f64 = exclusive.iter().map(|(_, value)| value).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "faults: server error, reset, hang and malformed probabilities add up to {sum} > 1"
            ));
        }
        if !(self.latency_spike_ms.is_finite() && self.latency_spike_ms >= 0.0) {
            return Err(format!(
                "faults.latency_spike_ms must be ≥ 0, not {}",
                self.latency_spike_ms
            ));
        }
        if self.server_error_burst == 0 {
            return Err("faults.server_error_burst must be at least 1".into());
        }
        if !(500..=599).contains(&self.server_error_status) {
            return Err(format!(
                "faults.server_error_status must be a 5xx status, not {}",
                self.server_error_status
            ));
        }
        for window in &self.down {
            if !(window.from_s >= 0.0 && window.until_s > window.from_s) {
                return Err(format!(
                    "faults.down: a window must have 0 ≤ from_s < until_s, not {} .. {}",
                    window.from_s, window.until_s
                ));
            }
        }
        Ok(())
    }

    /// The window the replica is in at `elapsed_s` simulated seconds, if any.
    pub fn down_at(&self, elapsed_s: f64) -> Option<DownWindow> {
        self.down
            .iter()
            .copied()
            .find(|window| window.from_s <= elapsed_s && elapsed_s < window.until_s)
    }

    /// The next time after `elapsed_s` at which the replica goes down or comes back.
    pub fn next_transition(&self, elapsed_s: f64) -> Option<f64> {
        self.down
            .iter()
            .flat_map(|window| [window.from_s, window.until_s])
            .filter(|&at| at > elapsed_s)
            .min_by(f64::total_cmp)
    }
}

/// The shape of a malformed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    /// The body stops halfway through.
    TruncatedJson,
    /// Valid JSON without `choices`.
    MissingChoices,
    /// An HTML error page with status 200.
    NotJson,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultDecision {
    /// The request's fault, besides a latency spike.
    pub fault: Option<FaultKind>,
    /// Extra simulated seconds before the answer.
    pub extra_latency_s: f64,
    pub malformation: Malformation,
}

/// The fault decisions of one replica.
#[derive(Debug)]
pub struct FaultPlan {
    config: FaultConfig,
    key: u64,
    burst_left: Mutex<u32>,
}

impl FaultPlan {
    pub fn new(config: FaultConfig, seed: u64, replica: usize) -> Self {
        FaultPlan {
            config,
            key: mix(mix(seed, 0xfa017), replica as u64),
            burst_left: Mutex::new(0),
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// The fault of the request with this ordinal. Calls must come in ordinal order for bursts to
    /// follow their trigger.
    pub fn decide(&self, ordinal: u64) -> FaultDecision {
        let config = &self.config;
        let draw = |salt: u64| unit(mix(mix(self.key, ordinal), salt));
        let mut burst_left = self.burst_left.lock().unwrap_or_else(|p| p.into_inner());
        let mut fault = None;
        let mut spike = draw(1) < config.latency_spike_probability;
        if let Some(&scripted) = config.script.get(&ordinal) {
            if scripted == FaultKind::LatencySpike {
                spike = true;
            } else {
                fault = Some(scripted);
            }
        } else if *burst_left > 0 {
            *burst_left -= 1;
            fault = Some(FaultKind::ServerError);
        } else {
            let mut threshold = 0.0;
            let u = draw(2);
            for (kind, probability) in [
                (FaultKind::ServerError, config.server_error_probability),
                (FaultKind::Reset, config.reset_probability),
                (FaultKind::Hang, config.hang_probability),
                (FaultKind::Malformed, config.malformed_probability),
            ] {
                threshold += probability;
                if u < threshold {
                    fault = Some(kind);
                    break;
                }
            }
            if fault == Some(FaultKind::ServerError) {
                *burst_left = config.server_error_burst - 1;
            }
        }
        let malformation = match (draw(3) * 3.0) as u32 {
            0 => Malformation::TruncatedJson,
            1 => Malformation::MissingChoices,
            _ => Malformation::NotJson,
        };
        FaultDecision {
            fault,
            extra_latency_s: if spike {
                config.latency_spike_ms / 1000.0
            } else {
                0.0
            },
            malformation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(plan: &FaultPlan, count: u64) -> Vec<Option<FaultKind>> {
        (0..count)
            .map(|ordinal| plan.decide(ordinal).fault)
            .collect()
    }

    #[test]
    fn decisions_follow_the_seed_and_the_probabilities() {
        let config = FaultConfig {
            server_error_probability: 0.1,
            reset_probability: 0.1,
            hang_probability: 0.1,
            malformed_probability: 0.1,
            latency_spike_probability: 0.2,
            ..FaultConfig::default()
        };
        let a = kinds(&FaultPlan::new(config.clone(), 5, 0), 2000);
        assert_eq!(a, kinds(&FaultPlan::new(config.clone(), 5, 0), 2000));
        assert_ne!(a, kinds(&FaultPlan::new(config.clone(), 6, 0), 2000));
        assert_ne!(a, kinds(&FaultPlan::new(config.clone(), 5, 1), 2000));
        for kind in [
            FaultKind::ServerError,
            FaultKind::Reset,
            FaultKind::Hang,
            FaultKind::Malformed,
        ] {
            let share = a.iter().filter(|fault| **fault == Some(kind)).count() as f64 / 2000.0;
            assert!((share - 0.1).abs() < 0.03, "{kind:?}: {share}");
        }
        let plan = FaultPlan::new(config, 5, 0);
        let spikes = (0..2000)
            .filter(|&ordinal| plan.decide(ordinal).extra_latency_s > 0.0)
            .count();
        assert!((spikes as f64 / 2000.0 - 0.2).abs() < 0.03);
    }

    #[test]
    fn bursts_fail_the_requests_after_a_trigger_and_scripts_win() {
        let config = FaultConfig {
            server_error_probability: 0.05,
            server_error_burst: 3,
            script: BTreeMap::from([(0, FaultKind::Hang), (1, FaultKind::LatencySpike)]),
            ..FaultConfig::default()
        };
        let plan = FaultPlan::new(config, 9, 0);
        let decided = kinds(&plan, 500);
        assert_eq!(decided[0], Some(FaultKind::Hang));
        let trigger = decided[..400]
            .iter()
            .position(|fault| *fault == Some(FaultKind::ServerError))
            .unwrap();
        assert!(decided[trigger..trigger + 3]
            .iter()
            .all(|fault| *fault == Some(FaultKind::ServerError)));
        let replay = FaultPlan::new(plan.config().clone(), 9, 0);
        assert_eq!(replay.decide(0).fault, Some(FaultKind::Hang));
        assert!(replay.decide(1).extra_latency_s > 0.0);
    }

    #[test]
    fn windows_and_validation() {
        let config = FaultConfig {
            down: vec![DownWindow {
                from_s: 1.0,
                until_s: 2.0,
            }],
            ..FaultConfig::default()
        };
        assert!(config.down_at(0.5).is_none() && config.down_at(1.5).is_some());
        assert_eq!(config.next_transition(0.0), Some(1.0));
        assert_eq!(config.next_transition(1.0), Some(2.0));
        assert_eq!(config.next_transition(2.0), None);
        let too_much = FaultConfig {
            reset_probability: 0.6,
            hang_probability: 0.6,
            ..FaultConfig::default()
        };
        assert!(too_much.validate().is_err());
        assert!(config.validate().is_ok());
        assert_eq!("hang".parse::<FaultKind>(), Ok(FaultKind::Hang));
    }
}
