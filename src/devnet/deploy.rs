//! Deploys the protocols onto a fresh anvil, from the bytecode their npm packages ship, and moves each core
//! contract to its canonical address (mainnet's, or the `--like` network's), so pools created on the devnet land
//! where the connector computes them.

use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::sol_types::SolValue;
use chains::contracts::{IWETH9, MULTICALL3};
use connectors::dex::Registry;
use connectors::v2::V2Deployment;
use connectors::v3::{IUniswapV3Factory, V3Deployment};
use connectors::v4::V4Deployment;

use super::assets::DevnetAssets;
use super::plan::*;
use super::pools::{PoolSpec, int24, units};
use super::zeroex::deploy_zero_ex;
use super::{Deployment, DevnetError, DevnetPool, DevnetToken, Unlocked, WETH, rpc};

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
        let tokens = self.like_tokens(network, progress).await?;
        let pools = self.like_pools(network, &tokens, progress).await?;
        Ok((tokens, pools))
    }

    /// The tokens `network` lists, at its addresses: its wrapped native token first.
    async fn like_tokens(&self, network: &str, progress: &dyn Fn(&str)) -> Result<Vec<DevnetToken>, DevnetError> {
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
        if stablecoin(&tokens).is_none() {
            return Err(DevnetError::Step(format!(
                "tokens/ethereum/{network}.json lists no USDC (nor a 6-decimal stablecoin) to pool against"
            )));
        }
        self.multicall3(progress).await?;
        Ok(tokens)
    }

    /// `network`'s DEXes, at its addresses, each with a pool of the wrapped native token against its stablecoin.
    async fn like_pools(
        &self,
        network: &str,
        tokens: &[DevnetToken],
        progress: &dyn Fn(&str),
    ) -> Result<Vec<DevnetPool>, DevnetError> {
        let chain = &self.chain;
        let wrapped = &tokens[0];
        let token =
            |symbol: &str| tokens.iter().find(|t| t.symbol == symbol).cloned().expect("pool tokens are deployed");
        let stable = stablecoin(tokens).expect("checked with the tokens").symbol.clone();
        let pair = |fee| PoolSpec { base: (wrapped.symbol.as_str(), 1_000), quote: (stable.as_str(), 3_000_000), fee };
        let registry = Registry::builtin();
        let mut pools = Vec::new();
        if let Some(uniswap) = registry.find("uniswap", network) {
            let mut v2_factory = Address::ZERO;
            if let Some(v2) = &uniswap.v2 {
                self.uniswap_v2(v2, wrapped.address, tokens, progress).await?;
                pools.push(chain.v2_pair(v2, "uniswap", &pair(0), &token).await?);
                v2_factory = v2.factory;
            }
            if let Some(v3) = &uniswap.v3 {
                self.uniswap_v3(v3, v2_factory, wrapped.address, tokens, progress).await?;
                for fee in like_fees(v3) {
                    pools.push(chain.v3_pool(v3, "uniswap", &pair(fee), &token).await?);
                }
            }
            // V4's contracts, so approvals through Permit2 work as they do there; no V4 pool is created.
            if let Some(v4) = &uniswap.v4 {
                self.uniswap_v4(v4, uniswap.v2.as_ref(), uniswap.v3.as_ref(), wrapped.address, tokens, progress)
                    .await?;
            }
        }
        if let Some(pancakeswap) = registry.find("pancakeswap", network) {
            if let Some(v3) = pancakeswap.v3 {
                self.pancakeswap_v3(&v3, wrapped.address, tokens, progress).await?;
                for fee in like_fees(&v3) {
                    pools.push(chain.v3_pool(&v3, "pancakeswap", &pair(fee), &token).await?);
                }
            }
            if let Some(v2) = pancakeswap.v2 {
                let pair_hash = keccak256(self.assets.creation_code(PANCAKE_V2_CORE, "build/PancakePair.json")?);
                if pair_hash == v2.pair_init_code_hash {
                    self.pancakeswap_v2(&v2, wrapped.address, tokens, progress).await?;
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
        Ok(pools)
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

/// The stablecoin a `--like` devnet pools the wrapped native token against: USDC, else the first 6-decimal token
/// its list names (Robinhood Chain's USDG).
pub fn stablecoin(tokens: &[DevnetToken]) -> Option<&DevnetToken> {
    tokens.iter().find(|token| token.symbol == "USDC").or_else(|| tokens.iter().find(|token| token.decimals == 6))
}

/// A `--like` devnet's V3 pools are at the low and middle fee tiers (0.05 % and 0.3 % on Uniswap, 0.05 % and
/// 0.25 % on PancakeSwap), so the router has tiers to choose between.
fn like_fees(v3: &V3Deployment) -> Vec<u32> {
    v3.fee_tiers.iter().map(|tier| tier.fee).filter(|fee| (500..=3000).contains(fee)).collect()
}

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
