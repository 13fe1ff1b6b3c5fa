//! Helpers shared by the integration tests: the demo world, fleets and the engine's HTTP client.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use grsu::catalog::CatalogFormat;
use grsu::data::DatasetFormat;
use grsu::model::http::{HttpBackend, HttpEndpoint};
use sim_vllm::{spawn_fleet, Fleet, FleetConfig, World};

/// The repository's demo data folder.
pub fn demo_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo")
}

/// The project's demo world: 201 films, 12 conversations.
pub fn demo_world() -> Arc<World> {
    let folder = demo_folder();
    Arc::new(
        World::load(
            &folder.join("movie2info.json"),
            CatalogFormat::Auto,
            Some((&folder.join("conversations.jsonl"), DatasetFormat::Grsu)),
        )
        .expect("the demo dataset loads"),
    )
}

/// A fleet over the demo world, fast (1 simulated second = 1 ms), changed by `adjust`.
pub async fn fleet(adjust: impl FnOnce(&mut FleetConfig)) -> Fleet {
    let mut config = FleetConfig::new(demo_world());
    config.capacity.time_scale = 0.001;
    adjust(&mut config);
    spawn_fleet(config).await.expect("the fleet starts")
}

/// The engine's client of one URL.
pub fn backend(url: &str, timeout: Duration) -> HttpBackend {
    HttpBackend::new(HttpEndpoint {
        url: url.to_string(),
        model: "sim".into(),
        api_key: None,
        timeout,
        ca_file: None,
    })
    .expect("a client")
}
