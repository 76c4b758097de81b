use std::path::Path;

use gateway::devnet::{Devnet, DevnetAssets};
use gateway::server::{GatewayOptions, RunningGateway};
use gateway::state::Passphrase;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

pub const PASSPHRASE: &str = "test passphrase";

pub async fn devnet() -> Devnet {
    Devnet::start(&DevnetAssets::locate(), 0, &|step| {
        eprintln!("devnet: {step}")
    })
    .await
    .expect("devnet starts")
}

/// A gateway on a fresh conf dir, with its own SQLite database unless `database_url` is given.
pub struct TestGateway {
    pub gateway: RunningGateway,
    pub conf: TempDir,
    http: reqwest::Client,
}

impl TestGateway {
    pub async fn start() -> TestGateway {
        Self::start_with(None).await
    }

    pub async fn start_with(database_url: Option<String>) -> TestGateway {
        let conf = TempDir::new().expect("temp dir");
        let gateway = gateway::server::start(GatewayOptions {
            conf_dir: conf.path().to_path_buf(),
            database_url,
            passphrase: Passphrase::new(PASSPHRASE),
            host: "127.0.0.1".parse().unwrap(),
            port: Some(0),
        })
        .await
        .expect("gateway starts");
        TestGateway {
            gateway,
            conf,
            http: reqwest::Client::new(),
        }
    }

    pub fn conf_dir(&self) -> &Path {
        self.conf.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.url())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        into_json(
            self.http
                .get(self.url(path))
                .send()
                .await
                .expect("GET reaches the gateway"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        into_json(
            self.http
                .post(self.url(path))
                .json(&body)
                .send()
                .await
                .expect("POST reaches the gateway"),
        )
        .await
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }
}

pub async fn into_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body is readable");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text}"));
    (status, body)
}

/// The body every error answers with: the status, its name, a message, a code and a name.
pub fn assert_error_body(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    message_contains: &str,
) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["statusCode"], expected.as_u16(), "{body}");
    assert_eq!(
        body["error"],
        expected.canonical_reason().unwrap(),
        "{body}"
    );
    let message = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("message is a string: {body}"));
    assert!(
        message.contains(message_contains),
        "message {message:?} should mention {message_contains:?}"
    );
    assert!(body["code"].is_string(), "{body}");
    assert!(body["name"].is_string(), "{body}");
}
