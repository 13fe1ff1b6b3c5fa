//! Run configuration (TOML). Sections are deserialised with `deny_unknown_fields`, so a typo is an
//! error naming the key, then validated into typed values.
//!
//! ## Layout
//!
//! - [`models`]: `[models.<role>]`, the endpoints of one model role (CRS, simulated user, teacher).

pub mod models;

pub use models::{ModelRoleConfig, ModelsSection};
