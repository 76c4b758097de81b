//! Hummingbot's own Gateway client (from its PyPI sdist) drives a session against the gateway on the devnet,
//! over HTTPS with client certificates as Hummingbot runs in production: status, wallets, balances, approvals
//! (through upstream's `<connector>/clmm/swap` too), quotes and swaps of every trading type, the V3, V4 and V2
//! liquidity lifecycles with amounts computed as floats, pools and config, through uniswap and pancakeswap; every
//! answer validated against the client's own response models.

use std::path::Path;

use gateway::devnet::DevnetAssets;

use crate::common::{self, PASSPHRASE, TestGateway, devnet_conf, https_client, make_certs};

#[tokio::test]
async fn the_hummingbot_client_drives_a_whole_session() {
    let devnet = common::devnet().await;
    let assets = DevnetAssets::locate();
    let work = assets.work_dir();
    let python = common::python_with("hummingbot", "tests/hummingbot/requirements.txt").await;
    let conf = devnet_conf(&[devnet.rpc_url()]);
    // Hummingbot reads its certificates from <root>/certs: the conf dir is that root here.
    let certs = make_certs(conf.path(), PASSPHRASE);
    let hummingbot_root = conf.path().to_path_buf();
    let gw = TestGateway::start_https(conf, https_client(&certs, Some(&certs))).await.unwrap();
    let url = gw.gateway.url().replace("127.0.0.1", "localhost");
    assert!(url.starts_with("https://localhost:"), "{url}");
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
    assert!(
        output.status.success(),
        "the client's session failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("steps passed"), "{stdout}");
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
    for connector in ["uniswap", "pancakeswap"] {
        for step in ["approve WETH for {c}/clmm/swap", "clmm sell", "amm add", "clmm close", "add a listed pool again"]
        {
            let step = format!("ok {connector}: {}", step.replace("{c}", connector));
            assert!(stdout.contains(&step), "the session went through '{step}':\n{stdout}");
        }
    }
    for step in
        ["V4 clmm pool info", "V4 clmm execute ETH SELL", "V4 clmm execute ETH BUY", "V4 clmm open", "V4 clmm close"]
    {
        assert!(stdout.contains(&format!("ok uniswap: {step}")), "the session went through '{step}':\n{stdout}");
    }
}
