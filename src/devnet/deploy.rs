//! Deploys the protocols onto a fresh anvil, from the bytecode their npm packages ship, and moves each core
//! contract to its canonical mainnet address, so pools created on the devnet land at their mainnet addresses.

use alloy::primitives::aliases::{I24, U24, U160};
use alloy::primitives::{Address, B256, U256, address, keccak256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::sol_types::{SolCall, SolValue};
use chains::contracts::{IERC20, IWETH9, MULTICALL3};
use connectors::dex::Registry;
use connectors::v2::{IUniswapV2Router02, V2Deployment, sort_tokens};
use connectors::v3::{INonfungiblePositionManager, IUniswapV3Factory, IUniswapV3Pool, V3Deployment};

use super::assets::DevnetAssets;
use super::{Deployment, DevnetError, DevnetPool, DevnetToken, Unlocked, rpc};

pub const WETH: Address = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");

struct TokenSpec {
    symbol: &'static str,
    name: &'static str,
    decimals: u8,
    address: Address,
    /// Whole tokens minted to the deployer (the liquidity provider) and to every other account.
    deployer_amount: u64,
    account_amount: u64,
}

const TOKENS: [TokenSpec; 8] = [
    TokenSpec {
        symbol: "USDC",
        name: "USD Coin",
        decimals: 6,
        address: address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000_000,
    },
    TokenSpec {
        symbol: "USDT",
        name: "Tether USD",
        decimals: 6,
        address: address!("0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000_000,
    },
    TokenSpec {
        symbol: "DAI",
        name: "Dai Stablecoin",
        decimals: 18,
        address: address!("0x6B175474E89094C44Da98b954EedeAC495271d0F"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000_000,
    },
    TokenSpec {
        symbol: "WBTC",
        name: "Wrapped BTC",
        decimals: 8,
        address: address!("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"),
        deployer_amount: 1_000_000,
        account_amount: 100,
    },
    TokenSpec {
        symbol: "LINK",
        name: "ChainLink Token",
        decimals: 18,
        address: address!("0x514910771AF9Ca656af840dff83E8264EcF986CA"),
        deployer_amount: 1_000_000_000,
        account_amount: 100_000,
    },
    TokenSpec {
        symbol: "UNI",
        name: "Uniswap",
        decimals: 18,
        address: address!("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984"),
        deployer_amount: 1_000_000_000,
        account_amount: 100_000,
    },
    TokenSpec {
        symbol: "AAVE",
        name: "Aave Token",
        decimals: 18,
        address: address!("0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9"),
        deployer_amount: 1_000_000_000,
        account_amount: 10_000,
    },
    TokenSpec {
        symbol: "MKR",
        name: "Maker",
        decimals: 18,
        address: address!("0x9f8F72aA9304c8B593d555F12eF6589cC3A579A2"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000,
    },
];

/// ETH each non-deployer account wraps into WETH at deploy time.
const ACCOUNT_WETH: u64 = 1_000;
const DEPLOYER_WETH: u64 = 100_000;

/// A pool to create: base and quote as the pool lists name them, and the liquidity (whole tokens) to add.
struct PoolSpec {
    base: (&'static str, u64),
    quote: (&'static str, u64),
    fee: u32,
}

const UNISWAP_V2_POOLS: [PoolSpec; 3] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 0 },
    PoolSpec { base: ("DAI", 1_000_000), quote: ("USDC", 1_000_000), fee: 0 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 0 },
];

const UNISWAP_V3_POOLS: [PoolSpec; 4] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 500 },
    PoolSpec { base: ("WETH", 500), quote: ("USDC", 1_500_000), fee: 3000 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 3000 },
    PoolSpec { base: ("DAI", 1_000_000), quote: ("USDC", 1_000_000), fee: 100 },
];

const PANCAKE_V2_POOLS: [PoolSpec; 2] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 0 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 0 },
];

const PANCAKE_V3_POOLS: [PoolSpec; 3] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 500 },
    PoolSpec { base: ("WETH", 500), quote: ("USDC", 1_500_000), fee: 2500 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 2500 },
];

/// Uniswap V3's mainnet factory also has the 0.01 % tier, which the npm build does not enable by default.
const LOWEST_FEE_TIER: (u32, i32) = (100, 1);

const UNISWAP_V3_PERIPHERY: &str = "@uniswap/v3-periphery";
const PANCAKE_V3_PERIPHERY: &str = "@pancakeswap/v3-periphery";

pub async fn deploy(
    rpc_url: &str,
    assets: &DevnetAssets,
    accounts: &[Address],
    progress: &dyn Fn(&str),
) -> Result<Deployment, DevnetError> {
    let chain = Unlocked::new(rpc_url, accounts[0])?;
    let own = assets.compile_own_contracts()?;
    let own_code =
        |name: &str| own.get(name).cloned().ok_or_else(|| DevnetError::Artifact(format!("solc produced no {name}")));
    let chain_id = chain.provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;

    progress("deploying WETH9 and the test tokens at their mainnet addresses");
    let weth = chain.deploy(assets.creation_code("@uniswap/v2-periphery", "build/WETH9.json")?, vec![]).await?;
    chain.relocate(weth, WETH).await?;
    let mut tokens =
        vec![DevnetToken { symbol: "WETH".into(), name: "Wrapped Ether".into(), address: WETH, decimals: 18 }];
    for (i, &account) in accounts.iter().enumerate() {
        let amount = if i == 0 { DEPLOYER_WETH } else { ACCOUNT_WETH };
        chain.send(account, WETH, IWETH9::depositCall {}, units(amount, 18)).await?;
    }
    let test_token = own_code("TestToken")?;
    for spec in &TOKENS {
        let args = (spec.name.to_string(), spec.symbol.to_string(), U256::from(spec.decimals)).abi_encode_params();
        let created = chain.deploy(test_token.clone(), args).await?;
        chain.relocate(created, spec.address).await?;
        for (i, &account) in accounts.iter().enumerate() {
            let amount = if i == 0 { spec.deployer_amount } else { spec.account_amount };
            let mint = TestTokenMint { to: account, value: units(amount, spec.decimals) };
            chain.send(chain.deployer, spec.address, mint, U256::ZERO).await?;
        }
        tokens.push(DevnetToken {
            symbol: spec.symbol.into(),
            name: spec.name.into(),
            address: spec.address,
            decimals: spec.decimals,
        });
    }
    let token = |symbol: &str| tokens.iter().find(|t| t.symbol == symbol).cloned().expect("pool tokens are deployed");
    let mut pools = Vec::new();

    progress("deploying Multicall3");
    let multicall = chain.deploy(assets.multicall3_code()?, vec![]).await?;
    chain.relocate(multicall, MULTICALL3).await?;

    progress("deploying Uniswap V2 (factory, Router02) and its pairs");
    let registry = Registry::builtin();
    let uniswap = registry.find("uniswap", super::NETWORK).expect("uniswap is described for the devnet");
    let v2 = uniswap.v2.expect("uniswap has V2 on the devnet");
    let factory = chain
        .deploy(assets.creation_code("@uniswap/v2-core", "build/UniswapV2Factory.json")?, chain.deployer.abi_encode())
        .await?;
    chain.relocate(factory, v2.factory).await?;
    let router = chain
        .deploy(
            assets.creation_code("@uniswap/v2-periphery", "build/UniswapV2Router02.json")?,
            (v2.factory, WETH).abi_encode_params(),
        )
        .await?;
    chain.relocate(router, v2.router).await?;
    chain.approve_all(&tokens, v2.router).await?;
    for spec in &UNISWAP_V2_POOLS {
        pools.push(chain.v2_pair(&v2, "uniswap", spec, &token).await?);
    }

    progress("deploying Uniswap V3 (factory, NonfungiblePositionManager, SwapRouter02, QuoterV2) and its pools");
    let v3 = uniswap.v3.expect("uniswap has V3 on the devnet");
    let factory = chain
        .deploy(
            assets
                .creation_code("@uniswap/v3-core", "artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json")?,
            vec![],
        )
        .await?;
    chain.relocate(factory, v3.factory).await?;
    let (fee, spacing) = LOWEST_FEE_TIER;
    chain
        .call(v3.factory, IUniswapV3Factory::enableFeeAmountCall { fee: U24::from(fee), tickSpacing: int24(spacing) })
        .await?;
    let periphery = |path: &str| assets.creation_code(UNISWAP_V3_PERIPHERY, path);
    let npm = chain
        .deploy(
            periphery("artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json")?,
            (v3.factory, WETH, Address::ZERO).abi_encode_params(),
        )
        .await?;
    chain.relocate(npm, v3.position_manager).await?;
    let router02 = chain
        .deploy(
            assets.creation_code(
                "@uniswap/swap-router-contracts",
                "artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
            )?,
            (v2.factory, v3.factory, v3.position_manager, WETH).abi_encode_params(),
        )
        .await?;
    chain.relocate(router02, v3.swap_router).await?;
    let quoter = chain
        .deploy(
            periphery("artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json")?,
            (v3.factory, WETH).abi_encode_params(),
        )
        .await?;
    chain.relocate(quoter, v3.quoter_v2).await?;
    chain.approve_all(&tokens, v3.position_manager).await?;
    chain.approve_all(&tokens, v3.swap_router).await?;
    for spec in &UNISWAP_V3_POOLS {
        pools.push(chain.v3_pool(&v3, "uniswap", spec, &token).await?);
    }

    progress("deploying PancakeSwap V3 (pool deployer, factory, periphery) and its pools");
    let v3 = registry.find("pancakeswap", super::NETWORK).and_then(|p| p.v3).expect("pancakeswap has V3 on the devnet");
    let pool_code =
        assets.creation_code("@pancakeswap/v3-core", "artifacts/contracts/PancakeV3Pool.sol/PancakeV3Pool.json")?;
    let holder = chain.deploy(own_code("InitCodeHolder")?, (pool_code,).abi_encode_params()).await?;
    let deployer = chain.deploy(own_code("PancakeV3PoolDeployer")?, holder.abi_encode()).await?;
    chain.relocate(deployer, v3.pool_deployer).await?;
    chain.call(v3.pool_deployer, SetFactoryAddress { factory: v3.factory }).await?;
    let factory = chain
        .deploy(
            assets.creation_code(
                "@pancakeswap/v3-core",
                "artifacts/contracts/PancakeV3Factory.sol/PancakeV3Factory.json",
            )?,
            v3.pool_deployer.abi_encode(),
        )
        .await?;
    chain.relocate(factory, v3.factory).await?;
    let periphery = |path: &str| assets.creation_code(PANCAKE_V3_PERIPHERY, path);
    let ctor = (v3.pool_deployer, v3.factory, WETH);
    let npm = chain
        .deploy(
            periphery("artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json")?,
            (v3.pool_deployer, v3.factory, WETH, Address::ZERO).abi_encode_params(),
        )
        .await?;
    chain.relocate(npm, v3.position_manager).await?;
    let router = chain
        .deploy(periphery("artifacts/contracts/SwapRouter.sol/SwapRouter.json")?, ctor.abi_encode_params())
        .await?;
    chain.relocate(router, v3.swap_router).await?;
    let quoter = chain
        .deploy(periphery("artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json")?, ctor.abi_encode_params())
        .await?;
    chain.relocate(quoter, v3.quoter_v2).await?;
    chain.approve_all(&tokens, v3.position_manager).await?;
    chain.approve_all(&tokens, v3.swap_router).await?;
    for spec in &PANCAKE_V3_POOLS {
        pools.push(chain.v3_pool(&v3, "pancakeswap", spec, &token).await?);
    }

    progress("deploying PancakeSwap V2 (factory, a Router02 built for its pairs) and its pairs");
    let v2 = registry.find("pancakeswap", super::NETWORK).and_then(|p| p.v2).expect("pancakeswap has V2 on the devnet");
    let core = "@pancakeswap-libs/pancake-swap-core";
    let pair_hash = keccak256(assets.creation_code(core, "build/PancakePair.json")?);
    if pair_hash != v2.pair_init_code_hash {
        return Err(DevnetError::Step(format!(
            "connectors/deployments.json: pancakeswap devnet pairInitCodeHash must be {pair_hash}, the npm pair's"
        )));
    }
    let factory =
        chain.deploy(assets.creation_code(core, "build/PancakeFactory.json")?, chain.deployer.abi_encode()).await?;
    chain.relocate(factory, v2.factory).await?;
    let router_code = assets.compile_v2_router(v2.pair_init_code_hash, v2.fee_bps / 10)?;
    let router = chain.deploy(router_code, (v2.factory, WETH).abi_encode_params()).await?;
    chain.relocate(router, v2.router).await?;
    chain.approve_all(&tokens, v2.router).await?;
    for spec in &PANCAKE_V2_POOLS {
        pools.push(chain.v2_pair(&v2, "pancakeswap", spec, &token).await?);
    }

    progress("deploying the 0x Exchange Proxy with its limit-order features");
    deploy_zero_ex(&chain, assets).await?;

    Ok(Deployment { chain_id, tokens, pools })
}

const ZERO_EX: &str = "@0x/contracts-zero-ex";

/// 0x v4 as its migration does it, at a temporary address (the bootstrap checks the proxy's own address), then
/// moved to the canonical one. NativeOrdersFeature is built for the canonical address: its EIP-712 domain is a
/// hash fixed at construction. A protocol fee multiplier of 0 means fills need no ETH.
async fn deploy_zero_ex(chain: &Unlocked, assets: &DevnetAssets) -> Result<(), DevnetError> {
    let artifact = |name: &str| assets.creation_code(ZERO_EX, &format!("lib/generated-artifacts/{name}.json"));
    let owner = chain.deployer;
    let migration = chain.deploy(artifact("InitialMigration")?, owner.abi_encode()).await?;
    let proxy = chain.deploy(artifact("ZeroEx")?, migration.abi_encode()).await?;
    let registry = chain.deploy(artifact("SimpleFunctionRegistryFeature")?, vec![]).await?;
    let ownable = chain.deploy(artifact("OwnableFeature")?, vec![]).await?;
    chain
        .call(migration, InitializeZeroEx { owner, zeroEx: proxy, features: BootstrapFeatures { registry, ownable } })
        .await?;
    let fee_collector =
        chain.deploy(artifact("FeeCollectorController")?, (WETH, Address::ZERO).abi_encode_params()).await?;
    let canonical = connectors::clob::zeroex::EXCHANGE_PROXY;
    let native_orders = chain
        .deploy(
            artifact("NativeOrdersFeature")?,
            (canonical, WETH, Address::ZERO, fee_collector, 0u32).abi_encode_params(),
        )
        .await?;
    let batch_fill = chain.deploy(artifact("BatchFillNativeOrdersFeature")?, canonical.abi_encode()).await?;
    for feature in [native_orders, batch_fill] {
        let register = MigrateFeature { target: feature, data: MigrateCall {}.abi_encode().into(), newOwner: owner };
        chain.call(proxy, register).await?;
    }
    chain.relocate(proxy, canonical).await
}

alloy::sol! {
    struct BootstrapFeatures {
        address registry;
        address ownable;
    }
    function initializeZeroEx(address owner, address zeroEx, BootstrapFeatures features) external;
    function migrate(address target, bytes data, address newOwner) external;
    function migrate() external;
}
use initializeZeroExCall as InitializeZeroEx;
use migrate_0Call as MigrateFeature;
use migrate_1Call as MigrateCall;

alloy::sol! {
    #[sol(rpc)]
    function mint(address to, uint256 value) external;
    function setFactoryAddress(address factory) external;
}
use mintCall as TestTokenMint;
use setFactoryAddressCall as SetFactoryAddress;

impl Unlocked {
    /// Moves a deployed contract to `target`: its code (with its own address inside it rewritten, which
    /// immutables such as Uniswap V3's NoDelegateCall hold) and every storage slot its constructor wrote.
    async fn relocate(&self, deployed: Address, target: Address) -> Result<(), DevnetError> {
        let code = self.provider.get_code_at(deployed).await.map_err(rpc("eth_getCode"))?;
        let patched = replace_all(&code, deployed.as_slice(), target.as_slice());
        self.provider.anvil_set_code(target, patched.into()).await.map_err(rpc("anvil_setCode"))?;
        let dump = self.provider.anvil_dump_state().await.map_err(rpc("anvil_dumpState"))?;
        let state = super::decode_state_dump(&dump)?;
        let account = state["accounts"]
            .as_object()
            .and_then(|accounts| {
                accounts.iter().find(|(key, _)| key.parse::<Address>().is_ok_and(|a| a == deployed)).map(|(_, v)| v)
            })
            .ok_or_else(|| DevnetError::Step(format!("{deployed} is not in anvil's state dump")))?;
        for (slot, value) in account["storage"].as_object().into_iter().flatten() {
            let slot: U256 = slot.parse().map_err(|e| DevnetError::Step(format!("storage slot {slot}: {e}")))?;
            let value: U256 = value
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e| DevnetError::Step(format!("storage value {value}: {e}")))?;
            self.provider
                .anvil_set_storage_at(target, slot, B256::from(value))
                .await
                .map_err(rpc("anvil_setStorageAt"))?;
        }
        Ok(())
    }

    async fn approve_all(&self, tokens: &[DevnetToken], spender: Address) -> Result<(), DevnetError> {
        for token in tokens {
            self.call(token.address, IERC20::approveCall { spender, amount: U256::MAX }).await?;
        }
        Ok(())
    }

    async fn v2_pair(
        &self,
        v2: &V2Deployment,
        connector: &str,
        spec: &PoolSpec,
        token: &dyn Fn(&str) -> DevnetToken,
    ) -> Result<DevnetPool, DevnetError> {
        let (base, quote) = (token(spec.base.0), token(spec.quote.0));
        let deadline = U256::from(u64::MAX);
        self.call(
            v2.router,
            IUniswapV2Router02::addLiquidityCall {
                tokenA: base.address,
                tokenB: quote.address,
                amountADesired: units(spec.base.1, base.decimals),
                amountBDesired: units(spec.quote.1, quote.decimals),
                amountAMin: U256::ZERO,
                amountBMin: U256::ZERO,
                to: self.deployer,
                deadline,
            },
        )
        .await?;
        Ok(DevnetPool::new(connector, "amm", &base, &quote, v2.pair_address(base.address, quote.address), 0))
    }

    /// Creates a V3 pool at the liquidity's price and adds a full-range and a concentrated (about ±20 %) position.
    async fn v3_pool(
        &self,
        v3: &V3Deployment,
        connector: &str,
        spec: &PoolSpec,
        token: &dyn Fn(&str) -> DevnetToken,
    ) -> Result<DevnetPool, DevnetError> {
        let (base, quote) = (token(spec.base.0), token(spec.quote.0));
        let (base_amount, quote_amount) = (units(spec.base.1, base.decimals), units(spec.quote.1, quote.decimals));
        let (token0, token1) = sort_tokens(base.address, quote.address);
        let (amount0, amount1) =
            if token0 == base.address { (base_amount, quote_amount) } else { (quote_amount, base_amount) };
        // amount1 << 192 needs more than 256 bits.
        let ratio_x192 = (alloy::primitives::U512::from(amount1) << 192usize) / alloy::primitives::U512::from(amount0);
        let sqrt_price_x96: U160 = ratio_x192.root(2).to();
        let fee = U24::from(spec.fee);
        self.call(
            v3.position_manager,
            INonfungiblePositionManager::createAndInitializePoolIfNecessaryCall {
                token0,
                token1,
                fee,
                sqrtPriceX96: sqrt_price_x96,
            },
        )
        .await?;
        let pool = v3.pool_address(token0, token1, spec.fee);
        let spacing = v3
            .tick_spacing(spec.fee)
            .ok_or_else(|| DevnetError::Step(format!("{connector} has no fee tier {}", spec.fee)))?;
        const MAX_TICK: i32 = 887_272;
        let full_range = (-(MAX_TICK / spacing) * spacing, (MAX_TICK / spacing) * spacing);
        let slot0 = IUniswapV3Pool::new(pool, &self.provider).slot0().call().await.map_err(rpc("slot0"))?;
        let tick = slot0.tick.as_i32();
        let concentrated =
            ((tick - 2000).div_euclid(spacing) * spacing, (tick + 2000 + spacing - 1).div_euclid(spacing) * spacing);
        for (lower, upper) in [full_range, concentrated] {
            let params = INonfungiblePositionManager::MintParams {
                token0,
                token1,
                fee,
                tickLower: int24(lower),
                tickUpper: int24(upper),
                amount0Desired: amount0,
                amount1Desired: amount1,
                amount0Min: U256::ZERO,
                amount1Min: U256::ZERO,
                recipient: self.deployer,
                deadline: U256::from(u64::MAX),
            };
            self.call(v3.position_manager, INonfungiblePositionManager::mintCall { params }).await?;
        }
        Ok(DevnetPool::new(connector, "clmm", &base, &quote, pool, spec.fee))
    }
}

fn units(whole: u64, decimals: u8) -> U256 {
    U256::from(whole) * U256::from(10).pow(U256::from(decimals))
}

fn int24(value: i32) -> I24 {
    I24::try_from(value).expect("ticks fit in 24 bits")
}

fn replace_all(haystack: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
    let mut out = haystack.to_vec();
    let mut i = 0;
    while i + needle.len() <= out.len() {
        if &out[i..i + needle.len()] == needle {
            out[i..i + needle.len()].copy_from_slice(replacement);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}
