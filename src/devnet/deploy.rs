//! Deploys the protocols onto a fresh anvil, from the bytecode their npm packages ship, and moves each core
//! contract to its canonical address (mainnet's, or the `--like` network's), so pools created on the devnet land
//! where the connector computes them.

use alloy::primitives::aliases::{I24, U24, U160};
use alloy::primitives::{Address, B256, U256, address, keccak256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::sol_types::{SolCall, SolValue};
use chains::contracts::{IERC20, IWETH9, MULTICALL3};
use connectors::clmm::ticks::liquidity_for_amounts;
use connectors::core::family::TradingType;
use connectors::core::route::sort_tokens;
use connectors::dex::Registry;
use connectors::v2::{IUniswapV2Router02, V2Deployment};
use connectors::v3::{INonfungiblePositionManager, IUniswapV3Factory, IUniswapV3Pool, V3Deployment};
use connectors::v4::{IPositionManager, IStateView, Plan, V4Deployment, actions};

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
struct PoolSpec<'a> {
    base: (&'a str, u64),
    quote: (&'a str, u64),
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

/// V4 trades native ETH: "ETH" in a pool spec is the zero currency, not WETH.
const UNISWAP_V4_POOLS: [PoolSpec; 3] = [
    PoolSpec { base: ("ETH", 1_000), quote: ("USDC", 3_000_000), fee: 500 },
    PoolSpec { base: ("WETH", 500), quote: ("USDC", 1_500_000), fee: 3000 },
    PoolSpec { base: ("WBTC", 50), quote: ("ETH", 1_000), fee: 3000 },
];

/// A `--like` devnet's tokens: whole tokens minted to the deployer and to every other account, whatever the token.
const LIKE_DEPLOYER_AMOUNT: u64 = 1_000_000_000;
const LIKE_ACCOUNT_AMOUNT: u64 = 1_000_000;

const UNISWAP_V3_PERIPHERY: &str = "@uniswap/v3-periphery";
const PANCAKE_V3_PERIPHERY: &str = "@pancakeswap/v3-periphery";
const PANCAKE_V2_CORE: &str = "@pancakeswap-libs/pancake-swap-core";
const UNISWAP_V4_CORE: &str = "@uniswap/v4-core";
const UNISWAP_V4_PERIPHERY: &str = "@uniswap/v4-periphery";
const UNIVERSAL_ROUTER: &str = "@uniswap/universal-router";
/// What PositionManager gives a subscriber to a position to handle its unsubscription (mainnet's deployment).
const UNSUBSCRIBE_GAS_LIMIT: u64 = 300_000;

/// Deploys what a devnet like `profile`'s network holds: the plain devnet's tokens, pools and protocols at
/// mainnet's addresses, or, for another network, its own token list and protocols at its own addresses.
pub async fn deploy(
    rpc_url: &str,
    assets: &DevnetAssets,
    accounts: &[Address],
    profile: super::Profile,
    progress: &dyn Fn(&str),
) -> Result<Deployment, DevnetError> {
    let chain = Unlocked::new(rpc_url, accounts[0])?;
    let own = assets.compile_own_contracts()?;
    let chain_id = chain.provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;
    let steps = Steps { chain, assets, own, accounts };
    let (tokens, pools) = match profile.is_plain() {
        true => steps.plain(progress).await?,
        false => steps.like(profile.name, progress).await?,
    };
    Ok(Deployment { chain_id, tokens, pools })
}

/// What every deploy step needs.
struct Steps<'a> {
    chain: Unlocked,
    assets: &'a DevnetAssets,
    own: std::collections::BTreeMap<String, alloy::primitives::Bytes>,
    accounts: &'a [Address],
}

type Deployed = (Vec<DevnetToken>, Vec<DevnetPool>);

impl Steps<'_> {
    fn own_code(&self, name: &str) -> Result<alloy::primitives::Bytes, DevnetError> {
        self.own.get(name).cloned().ok_or_else(|| DevnetError::Artifact(format!("solc produced no {name}")))
    }

    async fn plain(&self, progress: &dyn Fn(&str)) -> Result<Deployed, DevnetError> {
        let chain = &self.chain;
        progress("deploying WETH9 and the test tokens at their mainnet addresses");
        let weth = DevnetToken { symbol: "WETH".into(), name: "Wrapped Ether".into(), address: WETH, decimals: 18 };
        self.wrapped_native(&weth).await?;
        let mut tokens = vec![weth];
        for spec in &TOKENS {
            let token = DevnetToken {
                symbol: spec.symbol.into(),
                name: spec.name.into(),
                address: spec.address,
                decimals: spec.decimals,
            };
            self.test_token(&token, spec.deployer_amount, spec.account_amount).await?;
            tokens.push(token);
        }
        let token =
            |symbol: &str| tokens.iter().find(|t| t.symbol == symbol).cloned().expect("pool tokens are deployed");
        let mut pools = Vec::new();
        self.multicall3(progress).await?;

        let registry = Registry::builtin();
        let uniswap = registry.find("uniswap", crate::rehearsal::NETWORK).expect("uniswap is described for the devnet");
        let v2 = uniswap.v2.expect("uniswap has V2 on the devnet");
        self.uniswap_v2(&v2, WETH, &tokens, progress).await?;
        for spec in &UNISWAP_V2_POOLS {
            pools.push(chain.v2_pair(&v2, "uniswap", spec, &token).await?);
        }
        let v3 = uniswap.v3.expect("uniswap has V3 on the devnet");
        self.uniswap_v3(&v3, v2.factory, WETH, &tokens, progress).await?;
        for spec in &UNISWAP_V3_POOLS {
            pools.push(chain.v3_pool(&v3, "uniswap", spec, &token).await?);
        }

        let v4 = uniswap.v4.expect("uniswap has V4 on the devnet");
        self.uniswap_v4(&v4, Some(&v2), Some(&v3), WETH, &tokens, progress).await?;
        for spec in &UNISWAP_V4_POOLS {
            pools.push(chain.v4_pool(&v4, spec, &token).await?);
        }

        let pancakeswap =
            registry.find("pancakeswap", crate::rehearsal::NETWORK).expect("pancakeswap is described for the devnet");
        let v3 = pancakeswap.v3.expect("pancakeswap has V3 on the devnet");
        self.pancakeswap_v3(&v3, WETH, &tokens, progress).await?;
        for spec in &PANCAKE_V3_POOLS {
            pools.push(chain.v3_pool(&v3, "pancakeswap", spec, &token).await?);
        }
        let v2 = pancakeswap.v2.expect("pancakeswap has V2 on the devnet");
        let pair_hash = keccak256(self.assets.creation_code(PANCAKE_V2_CORE, "build/PancakePair.json")?);
        if pair_hash != v2.pair_init_code_hash {
            return Err(DevnetError::Step(format!(
                "connectors/deployments.json: pancakeswap devnet pairInitCodeHash must be {pair_hash}, the npm pair's"
            )));
        }
        self.pancakeswap_v2(&v2, WETH, &tokens, progress).await?;
        for spec in &PANCAKE_V2_POOLS {
            pools.push(chain.v2_pair(&v2, "pancakeswap", spec, &token).await?);
        }

        progress("deploying the 0x Exchange Proxy with its limit-order features");
        deploy_zero_ex(chain, self.assets).await?;
        Ok((tokens, pools))
    }

    /// A devnet like `network`: every token of its token list and every protocol its deployments describe, at its
    /// addresses (our config's, so ours are what the tests exercise), and a pool of the wrapped native token
    /// against USDC on each. The pools are not listed: the gateway finds them through the factories.
    async fn like(&self, network: &str, progress: &dyn Fn(&str)) -> Result<Deployed, DevnetError> {
        let chain = &self.chain;
        let (settings, listed) = crate::config::network_template(network)
            .ok_or_else(|| DevnetError::Step(format!("no template describes network {network}")))?;
        let as_deployed = |t: &crate::config::ListedToken| DevnetToken {
            symbol: t.symbol.clone(),
            name: t.name.clone(),
            address: t.address,
            decimals: t.decimals,
        };
        // The native currency's wrapper, or its own ERC-20 where it has one (CELO on Celo, which the periphery
        // takes as its WETH9).
        let native = &settings.native_currency_symbol;
        let wrapped = listed
            .iter()
            .find(|t| t.symbol == format!("W{native}"))
            .or_else(|| listed.iter().find(|t| &t.symbol == native))
            .map(as_deployed)
            .ok_or_else(|| {
                DevnetError::Step(format!("tokens/ethereum/{network}.json lists neither W{native} nor {native}"))
            })?;
        progress(&format!(
            "deploying {} (WETH9) and the other tokens {network} lists, at its addresses",
            wrapped.symbol
        ));
        self.wrapped_native(&wrapped).await?;
        let mut tokens = vec![wrapped.clone()];
        for token in listed.iter().filter(|t| t.address != wrapped.address).map(as_deployed) {
            self.test_token(&token, LIKE_DEPLOYER_AMOUNT, LIKE_ACCOUNT_AMOUNT).await?;
            tokens.push(token);
        }
        let token =
            |symbol: &str| tokens.iter().find(|t| t.symbol == symbol).cloned().expect("pool tokens are deployed");
        if !tokens.iter().any(|t| t.symbol == "USDC") {
            return Err(DevnetError::Step(format!("tokens/ethereum/{network}.json lists no USDC to pool against")));
        }
        self.multicall3(progress).await?;

        let pair = |fee| PoolSpec { base: (wrapped.symbol.as_str(), 1_000), quote: ("USDC", 3_000_000), fee };
        let registry = Registry::builtin();
        let mut pools = Vec::new();
        if let Some(uniswap) = registry.find("uniswap", network) {
            let mut v2_factory = Address::ZERO;
            if let Some(v2) = &uniswap.v2 {
                self.uniswap_v2(v2, wrapped.address, &tokens, progress).await?;
                pools.push(chain.v2_pair(v2, "uniswap", &pair(0), &token).await?);
                v2_factory = v2.factory;
            }
            if let Some(v3) = &uniswap.v3 {
                self.uniswap_v3(v3, v2_factory, wrapped.address, &tokens, progress).await?;
                for fee in like_fees(v3) {
                    pools.push(chain.v3_pool(v3, "uniswap", &pair(fee), &token).await?);
                }
            }
            // V4's contracts, so approvals through Permit2 work as they do there; no V4 pool is created.
            if let Some(v4) = &uniswap.v4 {
                self.uniswap_v4(v4, uniswap.v2.as_ref(), uniswap.v3.as_ref(), wrapped.address, &tokens, progress)
                    .await?;
            }
        }
        if let Some(pancakeswap) = registry.find("pancakeswap", network) {
            if let Some(v3) = pancakeswap.v3 {
                self.pancakeswap_v3(&v3, wrapped.address, &tokens, progress).await?;
                for fee in like_fees(&v3) {
                    pools.push(chain.v3_pool(&v3, "pancakeswap", &pair(fee), &token).await?);
                }
            }
            if let Some(v2) = pancakeswap.v2 {
                let pair_hash = keccak256(self.assets.creation_code(PANCAKE_V2_CORE, "build/PancakePair.json")?);
                if pair_hash == v2.pair_init_code_hash {
                    self.pancakeswap_v2(&v2, wrapped.address, &tokens, progress).await?;
                    pools.push(chain.v2_pair(&v2, "pancakeswap", &pair(0), &token).await?);
                } else {
                    // The pair deployed there is not the one on npm: pairs made by the npm factory would not be
                    // where the connector looks for them.
                    progress(&format!(
                        "leaving PancakeSwap V2 out: {network}'s pairs have init code hash {}, npm's pair {pair_hash}",
                        v2.pair_init_code_hash
                    ));
                }
            }
        }
        Ok((tokens, pools))
    }

    /// WETH9 at `token`'s address, with the deployer and every account holding some of it.
    async fn wrapped_native(&self, token: &DevnetToken) -> Result<(), DevnetError> {
        let chain = &self.chain;
        chain
            .deploy_at(token.address, self.assets.creation_code("@uniswap/v2-periphery", "build/WETH9.json")?, vec![])
            .await?;
        for (i, &account) in self.accounts.iter().enumerate() {
            let amount = if i == 0 { DEPLOYER_WETH } else { ACCOUNT_WETH };
            chain.send(account, token.address, IWETH9::depositCall {}, units(amount, 18)).await?;
        }
        Ok(())
    }

    /// An ERC-20 at `token`'s address, `deployer_amount` whole tokens minted to the deployer and `account_amount`
    /// to every other account.
    async fn test_token(
        &self,
        token: &DevnetToken,
        deployer_amount: u64,
        account_amount: u64,
    ) -> Result<(), DevnetError> {
        let chain = &self.chain;
        let args = (token.name.clone(), token.symbol.clone(), U256::from(token.decimals)).abi_encode_params();
        chain.deploy_at(token.address, self.own_code("TestToken")?, args).await?;
        for (i, &account) in self.accounts.iter().enumerate() {
            let amount = if i == 0 { deployer_amount } else { account_amount };
            let mint = TestTokenMint { to: account, value: units(amount, token.decimals) };
            chain.send(chain.deployer, token.address, mint, U256::ZERO).await?;
        }
        Ok(())
    }

    async fn multicall3(&self, progress: &dyn Fn(&str)) -> Result<(), DevnetError> {
        progress("deploying Multicall3");
        self.chain.deploy_at(MULTICALL3, self.assets.multicall3_code()?, vec![]).await
    }

    /// A V2 family's factory (whose constructor takes its fee setter) and Router02, with every token approved to
    /// the router for adding liquidity.
    async fn v2_protocol(
        &self,
        v2: &V2Deployment,
        factory_code: alloy::primitives::Bytes,
        router_code: alloy::primitives::Bytes,
        weth: Address,
        tokens: &[DevnetToken],
    ) -> Result<(), DevnetError> {
        let chain = &self.chain;
        chain.deploy_at(v2.factory, factory_code, chain.deployer.abi_encode()).await?;
        chain.deploy_at(v2.router, router_code, (v2.factory, weth).abi_encode_params()).await?;
        chain.approve_all(tokens, v2.router).await
    }

    async fn uniswap_v2(
        &self,
        v2: &V2Deployment,
        weth: Address,
        tokens: &[DevnetToken],
        progress: &dyn Fn(&str),
    ) -> Result<(), DevnetError> {
        progress("deploying Uniswap V2 (factory, Router02) and its pairs");
        let factory = self.assets.creation_code("@uniswap/v2-core", "build/UniswapV2Factory.json")?;
        let router = self.assets.creation_code("@uniswap/v2-periphery", "build/UniswapV2Router02.json")?;
        self.v2_protocol(v2, factory, router, weth, tokens).await
    }

    /// `v2_factory` is SwapRouter02's V2 side: zero where the network has no Uniswap V2.
    async fn uniswap_v3(
        &self,
        v3: &V3Deployment,
        v2_factory: Address,
        weth: Address,
        tokens: &[DevnetToken],
        progress: &dyn Fn(&str),
    ) -> Result<(), DevnetError> {
        progress("deploying Uniswap V3 (factory, NonfungiblePositionManager, SwapRouter02, QuoterV2) and its pools");
        let (chain, assets) = (&self.chain, self.assets);
        chain
            .deploy_at(
                v3.factory,
                assets.creation_code(
                    "@uniswap/v3-core",
                    "artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
                )?,
                vec![],
            )
            .await?;
        // The npm build enables 0.05 %, 0.3 % and 1 %; the deployed factories also have the tiers enabled later.
        let factory = IUniswapV3Factory::new(v3.factory, &chain.provider);
        for tier in &v3.fee_tiers {
            let spacing =
                factory.feeAmountTickSpacing(U24::from(tier.fee)).call().await.map_err(rpc("feeAmountTickSpacing"))?;
            if spacing.as_i32() == 0 {
                let enable = IUniswapV3Factory::enableFeeAmountCall {
                    fee: U24::from(tier.fee),
                    tickSpacing: int24(tier.tick_spacing),
                };
                chain.call(v3.factory, enable).await?;
            }
        }
        let periphery = |path: &str| assets.creation_code(UNISWAP_V3_PERIPHERY, path);
        let router02 = assets.creation_code(
            "@uniswap/swap-router-contracts",
            "artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
        )?;
        let parts = [
            (
                periphery("artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json")?,
                (v3.factory, weth, Address::ZERO).abi_encode_params(),
            ),
            (router02, (v2_factory, v3.factory, v3.position_manager, weth).abi_encode_params()),
            (periphery("artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json")?, (v3.factory, weth).abi_encode_params()),
        ];
        self.v3_periphery(v3, parts, tokens).await
    }

    /// A V3 family's position manager, swap router and quoter, each from its code and constructor arguments,
    /// with every token approved to the first two for adding liquidity and swapping.
    async fn v3_periphery(
        &self,
        v3: &V3Deployment,
        parts: [(alloy::primitives::Bytes, Vec<u8>); 3],
        tokens: &[DevnetToken],
    ) -> Result<(), DevnetError> {
        let targets = [v3.position_manager, v3.swap_router, v3.quoter_v2];
        for ((code, args), target) in parts.into_iter().zip(targets) {
            self.chain.deploy_at(target, code, args).await?;
        }
        self.chain.approve_all(tokens, v3.position_manager).await?;
        self.chain.approve_all(tokens, v3.swap_router).await
    }

    /// Permit2 (placed as runtime code: it ships none to deploy), the PoolManager, its periphery and the
    /// UniversalRouter, which also swaps through `v2`'s and `v3`'s pools where the network has them. The deployer
    /// pays through Permit2.
    async fn uniswap_v4(
        &self,
        v4: &V4Deployment,
        v2: Option<&V2Deployment>,
        v3: Option<&V3Deployment>,
        weth: Address,
        tokens: &[DevnetToken],
        progress: &dyn Fn(&str),
    ) -> Result<(), DevnetError> {
        progress("deploying Uniswap V4 (PoolManager, PositionManager, StateView, V4Quoter, Permit2, UniversalRouter)");
        let (chain, assets) = (&self.chain, self.assets);
        chain
            .provider
            .anvil_set_code(v4.permit2, assets.permit2_runtime_code()?)
            .await
            .map_err(rpc("anvil_setCode"))?;
        let core = assets.creation_code(UNISWAP_V4_CORE, "out/PoolManager.sol/PoolManager.json")?;
        chain.deploy_at(v4.pool_manager, core, chain.deployer.abi_encode()).await?;
        let periphery =
            |name: &str| assets.creation_code(UNISWAP_V4_PERIPHERY, &format!("foundry-out/{name}.sol/{name}.json"));
        let position_manager_args =
            (v4.pool_manager, v4.permit2, U256::from(UNSUBSCRIBE_GAS_LIMIT), Address::ZERO, weth).abi_encode_params();
        chain.deploy_at(v4.position_manager, periphery("PositionManager")?, position_manager_args).await?;
        chain.deploy_at(v4.state_view, periphery("StateView")?, v4.pool_manager.abi_encode()).await?;
        chain.deploy_at(v4.quoter, periphery("V4Quoter")?, v4.pool_manager.abi_encode()).await?;
        let parameters = RouterParameters {
            permit2: v4.permit2,
            weth9: weth,
            v2Factory: v2.map_or(Address::ZERO, |v2| v2.factory),
            v3Factory: v3.map_or(Address::ZERO, |v3| v3.factory),
            pairInitCodeHash: v2.map_or(B256::ZERO, |v2| v2.pair_init_code_hash),
            poolInitCodeHash: v3.map_or(B256::ZERO, |v3| v3.pool_init_code_hash),
            v4PoolManager: v4.pool_manager,
            v3NFTPositionManager: v3.map_or(Address::ZERO, |v3| v3.position_manager),
            v4PositionManager: v4.position_manager,
            spokePool: Address::ZERO,
        };
        let router =
            assets.creation_code(UNIVERSAL_ROUTER, "artifacts/contracts/UniversalRouter.sol/UniversalRouter.json")?;
        chain.deploy_at(v4.universal_router, router, parameters.abi_encode()).await?;
        chain.approve_all(tokens, v4.permit2).await?;
        for token in tokens {
            let approve = chains::permit2::IPermit2::approveCall {
                token: token.address,
                spender: v4.position_manager,
                amount: U160::MAX,
                expiration: alloy::primitives::aliases::U48::MAX,
            };
            chain.call(v4.permit2, approve).await?;
        }
        Ok(())
    }

    async fn pancakeswap_v3(
        &self,
        v3: &V3Deployment,
        weth: Address,
        tokens: &[DevnetToken],
        progress: &dyn Fn(&str),
    ) -> Result<(), DevnetError> {
        progress("deploying PancakeSwap V3 (pool deployer, factory, periphery) and its pools");
        let (chain, assets) = (&self.chain, self.assets);
        let pool_code =
            assets.creation_code("@pancakeswap/v3-core", "artifacts/contracts/PancakeV3Pool.sol/PancakeV3Pool.json")?;
        let holder = chain.deploy(self.own_code("InitCodeHolder")?, (pool_code,).abi_encode_params()).await?;
        chain.deploy_at(v3.pool_deployer, self.own_code("PancakeV3PoolDeployer")?, holder.abi_encode()).await?;
        chain.call(v3.pool_deployer, SetFactoryAddress { factory: v3.factory }).await?;
        chain
            .deploy_at(
                v3.factory,
                assets.creation_code(
                    "@pancakeswap/v3-core",
                    "artifacts/contracts/PancakeV3Factory.sol/PancakeV3Factory.json",
                )?,
                v3.pool_deployer.abi_encode(),
            )
            .await?;
        let periphery = |path: &str| assets.creation_code(PANCAKE_V3_PERIPHERY, path);
        let ctor = (v3.pool_deployer, v3.factory, weth).abi_encode_params();
        let parts = [
            (
                periphery("artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json")?,
                (v3.pool_deployer, v3.factory, weth, Address::ZERO).abi_encode_params(),
            ),
            (periphery("artifacts/contracts/SwapRouter.sol/SwapRouter.json")?, ctor.clone()),
            (periphery("artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json")?, ctor),
        ];
        self.v3_periphery(v3, parts, tokens).await
    }

    /// The npm factory, and a Router02 compiled for its pairs' init code hash and fee.
    async fn pancakeswap_v2(
        &self,
        v2: &V2Deployment,
        weth: Address,
        tokens: &[DevnetToken],
        progress: &dyn Fn(&str),
    ) -> Result<(), DevnetError> {
        progress("deploying PancakeSwap V2 (factory, a Router02 built for its pairs) and its pairs");
        let factory = self.assets.creation_code(PANCAKE_V2_CORE, "build/PancakeFactory.json")?;
        let router = self.assets.compile_v2_router(v2.pair_init_code_hash, v2.fee_bps / 10)?;
        self.v2_protocol(v2, factory, router, weth, tokens).await
    }
}

/// A `--like` devnet's V3 pools are at the low and middle fee tiers (0.05 % and 0.3 % on Uniswap, 0.05 % and
/// 0.25 % on PancakeSwap), so the router has tiers to choose between.
fn like_fees(v3: &V3Deployment) -> Vec<u32> {
    v3.fee_tiers.iter().map(|tier| tier.fee).filter(|fee| (500..=3000).contains(fee)).collect()
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
    /// The UniversalRouter's constructor argument.
    struct RouterParameters {
        address permit2;
        address weth9;
        address v2Factory;
        address v3Factory;
        bytes32 pairInitCodeHash;
        bytes32 poolInitCodeHash;
        address v4PoolManager;
        address v3NFTPositionManager;
        address v4PositionManager;
        address spokePool;
    }
}

alloy::sol! {
    #[sol(rpc)]
    function mint(address to, uint256 value) external;
    function setFactoryAddress(address factory) external;
}
use mintCall as TestTokenMint;
use setFactoryAddressCall as SetFactoryAddress;

impl Unlocked {
    /// Deploys `code` with `constructor_args`, then moves the contract to `target`.
    async fn deploy_at(
        &self,
        target: Address,
        code: alloy::primitives::Bytes,
        constructor_args: Vec<u8>,
    ) -> Result<(), DevnetError> {
        let deployed = self.deploy(code, constructor_args).await?;
        self.relocate(deployed, target).await
    }

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
        spec: &PoolSpec<'_>,
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
        Ok(DevnetPool::new(connector, TradingType::Amm, &base, &quote, v2.pair_address(base.address, quote.address), 0))
    }

    /// Creates a V3 pool at the liquidity's price and adds a full-range and a concentrated (about ±20 %) position.
    async fn v3_pool(
        &self,
        v3: &V3Deployment,
        connector: &str,
        spec: &PoolSpec<'_>,
        token: &dyn Fn(&str) -> DevnetToken,
    ) -> Result<DevnetPool, DevnetError> {
        let (base, quote) = (token(spec.base.0), token(spec.quote.0));
        let (base_amount, quote_amount) = (units(spec.base.1, base.decimals), units(spec.quote.1, quote.decimals));
        let (token0, token1) = sort_tokens(base.address, quote.address);
        let (amount0, amount1) =
            if token0 == base.address { (base_amount, quote_amount) } else { (quote_amount, base_amount) };
        let sqrt_price_x96 = sqrt_price_of(amount0, amount1);
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
        let slot0 = IUniswapV3Pool::new(pool, &self.provider).slot0().call().await.map_err(rpc("slot0"))?;
        for (lower, upper) in ranges(slot0.tick.as_i32(), spacing) {
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
        Ok(DevnetPool::new(connector, TradingType::Clmm, &base, &quote, pool, spec.fee))
    }
}

impl Unlocked {
    /// Creates a hookless V4 pool at the liquidity's price and mints a full-range and a concentrated (about
    /// ±20 %) position in it, like [`Unlocked::v3_pool`]; "ETH" is native ETH, paid with the call.
    async fn v4_pool(
        &self,
        v4: &V4Deployment,
        spec: &PoolSpec<'_>,
        token: &dyn Fn(&str) -> DevnetToken,
    ) -> Result<DevnetPool, DevnetError> {
        let currency = |symbol: &str| match symbol {
            "ETH" => DevnetToken { symbol: "ETH".into(), name: "Ether".into(), address: Address::ZERO, decimals: 18 },
            other => token(other),
        };
        let (base, quote) = (currency(spec.base.0), currency(spec.quote.0));
        let (base_amount, quote_amount) = (units(spec.base.1, base.decimals), units(spec.quote.1, quote.decimals));
        let tier = *v4
            .fee_tiers
            .iter()
            .find(|tier| tier.fee == spec.fee)
            .ok_or_else(|| DevnetError::Step(format!("uniswap V4 has no fee tier {}", spec.fee)))?;
        let key = v4.hookless_key(base.address, quote.address, tier);
        let (amount0, amount1) =
            if key.currency0 == base.address { (base_amount, quote_amount) } else { (quote_amount, base_amount) };
        let sqrt_price_x96 = sqrt_price_of(amount0, amount1);
        self.call(
            v4.position_manager,
            IPositionManager::initializePoolCall { key: key.clone(), sqrtPriceX96: sqrt_price_x96 },
        )
        .await?;
        let slot0 =
            IStateView::new(v4.state_view, &self.provider).getSlot0(key.id()).call().await.map_err(rpc("getSlot0"))?;
        let spacing = tier.tick_spacing;
        let native = key.currency0.is_zero();
        for (lower, upper) in ranges(slot0.tick.as_i32(), spacing) {
            let liquidity = liquidity_for_amounts(sqrt_price_x96, lower, upper, amount0, amount1)
                .map_err(|e| DevnetError::Step(format!("V4 liquidity: {e}")))?;
            // The amounts the liquidity needs round up from what it was computed from: a little room above.
            let room = |amount: U256| (amount + amount / U256::from(100)).to::<u128>();
            let mint = (
                key.clone(),
                int24(lower),
                int24(upper),
                U256::from(liquidity),
                room(amount0),
                room(amount1),
                self.deployer,
                alloy::primitives::Bytes::new(),
            );
            let mut plan = Plan::default()
                .then(actions::MINT_POSITION, mint)
                .then(actions::SETTLE_PAIR, (key.currency0, key.currency1));
            if native {
                plan = plan.then(actions::SWEEP, (Address::ZERO, self.deployer));
            }
            let unlock = plan.encode();
            let call = IPositionManager::modifyLiquiditiesCall { unlockData: unlock, deadline: U256::from(u64::MAX) };
            let value = if native { U256::from(room(amount0)) } else { U256::ZERO };
            self.send(self.deployer, v4.position_manager, call, value).await?;
        }
        Ok(DevnetPool::new("uniswap", TradingType::Clmm, &base, &quote, key.id(), spec.fee))
    }
}

/// The square root price (Q64.96) at which `amount1` of token1 is worth `amount0` of token0.
fn sqrt_price_of(amount0: U256, amount1: U256) -> U160 {
    // amount1 << 192 needs more than 256 bits.
    let ratio_x192 = (alloy::primitives::U512::from(amount1) << 192usize) / alloy::primitives::U512::from(amount0);
    ratio_x192.root(2).to()
}

/// A devnet pool's positions: the full range, and about ±20 % around `tick`, on the tick spacing.
fn ranges(tick: i32, spacing: i32) -> [(i32, i32); 2] {
    const MAX_TICK: i32 = 887_272;
    let full_range = (-(MAX_TICK / spacing) * spacing, (MAX_TICK / spacing) * spacing);
    let concentrated =
        ((tick - 2000).div_euclid(spacing) * spacing, (tick + 2000 + spacing - 1).div_euclid(spacing) * spacing);
    [full_range, concentrated]
}

/// Adds Uniswap pools between every two of `prices`' tokens (symbol, price in dollars) that have none yet: a V2
/// pair, and a V3 pool at each of `v3_fees`, each holding `value` dollars of either token. The bench measures the
/// route search over hundreds of pools this way.
pub async fn add_market(
    devnet: &super::Devnet,
    prices: &[(&str, u64)],
    value: u64,
    v3_fees: &[u32],
) -> Result<Vec<DevnetPool>, DevnetError> {
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0])?;
    let uniswap = Registry::builtin().find("uniswap", crate::rehearsal::NETWORK).expect("uniswap is on the devnet");
    let (v2, v3) = (uniswap.v2.expect("uniswap has V2"), uniswap.v3.expect("uniswap has V3"));
    let tokens = &devnet.deployment().tokens;
    let token =
        |symbol: &str| tokens.iter().find(|t| t.symbol == symbol).cloned().expect("market tokens are the devnet's");
    let exists = async |address: Address| {
        chain.provider.get_code_at(address).await.map(|code| !code.is_empty()).map_err(rpc("eth_getCode"))
    };
    let mut pools = Vec::new();
    for (index, &(base, base_price)) in prices.iter().enumerate() {
        for &(quote, quote_price) in &prices[index + 1..] {
            let spec = |fee| PoolSpec { base: (base, value / base_price), quote: (quote, value / quote_price), fee };
            let (token0, token1) = sort_tokens(token(base).address, token(quote).address);
            if !exists(v2.pair_address(token0, token1)).await? {
                pools.push(chain.v2_pair(&v2, "uniswap", &spec(0), &token).await?);
            }
            for &fee in v3_fees {
                if !exists(v3.pool_address(token0, token1, fee)).await? {
                    pools.push(chain.v3_pool(&v3, "uniswap", &spec(fee), &token).await?);
                }
            }
        }
    }
    Ok(pools)
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
