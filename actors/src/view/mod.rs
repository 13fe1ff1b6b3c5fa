//! `grsu view`: the explorer of a sweep, as a read-only local web server or as a static bundle.
//!
//! The pages are one small application (`actors/assets/view`: an HTML shell, plain JavaScript
//! and CSS, compiled into the binary) over the explorer's documents ([`grsu::explore`]): the
//! sweep (its report, live progress), the sample table, one sample, one sample's raw answers.
//! The server answers them as JSON under `api/`; a bundle writes each as a `data/*.js` file that
//! hands it to the page, so that the bundle works from `file://`, where a page may not fetch.
//!
//! The server never holds the store while it waits: it reads a snapshot and releases it, so that
//! a `grsu run` can resume the sweep meanwhile. While a run holds the store, the sweep page shows
//! its `progress.json`; when the store changes and is free again, the next request reloads it.
//!
//! ## Layout
//!
//! - [`source`]: the snapshot of a sweep and when it is reloaded.
//! - [`server`]: the routes.
//! - [`bundle`]: the static files.
//! - [`assets`]: the page, compiled in.

pub mod assets;
pub mod bundle;
pub mod server;
pub mod source;

pub use bundle::write_bundle;
pub use server::{router, serve};
pub use source::ViewSource;
