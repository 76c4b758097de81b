use reqwest::StatusCode;
use serde_json::Value;

use crate::common::TestGateway;

#[tokio::test]
async fn the_committed_spec_is_the_one_the_server_serves() {
    let gw = TestGateway::start().await;
    let (status, served) = gw.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let committed: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    assert!(
        committed == served,
        "openapi/openapi.json is stale: run `cargo run -- openapi --out openapi/openapi.json` and commit it"
    );
    // Every operation says what it answers, and has its own operationId (generated clients need that).
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in served["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap().to_string();
            assert!(operation_ids.insert(id.clone()), "operationId {id} is used twice");
            assert!(operation["responses"]["200"].is_object(), "{method} {path} documents its 200");
            assert!(operation["tags"].is_array(), "{method} {path} has a tag");
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served_without_network_access() {
    let gw = TestGateway::start().await;
    let page = gw.client().get(gw.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // The UI's own files come from the binary (utoipa-swagger-ui's vendored build), not from a CDN.
    assert!(!html.contains("https://"), "the page loads nothing from the internet: {html}");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-initializer.js"] {
        let response = gw.client().get(gw.url(&format!("/docs/{asset}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let body = response.text().await.unwrap();
        assert!(body.len() > 100, "{asset} has content");
        if asset == "swagger-initializer.js" {
            assert!(body.contains("/openapi.json"), "the UI loads our spec: {body}");
        }
    }
}
