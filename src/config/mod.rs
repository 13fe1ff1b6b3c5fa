//! Run configuration (TOML). Sections are deserialised with `deny_unknown_fields`, so a typo is an
//! error naming the key, then validated into typed values.
//!
//! ## Layout
//!
//! - [`run_config`]: [`RunConfig`], the whole run (`grsu run <config.toml>`).
//! - [`env_paths`]: `${NAME:-default}` in config paths.
//! - [`locate`]: the line and column of a key, for errors.
//! - [`models`]: `[models.<role>]`, the endpoints of one model role (CRS, simulated user, teacher).

pub mod env_paths;
pub mod locate;
pub mod models;
pub mod reference;
pub mod run_config;

pub use models::{ModelRoleConfig, ModelsSection};
pub use run_config::{ConfigError, RunConfig, ScoreContext, Scorer, StrategyName};
