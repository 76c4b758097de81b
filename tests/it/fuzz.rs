//! Schemathesis (from PyPI) fuzzes every operation of the OpenAPI document the gateway serves, on the devnet with
//! a funded default wallet, for a bounded time: no answer of 500 or more other than 503 for networks whose nodes
//! are unreachable (tests/fuzz/hooks.py), every status and body as the document describes it, and no dropped
//! connection. The public networks' nodes are pointed at a closed local port, so the run never depends on the
//! internet. The operations that change the gateway's own setup (config updates, restarts, removing wallets) run
//! after the others, in a short run of their own, so the main run keeps its devnet node and wallet.
//! `GATEWAY_FUZZ_SECONDS` and `GATEWAY_FUZZ_SEED` run it longer, or differently.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway};

const SETUP_CHANGING: [&str; 3] = ["/config/update", "/restart", "/wallet/remove"];

#[tokio::test]
async fn every_operation_answers_as_its_document_says_under_fuzzing() {
    let python = common::python_with("fuzz", "tests/fuzz/requirements.txt").await;
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let closed = common::free_port();
    let (_, namespaces) = gw.get("/config/namespaces").await;
    let public = namespaces["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|namespace| namespace.starts_with("ethereum-") && *namespace != "ethereum-devnet");
    for namespace in public {
        let unreachable =
            json!({"namespace": namespace, "path": "nodeURL", "value": [format!("http://127.0.0.1:{closed}")]});
        let (status, body) = gw.post("/config/update", unreachable).await;
        assert_eq!(status, StatusCode::OK, "{namespace}: {body}");
    }
    let seconds: u64 = std::env::var("GATEWAY_FUZZ_SECONDS").map_or(120, |s| s.parse().expect("GATEWAY_FUZZ_SECONDS"));
    let mut main_run = vec![];
    let mut setup_run = vec![];
    for path in SETUP_CHANGING {
        main_run.extend(["--exclude-path".to_string(), path.to_string()]);
        setup_run.extend(["--include-path".to_string(), path.to_string()]);
    }
    fuzz(&python, &gw, &main_run, seconds).await;
    fuzz(&python, &gw, &setup_run, (seconds / 6).max(5)).await;
    let (status, _) = gw.get("/").await;
    assert_eq!(status, StatusCode::OK, "the gateway still serves");
}

async fn fuzz(python: &std::path::Path, gw: &TestGateway, operations: &[String], seconds: u64) {
    let seed = std::env::var("GATEWAY_FUZZ_SEED").unwrap_or_else(|_| "1".into());
    let hooks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    // Hypothesis keeps its examples in the working directory: a temporary one, not the repository.
    let work = tempfile::TempDir::new().unwrap();
    let checks = "no_server_error_but_unreachable_nodes,status_code_conformance,content_type_conformance,\
                  response_schema_conformance";
    let output = tokio::process::Command::new(python.with_file_name("schemathesis"))
        .args(["run", &gw.url("/openapi.json"), "--checks", checks, "--seed", &seed])
        .args(["--max-time", &seconds.to_string()])
        .args(operations)
        // Above the gateway's own request timeout (60 s): a slow answer is the gateway's 504, not the fuzzer's.
        .args(["--request-timeout", "65", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &hooks)
        .current_dir(work.path())
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the fuzzing run failed:\n{report}\n{}", String::from_utf8_lossy(&output.stderr));
    let summary = report.lines().rev().find(|line| line.contains("generated")).unwrap_or_default();
    eprintln!("fuzzing {operations:?}: {}", summary.trim());
}
