//! Hummingbot's own Gateway client driving its whole session, against whichever gateway a test runs.

use std::path::Path;

use gateway::devnet::{Devnet, DevnetAssets};

use super::PASSPHRASE;

/// Runs the client's whole session against the gateway at `url` on `devnet`, with devnet account 3 as its
/// wallet: over HTTPS with the client certificates in `hummingbot_root/certs`, or plain HTTP; checks every step
/// it must go through.
pub async fn client_session(devnet: &Devnet, url: &str, hummingbot_root: &Path) {
    let work = DevnetAssets::locate().work_dir();
    let python = super::python_with("hummingbot", "tests/hummingbot/requirements.txt").await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hummingbot/client_session.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(work.join("hummingbot"))
        .arg(url)
        .arg(devnet.private_key(3))
        .arg(hummingbot_root)
        .env("HUMMINGBOT_PASSWORD", PASSPHRASE)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The reason first, then the steps that led to it, newest last: a log cut in the middle still shows both.
    let last = |text: &str, count: usize| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(count)..].join("\n")
    };
    assert!(
        output.status.success(),
        "the client's session failed:\n{}\nits last steps:\n{}",
        last(&String::from_utf8_lossy(&output.stderr), 12),
        last(&stdout, 8)
    );
    assert!(stdout.contains("steps passed"), "{stdout}");
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
    for connector in ["uniswap", "pancakeswap"] {
        for step in [
            "approve WETH for {c}/clmm/swap",
            "clmm sell",
            "amm add",
            "amm positions owned",
            "clmm close",
            "add a listed pool again",
        ] {
            let step = format!("ok {connector}: {}", step.replace("{c}", connector));
            assert!(stdout.contains(&step), "the session went through '{step}':\n{stdout}");
        }
    }
    for step in [
        "V4 clmm pool info",
        "V4 clmm execute ETH SELL",
        "V4 clmm execute ETH BUY",
        "V4 clmm open",
        "V4 clmm close",
        "amm create pool",
        "clmm create pool",
    ] {
        assert!(stdout.contains(&format!("ok uniswap: {step}")), "the session went through '{step}':\n{stdout}");
    }
}
