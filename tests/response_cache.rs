//! The response cache in front of an HTTP backend: finished calls are never paid twice, across a
//! reopen of the store, and failures are not cached.

use std::time::Duration;

use grsu::model::cached::CachedBackend;
use grsu::model::context::RequestContext;
use grsu::model::http::{HttpBackend, HttpEndpoint};
use grsu::model::role::Role;
use grsu::model::{ChatMessage, ChatRequest};
use grsu::store::Store;
use grsu_test_support::{shared_fixtures, Reply, ScriptedServer};

fn backend(server: &ScriptedServer, url_suffix: &str) -> HttpBackend {
    HttpBackend::new(HttpEndpoint {
        url: format!("{}{url_suffix}", server.url()),
        model: "grsu-user".into(),
        api_key: Some("do-not-store-me".into()),
        timeout: Duration::from_secs(5),
        ca_file: None,
    })
    .unwrap()
}

#[tokio::test]
async fn a_finished_call_is_served_from_the_store_even_after_reopening() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let body = std::fs::read_to_string(fixtures.join("openai/vllm_chat_n2_logprobs.json")).unwrap();
    let server = ScriptedServer::start(
        vec![Reply::Body(503, "warming up".into())],
        Some(Reply::Body(200, body)),
    )
    .await;
    let folder = tempfile::tempdir().unwrap();
    let mut request = ChatRequest::new(vec![ChatMessage::user("Heat (1995)?")]);
    request.n = 2;
    request.seed = Some(7);
    let context = RequestContext::new(Role::User);

    let first_answer = {
        let store = Store::open(folder.path()).unwrap();
        let cached = CachedBackend::new(backend(&server, ""), store.response_cache().unwrap());
        assert!(
            cached.chat(&request, &context).await.is_err(),
            "the 503 is returned, not cached"
        );
        let answer = cached.chat(&request, &context).await.unwrap().response;
        assert_eq!(server.received().len(), 2);
        let again = cached.chat(&request, &context).await.unwrap();
        assert!(again.cached);
        assert_eq!(again.response, answer);
        assert_eq!(
            server.received().len(),
            2,
            "the repeat was answered from the cache"
        );
        let mut other_seed = request.clone();
        other_seed.seed = Some(8);
        cached.chat(&other_seed, &context).await.unwrap();
        assert_eq!(
            server.received().len(),
            3,
            "a different seed is a different request"
        );
        assert_eq!(cached.cache().stats().hits, 1);
        answer
    };

    // Reopened, through another URL of the same model: still a hit (the key is the model, not the URL).
    let store = Store::open(folder.path()).unwrap();
    let cached = CachedBackend::new(backend(&server, "/"), store.response_cache().unwrap());
    assert_eq!(
        cached.chat(&request, &context).await.unwrap().response,
        first_answer
    );
    assert_eq!(server.received().len(), 3);
    assert_eq!(cached.cache().len(), 2);
    // The API key is in no stored byte.
    drop(cached);
    drop(store);
    for entry in walk(folder.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(15).any(|window| window == b"do-not-store-me"),
            "{}",
            entry.display()
        );
    }
}

fn walk(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
