//! Run configuration (TOML). Sections are deserialised with `deny_unknown_fields`, so a typo is an
//! error naming the key, into typed values (model roles as fields, [`values::Seconds`],
//! [`values::EndpointUrl`]), then validated; errors name the key they are about.
//!
//! ## Layout
//!
//! - [`run_config`]: [`RunConfig`], the whole run (`grsu run <config.toml>`).
//! - [`load`]: reading, parsing and path resolution, shared by run configs, sweeps and synthesis
//!   configs.
//! - [`error`]: [`ConfigError`], naming the file, table, key and line.
//! - [`identity`]: what determines a config's results ([`identity::SearchIdentity`],
//!   [`identity::ResultsIdentity`]), key by key as the reference's *on change* rules say.
//! - [`values`]: values checked as they are read (durations in seconds, endpoint URLs).
//! - [`env_paths`]: `${NAME:-default}` in config paths.
//! - [`locate`]: the line and column of a key, for errors.
//! - [`models`]: `[models.<role>]`, the endpoints of one model role (CRS, simulated user, teacher).
//! - [`reference`]: every key with its type, default, meaning and *on change* rule.

pub mod env_paths;
pub mod error;
pub mod identity;
pub mod load;
pub mod locate;
pub mod models;
pub mod reference;
pub mod run_config;
pub mod values;

pub use error::ConfigError;
pub use models::{ModelRoleConfig, ModelsSection};
pub use run_config::{RunConfig, ScoreContext, Scorer, StrategyName};
