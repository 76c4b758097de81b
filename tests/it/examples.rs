//! The curl scripts in examples/ run against a devnet gateway, so they never drift from the API.

use std::path::Path;

use alloy::primitives::U256;
use chains::contracts::IERC20;
use gateway::devnet::Unlocked;

use crate::common::{self, TestGateway};

async fn run_example(gw: &TestGateway, script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(script);
    let output = tokio::process::Command::new("bash")
        .arg(&path)
        .args(args)
        .env("GATEWAY", gw.url(""))
        .output()
        .await
        .expect("bash runs (the examples also need curl and jq)");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    stdout.into_owned()
}

#[tokio::test]
async fn the_example_scripts_run_against_the_devnet_and_move_real_funds() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let wallet = devnet.accounts()[1];
    let (weth, usdc) = (devnet.deployment().token("WETH").address, devnet.deployment().token("USDC").address);
    let balance = |token| {
        let provider = chain.provider.clone();
        async move { IERC20::new(token, &provider).balanceOf(wallet).call().await.unwrap() }
    };

    let added = run_example(&gw, "01-add-wallet.sh", &[]).await;
    assert!(added.starts_with(&wallet.to_checksum(None)), "{added}");
    let balances = run_example(&gw, "02-balances.sh", &[]).await;
    assert!(balances.contains("\"WETH\":\"1000\"") && balances.contains("\"USDC\""), "{balances}");
    let approved = run_example(&gw, "03-approve.sh", &["DAI", "uniswap/amm"]).await;
    assert!(approved.contains("\"DAI\""), "{approved}");

    let (weth_before, usdc_before) = (balance(weth).await, balance(usdc).await);
    let swapped = run_example(&gw, "04-swap.sh", &["0.5"]).await;
    assert!(swapped.contains("\"status\":1"), "{swapped}");
    assert_eq!(weth_before - balance(weth).await, U256::from(5u64) * U256::from(10u64).pow(U256::from(17u64)));
    let usdc_after_swap = balance(usdc).await;
    assert!(usdc_after_swap > usdc_before);

    let lp = run_example(&gw, "05-v3-position.sh", &[]).await;
    assert_eq!(lp.matches("\"status\":1").count(), 2, "opened and closed: {lp}");
    // Closing returns what opening took, less at most a few wei of rounding in the pool's favour.
    let weth_before_lp = weth_before - U256::from(5u64) * U256::from(10u64).pow(U256::from(17u64));
    assert!(weth_before_lp - balance(weth).await < U256::from(10u64), "{lp}");
    assert!(usdc_after_swap - balance(usdc).await < U256::from(10u64), "{lp}");

    // A limit order on the 0x book: it rests, shows in the book, and cancelling it on-chain closes it.
    run_example(&gw, "03-approve.sh", &["WETH", "zeroex/clob"]).await;
    let clob = run_example(&gw, "06-clob-order.sh", &["SELL", "3100", "0.5"]).await;
    assert!(clob.contains(r#""sells":[{"price":"3100","quantity":"0.5""#), "{clob}");
    assert!(clob.contains(r#""status":"OPEN""#), "{clob}");
    assert!(clob.trim_end().ends_with("CANCELLED"), "{clob}");

    // A transfer to account #2, whose balance moves by exactly the amount.
    let to = devnet.accounts()[2];
    let received = |token| {
        let provider = chain.provider.clone();
        async move { IERC20::new(token, &provider).balanceOf(to).call().await.unwrap() }
    };
    let before = received(usdc).await;
    let sent = run_example(&gw, "07-send.sh", &["250", "USDC", &to.to_checksum(None)]).await;
    assert!(sent.contains(r#""status":1"#) && sent.contains(r#""amount":"250""#), "{sent}");
    assert_eq!(received(usdc).await - before, U256::from(250_000_000u64));
}
