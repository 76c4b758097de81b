//! Swagger UI in a real browser: headless Chromium (Debian's `chromium`) opens `/docs`, the tags are listed, and
//! "Try it out" on a quote, with the example values the page fills in, answers 200 from the devnet.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{self, TestGateway};

/// Chromium, or `None` (the test then says it skipped) unless CI requires it.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        let output = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
        output.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
    });
    if found.is_none() {
        assert!(
            std::env::var("GATEWAY_REQUIRE_CHROMIUM").is_err(),
            "GATEWAY_REQUIRE_CHROMIUM is set but there is no chromium; install it (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install chromium to run the Swagger UI test)");
    }
    found
}

fn install_driver(dir: &Path) {
    if dir.join("node_modules/playwright-core/package.json").is_file() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .expect("npm runs");
    assert!(status.success(), "npm ci in {}", dir.display());
}

#[tokio::test]
async fn swagger_ui_renders_every_tag_and_try_it_out_quotes_on_the_devnet() {
    let Some(chromium) = chromium() else {
        return;
    };
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/swagger");
    install_driver(&driver);
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;

    let output = tokio::process::Command::new("node")
        .arg(driver.join("drive.mjs"))
        .arg(gw.url(""))
        .arg(&chromium)
        .arg("/trading/clmm/quote-swap")
        .output()
        .await
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser run failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let run: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));

    let tags: Vec<&str> = run["tags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for tag in [
        "system",
        "config",
        "wallet",
        "tokens",
        "pools",
        "chains/ethereum",
        "trading",
        "connectors/uniswap",
        "connectors/pancakeswap",
        "clob",
    ] {
        assert!(tags.contains(&tag), "tag {tag} in {tags:?}");
    }
    assert_eq!(run["status"], 200, "{run}");
    assert!(run["url"].as_str().unwrap().contains("/trading/clmm/quote-swap?"), "{run}");
    assert!(run["shown"].as_str().unwrap().contains("200"), "the page shows the status: {run}");
    assert!(common::decimal(&run["body"]["amountOut"]) > 0.0, "{run}");
    assert_eq!(run["offsite"], serde_json::json!([]), "the page loads nothing from outside the gateway");
    assert_eq!(run["consoleErrors"], serde_json::json!([]), "{run}");
}
