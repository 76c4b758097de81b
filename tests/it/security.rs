//! The API surface against a hostile caller: web pages reaching a plain-HTTP gateway (DNS rebinding, foreign
//! origins).

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{self, TestGateway, assert_error_body};

#[tokio::test]
async fn plain_http_answers_only_loopback_hosts_and_refuses_foreign_web_pages() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let nonce =
        || async { alloy::providers::Provider::get_transaction_count(&common::node(&devnet), wallet).await.unwrap() };
    let before = nonce().await;
    let port = gw.gateway.addr.port();
    let http = reqwest::Client::new();
    let wrap = json!({"network": "devnet", "amount": "0.01"});

    // A page that rebinds its own name to 127.0.0.1: the request carries that name.
    let rebound = http
        .post(gw.url("/chains/ethereum/wrap"))
        .header("Host", format!("attacker.example:{port}"))
        .json(&wrap)
        .send()
        .await
        .unwrap();
    let (status, body) = common::into_json(rebound).await;
    assert_error_body(status, &body, StatusCode::FORBIDDEN, "allowedHosts");
    assert_eq!(body["code"], "HOST_NOT_ALLOWED");
    // A page elsewhere posting to 127.0.0.1 directly: its Origin gives it away.
    let foreign = http.post(gw.url("/chains/ethereum/wrap")).header("Origin", "http://attacker.example").json(&wrap);
    let (status, body) = common::into_json(foreign.send().await.unwrap()).await;
    assert_error_body(status, &body, StatusCode::FORBIDDEN, "corsOrigins");
    assert_eq!(nonce().await, before, "nothing was signed");

    // Loopback names with their port, and the gateway's own pages (Swagger UI), are answered.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), "localhost".to_string()] {
        let answer =
            http.get(gw.url("/chains/ethereum/status?network=devnet")).header("Host", host.as_str()).send().await;
        assert_eq!(answer.unwrap().status(), StatusCode::OK, "{host}");
    }
    let same_origin = http
        .post(gw.url("/chains/ethereum/balances"))
        .header("Origin", format!("http://127.0.0.1:{port}"))
        .json(&json!({"network": "devnet", "tokens": ["ETH"]}));
    assert_eq!(same_origin.send().await.unwrap().status(), StatusCode::OK);

    // A name listed in the config is answered, at once.
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "server", "path": "allowedHosts", "value": ["gateway"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let named = http.get(gw.url("/chains/ethereum/status?network=devnet")).header("Host", format!("gateway:{port}"));
    assert_eq!(named.send().await.unwrap().status(), StatusCode::OK);
    let (status, body) = gw
        .post("/config/update", json!({"namespace": "server", "path": "corsOrigins", "value": ["not an origin"]}))
        .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "corsOrigins");
}
