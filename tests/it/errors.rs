use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use crate::common::{TestGateway, assert_error_body, into_json};

#[tokio::test]
async fn every_refusal_has_the_documented_shape() {
    let gw = TestGateway::start().await;
    let post_raw = |body: &'static str, content_type: &'static str| {
        gw.client().post(gw.url("/config/update")).header(CONTENT_TYPE, content_type).body(body).send()
    };

    let (status, body) = into_json(post_raw("{\"namespace\": ", "application/json").await.unwrap()).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "malformed JSON");

    let (status, body) = into_json(post_raw("{\"namespace\": \"uniswap\"}", "application/json").await.unwrap()).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "missing field `path`");

    let (status, body) =
        into_json(post_raw("{\"namespace\": 5, \"path\": \"x\", \"value\": 1}", "application/json").await.unwrap())
            .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "namespace");

    let (status, body) = into_json(post_raw("namespace=uniswap", "text/plain").await.unwrap()).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "Content-Type: application/json");

    let (status, body) = gw.get("/config?namespace=nope").await;
    assert_error_body(status, &body, StatusCode::NOT_FOUND, "namespace 'nope' does not exist");

    let (status, body) = gw.get("/no/such/route").await;
    assert_error_body(status, &body, StatusCode::NOT_FOUND, "no such route");

    let big = format!("{{\"namespace\": \"{}\", \"path\": \"x\", \"value\": 1}}", "a".repeat(2 * 1024 * 1024));
    let response = gw
        .client()
        .post(gw.url("/config/update"))
        .header(CONTENT_TYPE, "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = into_json(response).await;
    assert_error_body(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "request body");
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let gw = TestGateway::start().await;
    let response = gw.client().get(gw.url("/")).send().await.unwrap();
    let id = response.headers().get("x-request-id").expect("a request id").to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let (status, body) = into_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    // A client's own id is kept.
    let response = gw.client().get(gw.url("/")).header("x-request-id", "client-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-42");
}
