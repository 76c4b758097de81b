//! The pools the devnet creates and funds, as the connectors compute their addresses: V2 pairs, V3 pools with a
//! full-range and a concentrated position, V4 pools through the PositionManager; and contracts moved to the
//! addresses they have on the network the devnet stands for.

use alloy::primitives::aliases::{I24, U24, U160};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use chains::contracts::IERC20;
use connectors::clmm::ticks::liquidity_for_amounts;
use connectors::core::family::TradingType;
use connectors::core::route::sort_tokens;
use connectors::dex::Registry;
use connectors::v2::{IUniswapV2Router02, V2Deployment};
use connectors::v3::{INonfungiblePositionManager, IUniswapV3Pool, V3Deployment};
use connectors::v4::{IPositionManager, IStateView, Plan, V4Deployment, actions};

use super::{DevnetError, DevnetPool, DevnetToken, Unlocked, rpc};

/// A pool to create: base and quote as the pool lists name them, and the liquidity (whole tokens) to add.
pub struct PoolSpec<'a> {
    pub base: (&'a str, u64),
    pub quote: (&'a str, u64),
    pub fee: u32,
}

impl Unlocked {
    /// Deploys `code` with `constructor_args`, then moves the contract to `target`.
    pub async fn deploy_at(
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
    pub async fn relocate(&self, deployed: Address, target: Address) -> Result<(), DevnetError> {
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

    pub async fn approve_all(&self, tokens: &[DevnetToken], spender: Address) -> Result<(), DevnetError> {
        for token in tokens {
            self.call(token.address, IERC20::approveCall { spender, amount: U256::MAX }).await?;
        }
        Ok(())
    }

    pub async fn v2_pair(
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
    pub async fn v3_pool(
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
    pub async fn v4_pool(
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

pub fn units(whole: u64, decimals: u8) -> U256 {
    U256::from(whole) * U256::from(10).pow(U256::from(decimals))
}

pub fn int24(value: i32) -> I24 {
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
