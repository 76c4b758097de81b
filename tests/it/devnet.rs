use alloy::primitives::aliases::U24;
use alloy::primitives::{U256, keccak256};
use alloy::providers::Provider;
use chains::contracts::IERC20;
use connectors::core::pool_address::PoolAddress;
use connectors::dex;
use connectors::v2::IUniswapV2Factory;
use connectors::v3::{IQuoterV2, ISwapRouter02, ISwapRouterWithDeadline, IUniswapV3Factory};
use connectors::v4::IStateView;
use gateway::devnet::{DevnetAssets, Unlocked};

use crate::common;

#[tokio::test]
async fn pools_sit_at_the_addresses_computed_off_chain() {
    let devnet = common::devnet().await;
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let deployment = devnet.deployment();
    assert_eq!(chain.provider.get_chain_id().await.unwrap(), 31337);
    assert!(deployment.pools.len() >= 10);
    for pool in &deployment.pools {
        let dex = dex::Registry::builtin().find(&pool.connector, "devnet").expect("known connector");
        if let PoolAddress::Id(id) = pool.address {
            let v4 = dex.v4.unwrap();
            let tier = *v4.fee_tiers.iter().find(|tier| tier.fee == pool.fee).unwrap();
            assert_eq!(v4.hookless_key(pool.base_address, pool.quote_address, tier).id(), id, "{pool:?}");
            let slot0 = IStateView::new(v4.state_view, &chain.provider).getSlot0(id).call().await.unwrap();
            assert!(!slot0.sqrtPriceX96.is_zero(), "{pool:?} is initialized");
            continue;
        }
        let address = pool.address.contract().unwrap();
        let code = chain.provider.get_code_at(address).await.unwrap();
        assert!(!code.is_empty(), "no contract at {pool:?}");
        if pool.kind.as_str() == "amm" {
            let v2 = dex.v2.unwrap();
            assert_eq!(v2.pair_address(pool.base_address, pool.quote_address), address);
            let on_chain = IUniswapV2Factory::new(v2.factory, &chain.provider)
                .getPair(pool.base_address, pool.quote_address)
                .call()
                .await
                .unwrap();
            assert_eq!(on_chain, address);
        } else {
            let v3 = dex.v3.unwrap();
            assert_eq!(v3.pool_address(pool.base_address, pool.quote_address, pool.fee), address);
            let on_chain = IUniswapV3Factory::new(v3.factory, &chain.provider)
                .getPool(pool.base_address, pool.quote_address, U24::from(pool.fee))
                .call()
                .await
                .unwrap();
            assert_eq!(on_chain, address);
        }
    }
    // The well-known mainnet pools are where mainnet has them.
    let usdc_weth_005: alloy::primitives::Address = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640".parse().unwrap();
    assert!(deployment.pools.iter().any(|p| p.address == usdc_weth_005.into()));
    // And mainnet's ETH/USDC 0.05 % V4 pool has mainnet's id.
    let eth_usdc_v4: PoolAddress =
        "0x21c67e77068de97969ba93d4aab21826d33ca12bb9f565d8496e8fda8a82ca27".parse().unwrap();
    assert!(deployment.pools.iter().any(|p| p.address == eth_usdc_v4));
}

#[test]
fn init_code_hashes_in_the_descriptions_are_those_of_the_shipped_bytecode() {
    let assets = DevnetAssets::locate();
    let uniswap = dex::Registry::builtin().find("uniswap", "mainnet").unwrap();
    let pancake = dex::Registry::builtin().find("pancakeswap", "mainnet").unwrap();
    assets.install(&|step| eprintln!("devnet: {step}")).expect("artifacts install");
    let hash = |package: &str, path: &str| keccak256(assets.creation_code(package, path).expect("artifact installed"));
    assert_eq!(hash("@uniswap/v2-core", "build/UniswapV2Pair.json"), uniswap.v2.as_ref().unwrap().pair_init_code_hash);
    assert_eq!(
        hash("@uniswap/v3-core", "artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json"),
        uniswap.v3.as_ref().unwrap().pool_init_code_hash
    );
    assert_eq!(
        hash("@pancakeswap/v3-core", "artifacts/contracts/PancakeV3Pool.sol/PancakeV3Pool.json"),
        pancake.v3.as_ref().unwrap().pool_init_code_hash
    );
}

#[tokio::test]
async fn quoter_v2_quote_equals_the_executed_swap() {
    let devnet = common::devnet().await;
    let trader = devnet.accounts()[1];
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let usdc = devnet.deployment().token("USDC").address;
    let weth = devnet.deployment().token("WETH").address;
    let weth_balance = || async { IERC20::new(weth, &chain.provider).balanceOf(trader).call().await.unwrap() };
    let amount_in = U256::from(1_000_000_000u64); // 1000 USDC

    for (connector, fee) in [("uniswap", 500u32), ("pancakeswap", 2500)] {
        let v3 = dex::Registry::builtin().find(connector, "devnet").unwrap().v3.unwrap();
        chain
            .send(trader, usdc, IERC20::approveCall { spender: v3.swap_router, amount: U256::MAX }, U256::ZERO)
            .await
            .unwrap();
        let quote = IQuoterV2::new(v3.quoter_v2, &chain.provider)
            .quoteExactInputSingle(IQuoterV2::QuoteExactInputSingleParams {
                tokenIn: usdc,
                tokenOut: weth,
                amountIn: amount_in,
                fee: U24::from(fee),
                sqrtPriceLimitX96: Default::default(),
            })
            .call()
            .await
            .unwrap();
        assert!(quote.amountOut > U256::ZERO);
        let before = weth_balance().await;
        match v3.swap_router_kind {
            connectors::v3::SwapRouterKind::SwapRouter02 => {
                let params = ISwapRouter02::ExactInputSingleParams {
                    tokenIn: usdc,
                    tokenOut: weth,
                    fee: U24::from(fee),
                    recipient: trader,
                    amountIn: amount_in,
                    amountOutMinimum: quote.amountOut,
                    sqrtPriceLimitX96: Default::default(),
                };
                chain
                    .send(trader, v3.swap_router, ISwapRouter02::exactInputSingleCall { params }, U256::ZERO)
                    .await
                    .unwrap();
            }
            connectors::v3::SwapRouterKind::SwapRouterWithDeadline => {
                let params = ISwapRouterWithDeadline::ExactInputSingleParams {
                    tokenIn: usdc,
                    tokenOut: weth,
                    fee: U24::from(fee),
                    recipient: trader,
                    deadline: U256::from(u64::MAX),
                    amountIn: amount_in,
                    amountOutMinimum: quote.amountOut,
                    sqrtPriceLimitX96: Default::default(),
                };
                chain
                    .send(trader, v3.swap_router, ISwapRouterWithDeadline::exactInputSingleCall { params }, U256::ZERO)
                    .await
                    .unwrap();
            }
        }
        assert_eq!(weth_balance().await - before, quote.amountOut, "{connector}: received exactly the quote");
    }
}

/// The pool lenses' committed bytecode is what their sources compile to (solc 0.7.6, as the devnet compiles).
#[tokio::test]
async fn the_pool_lens_bytecode_is_built_from_its_source() {
    let _devnet = common::devnet().await;
    let compiled = gateway::devnet::DevnetAssets::locate().compile_own_contracts().unwrap();
    for (name, committed) in [
        ("PoolStateLens", connectors::v3::pool::POOL_STATE_LENS_HEX),
        ("V4PoolStateLens", connectors::v4::pool::V4_POOL_STATE_LENS_HEX),
    ] {
        let built = alloy::hex::encode(&compiled[name]);
        assert!(built == committed.trim(), "connectors/contracts/{name}.hex is stale; write this into it:\n{built}");
    }
}

/// The devnet's V4 pools' keys.
fn v4_pools(devnet: &gateway::devnet::Devnet) -> Vec<connectors::v4::PoolKey> {
    let v4 = dex::Registry::builtin().find("uniswap", "devnet").unwrap().v4.unwrap();
    let pools = devnet.deployment().pools.iter().filter(|pool| matches!(pool.address, PoolAddress::Id(_)));
    let keys: Vec<_> = pools
        .map(|pool| {
            let tier = *v4.fee_tiers.iter().find(|tier| tier.fee == pool.fee).unwrap();
            v4.hookless_key(pool.base_address, pool.quote_address, tier)
        })
        .collect();
    assert_eq!(keys.len(), 3, "ETH/USDC 0.05 %, WETH/USDC 0.3 % and WBTC/ETH 0.3 %");
    keys
}

/// Swaps simulated on a V4 pool's state, as the lens reads it, are what the on-chain V4Quoter answers, to the
/// wei: both directions, exact in and exact out, native ETH and ERC-20 legs, small and price-moving amounts.
#[tokio::test]
async fn v4_quotes_on_the_read_state_equal_the_v4_quoter() {
    use connectors::core::route::SwapAmount;
    use connectors::v4::IV4Quoter;
    let devnet = common::devnet().await;
    let gateway = common::TestGateway::on_devnet(&devnet).await;
    let network = gateway.devnet_network();
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let v4 = dex::Registry::builtin().find("uniswap", "devnet").unwrap().v4.unwrap();
    let quoter = IV4Quoter::new(v4.quoter, &chain.provider);
    let block = chain.provider.get_block_number().await.unwrap();
    for key in v4_pools(&devnet) {
        let pool = connectors::v4::pool::V4PoolState::load(&network, &v4, key.id(), block).await.unwrap();
        assert_eq!(pool.key, key);
        assert!(pool.liquidity > 0 && pool.ticks.len() >= 4, "{key:?}: two positions' ticks");
        for zero_for_one in [true, false] {
            let currency_in = if zero_for_one { key.currency0 } else { key.currency1 };
            let decimals = match devnet.deployment().tokens.iter().find(|t| t.address == currency_in) {
                Some(token) => token.decimals,
                None => 18,
            };
            for amount in [common::raw("0.01", decimals), common::raw("10", decimals)] {
                let params = |exact: U256| IV4Quoter::QuoteExactSingleParams {
                    poolKey: key.clone(),
                    zeroForOne: zero_for_one,
                    exactAmount: exact.to(),
                    hookData: Default::default(),
                };
                let sold = pool.swap(currency_in, SwapAmount::ExactIn(amount)).await.unwrap();
                let quoted = quoter.quoteExactInputSingle(params(amount)).call().await.unwrap();
                assert_eq!(sold.amount_out, quoted.amountOut, "{key:?} in {zero_for_one} {amount}");
                let bought = pool.swap(currency_in, SwapAmount::ExactOut(sold.amount_out)).await.unwrap();
                let quoted = quoter.quoteExactOutputSingle(params(sold.amount_out)).call().await.unwrap();
                assert_eq!(bought.amount_in, quoted.amountIn, "{key:?} out {zero_for_one} {}", sold.amount_out);
            }
        }
    }
    let unknown = alloy::primitives::B256::repeat_byte(7);
    let refused = connectors::v4::pool::V4PoolState::load(&network, &v4, unknown, block).await.unwrap_err();
    assert!(matches!(refused, connectors::core::error::ConnectorError::NotAPool(_)), "{refused}");
}

/// `gateway devnet` keeps its secrets from the node it runs: anvil's environment, readable wherever its process
/// is, holds no passphrase.
#[test]
fn the_devnet_node_is_not_given_the_gateways_secrets() {
    let conf = tempfile::tempdir().unwrap();
    let passphrase = "devnet secret words";
    let mut gateway = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["devnet", "--port", "0", "--rpc-port", &common::free_port().to_string()])
        .args(["--conf", conf.path().to_str().unwrap()])
        .env("GATEWAY_PASSPHRASE", passphrase)
        .env("GATEWAY_BIND_ADDRESS", common::LOOPBACK)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its first address printed is the node's: it runs. What it prints is read to the end, so it never writes
    // into a closed pipe.
    let stdout = gateway.stdout.take().unwrap();
    let (found, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let node = lines.by_ref().map_while(Result::ok).find(|line| line.contains("http://"));
        let _ = found.send(node);
        lines.for_each(drop);
    });
    let node = printed.recv().unwrap().expect("gateway devnet starts a node");
    let children: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", gateway.id()))
        .unwrap()
        .flat_map(|task| {
            std::fs::read_to_string(task.unwrap().path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let anvil = children
        .iter()
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("anvil"))
        })
        .unwrap_or_else(|| panic!("anvil among {children:?}, serving {node}"));
    let environment = String::from_utf8_lossy(&std::fs::read(format!("/proc/{anvil}/environ")).unwrap()).into_owned();
    let _ = std::process::Command::new("kill").arg(gateway.id().to_string()).status();
    let _ = gateway.wait();
    assert!(environment.contains("GATEWAY_BIND_ADDRESS"), "the node's environment was read");
    assert!(!environment.contains(passphrase), "anvil's environment holds the passphrase");
}
