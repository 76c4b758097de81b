//! Schemathesis (from PyPI) fuzzes every operation of the OpenAPI document the gateway serves, on the devnet with
//! a funded default wallet, for a bounded time: no answer of 500 or more other than 503 for networks whose nodes
//! are unreachable from here (tests/fuzz/hooks.py), every status and body as the document describes it, and
//! no dropped connection. `GATEWAY_FUZZ_SECONDS` and `GATEWAY_FUZZ_SEED` run it longer, or differently.

use reqwest::StatusCode;

use crate::common::{self, TestGateway};

#[tokio::test]
async fn every_operation_answers_as_its_document_says_under_fuzzing() {
    let python = common::python_with("fuzz", "tests/fuzz/requirements.txt").await;
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let seconds = std::env::var("GATEWAY_FUZZ_SECONDS").unwrap_or_else(|_| "120".into());
    let seed = std::env::var("GATEWAY_FUZZ_SEED").unwrap_or_else(|_| "1".into());
    let hooks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    // Hypothesis keeps its examples in the working directory: a temporary one, not the repository.
    let work = tempfile::TempDir::new().unwrap();
    let checks = "no_server_error_but_unreachable_nodes,status_code_conformance,content_type_conformance,\
                  response_schema_conformance";
    let output = tokio::process::Command::new(python.with_file_name("schemathesis"))
        .args(["run", &gw.url("/openapi.json"), "--checks", checks, "--max-time", &seconds, "--seed", &seed])
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
    eprintln!("fuzzing: {}", summary.trim());
    let (status, _) = gw.get("/").await;
    assert_eq!(status, StatusCode::OK, "the gateway still serves");
}
