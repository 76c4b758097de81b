//! `amm`: swaps through one V2 pair, its reserves, and liquidity as the pair's pool token (a wallet's share).

use alloy::primitives::{Address, U256};
use chains::amount::ratio;
use chains::erc20::{Token, transfers};
use chains::tx::{Outcome, SentTx};
use connectors::core::family::{Family, TradingType};
use connectors::core::pool_address::PoolAddress;
use connectors::core::route::Route;
use connectors::v2::math::{V2QuoteError, deposit, redeemed};
use connectors::v2::pair::V2PairState;

use serde::{Deserialize, Serialize};

use super::Desk;
use super::pool::{base_of, pair_contract, pools_for_pair};
use super::swap::{self, Order, Planned};
use crate::app::sending::{Recipe, keep};
use crate::error::{AppError, AppResult};
use crate::request::{Human, optional_pool_address};
use crate::schema::liquidity::{
    AmmLiquidityData, AmmPoolInfo, AmmPositionInfo, AmmQuoteLiquidity, PoolQuery, PositionRequest,
};
use crate::schema::swap::{SwapData, SwapRequest};
use crate::schema::{TxResponse, fee_of, status_of};
use crate::state::AppState;

/// The pair a request names, or the listed (else the factory's) pair for its tokens.
async fn pair_for(
    state: &AppState,
    desk: &Desk,
    pool: Option<PoolAddress>,
    tokens: Option<(Address, Address)>,
) -> AppResult<std::sync::Arc<V2PairState>> {
    let v2 = v2_of(desk)?;
    let address = match (pool, tokens) {
        (Some(pool), _) => pair_contract(pool)?,
        (None, Some(pair)) => pair_contract(pools_for_pair(state, desk, TradingType::Amm, pair).await?[0])?,
        (None, None) => return Err(AppError::invalid("poolAddress", "is required when quoteToken is not given")),
    };
    Ok(v2.pair(state.pool_states(), &desk.network, address.into()).await?)
}

/// The order a swap request names, and its one route: through the named pair, else the pair's.
pub async fn resolve(state: &AppState, desk: &Desk, request: &SwapRequest) -> AppResult<(Order, Vec<Route>)> {
    // A request naming both tokens is resolved before its pair is looked up; one naming only the base, after.
    let named = match request.quote_token.as_deref().is_some_and(|quote| !quote.is_empty()) {
        true => Some(Order::resolve(desk, request, None)?),
        false => None,
    };
    let named_tokens = named.as_ref().map(|order| (order.base.address, order.quote.address));
    let pair = pair_for(state, desk, request.pool()?, named_tokens).await?;
    let order = match named {
        Some(order) => order,
        None => Order::resolve(desk, request, Some((pair.token0, pair.token1)))?,
    };
    if pair.reserves_for(order.token_in().address).is_err() || pair.reserves_for(order.token_out().address).is_err() {
        return Err(AppError::invalid(
            "poolAddress",
            format!("pool {} does not trade {}/{}", pair.address, order.base.symbol, order.quote.symbol),
        ));
    }
    let route = Route::single(Family::V2, pair.address, 0, order.token_in().address, order.token_out().address);
    Ok((order, vec![route]))
}

async fn plan(state: &AppState, desk: Desk, request: &SwapRequest) -> AppResult<Planned> {
    let (order, routes) = resolve(state, &desk, request).await?;
    let routing = swap::best_routing(state.pool_states(), &desk, &order, &routes).await?;
    Ok(Planned { desk, order, routing })
}

pub async fn execute_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> AppResult<TxResponse<SwapData>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let network = desk.network.clone();
    let planned = swap::reading_fees_meanwhile(&network, plan(state, desk, &request)).await?;
    let answer = planned.execute(state, Some(Family::V2), TradingType::Amm, request.wallet_address.as_deref()).await?;
    planned.read_pools_again(state);
    Ok(answer)
}

pub async fn pool_info(state: &AppState, connector: Option<&str>, query: PoolQuery) -> AppResult<AmmPoolInfo> {
    let desk = Desk::resolve(state, query.target(connector)).await?;
    let pair = pair_for(state, &desk, optional_pool_address("poolAddress", Some(&query.pool_address))?, None).await?;
    let base_is_0 =
        base_of(state, &desk, pair.address.into(), pair.token0, pair.token1, query.base_token.as_deref()).await?;
    let (base, quote) = if base_is_0 { (pair.token0, pair.token1) } else { (pair.token1, pair.token0) };
    let (base, quote) = (desk.token_at(base).await?, desk.token_at(quote).await?);
    let (base_reserve, quote_reserve) = pair.reserves_for(base.address)?;
    let fee_bps = v2_of(&desk)?.fee_bps;
    Ok(AmmPoolInfo {
        address: chains::checksum(pair.address),
        base_token_address: chains::checksum(base.address),
        quote_token_address: chains::checksum(quote.address),
        fee_pct: Human(chains::amount::format_units(alloy::primitives::U256::from(fee_bps), 2)),
        price: Human(ratio(quote_reserve, quote.decimals, base_reserve, base.decimals)),
        base_token_amount: Human(chains::amount::format_units(base_reserve, base.decimals)),
        quote_token_amount: Human(chains::amount::format_units(quote_reserve, quote.decimals)),
        block_number: pair.block,
    })
}

/// A wallet's share of a V2 pair.
struct Share {
    pair: std::sync::Arc<V2PairState>,
    base: chains::erc20::Token,
    quote: chains::erc20::Token,
    lp_balance: U256,
    total_supply: U256,
}

impl Share {
    async fn of(state: &AppState, desk: &Desk, pool: PoolAddress, owner: Address) -> AppResult<Share> {
        let pair = pair_for(state, desk, Some(pool), None).await?;
        let base_is_0 = base_of(state, desk, pair.address.into(), pair.token0, pair.token1, None).await?;
        let (base, quote) = if base_is_0 { (pair.token0, pair.token1) } else { (pair.token1, pair.token0) };
        let (lp_balance, total_supply) =
            desk.protocol(Family::V2)?.pool_tokens(&desk.network, pair.address, owner, pair.block).await?;
        Ok(Share {
            base: desk.token_at(base).await?,
            quote: desk.token_at(quote).await?,
            lp_balance,
            total_supply,
            pair,
        })
    }

    /// The wallet's share of each reserve for `lp` pool tokens.
    fn amounts(&self, lp: U256) -> AppResult<(U256, U256)> {
        Ok(redeemed(lp, self.total_supply, self.pair.reserves_for(self.base.address)?))
    }
}

/// A wallet's pool tokens in a V2 pair and what they are worth in each token.
pub async fn position_info(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<AmmPositionInfo> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let owner = crate::request::wallet_address(&desk.config, "walletAddress", request.wallet_address.as_deref())?;
    Share::of(state, &desk, request.pool()?, owner).await?.position(owner)
}

/// The wallet's positions in the V2 pairs listed for the connector on the network: each pair where it holds pool
/// tokens.
pub async fn positions_owned(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<Vec<AmmPositionInfo>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let owner = crate::request::wallet_address(&desk.config, "walletAddress", request.wallet_address.as_deref())?;
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    let pairs = book.pools.iter().filter(|pool| pool.kind == TradingType::Amm).map(|pool| pool.address);
    let shares = futures::future::try_join_all(pairs.map(|pair| Share::of(state, &desk, pair, owner))).await?;
    shares.iter().filter(|share| !share.lp_balance.is_zero()).map(|share| share.position(owner)).collect()
}

impl Share {
    fn position(&self, owner: Address) -> AppResult<AmmPositionInfo> {
        let share = self;
        let (base, quote) = share.amounts(share.lp_balance)?;
        let (base_reserve, quote_reserve) = share.pair.reserves_for(share.base.address)?;
        Ok(AmmPositionInfo {
            pool_address: chains::checksum(share.pair.address),
            wallet_address: chains::checksum(owner),
            base_token_address: chains::checksum(share.base.address),
            quote_token_address: chains::checksum(share.quote.address),
            lp_token_amount: Human(chains::amount::format_units(share.lp_balance, 18)),
            base_token_amount: Human(chains::amount::format_units(base, share.base.decimals)),
            quote_token_amount: Human(chains::amount::format_units(quote, share.quote.decimals)),
            price: Human(ratio(quote_reserve, share.quote.decimals, base_reserve, share.base.decimals)),
        })
    }
}

/// The amounts the pair's ratio takes from at most the given base and quote amounts.
fn optimal(share: &Share, request: &PositionRequest) -> AppResult<(U256, U256, bool)> {
    let (base, quote) = request.amounts(share.base.decimals, share.quote.decimals)?;
    if base.is_none() && quote.is_none() {
        return Err(AppError::invalid("baseTokenAmount", "give baseTokenAmount, quoteTokenAmount or both"));
    }
    let reserves = share.pair.reserves_for(share.base.address)?;
    deposit(base, quote, reserves).map_err(|e: V2QuoteError| AppError::invalid("poolAddress", e.to_string()))
}

pub async fn quote_liquidity(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<AmmQuoteLiquidity> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let share = Share::of(state, &desk, request.pool()?, Address::ZERO).await?;
    let (base, quote, base_limited) = optimal(&share, &request)?;
    let fmt = |amount: U256, decimals: u8| Human(chains::amount::format_units(amount, decimals));
    Ok(AmmQuoteLiquidity {
        pool_address: chains::checksum(share.pair.address),
        base_limited,
        base_token_amount: fmt(base, share.base.decimals),
        quote_token_amount: fmt(quote, share.quote.decimals),
        base_token_amount_max: fmt(desk.max_in(base), share.base.decimals),
        quote_token_amount_max: fmt(desk.max_in(quote), share.quote.decimals),
    })
}

/// Adds liquidity to a V2 pair through Router02, at the pair's ratio, bounded by the slippage tolerance.
pub async fn add_liquidity(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<TxResponse<AmmLiquidityData>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let (owner, signer) = desk.wallet(state, request.wallet_address.as_deref())?;
    let share = Share::of(state, &desk, request.pool()?, owner).await?;
    let (base, quote, _) = optimal(&share, &request)?;
    let v2 = desk.protocol(Family::V2)?;
    let router = v2.liquidity_router()?;
    let spender_name = format!("{}/amm", desk.connector);
    let tokens = (share.base.address, share.quote.address);
    let least = (desk.min_out(base), desk.min_out(quote));
    let call = v2.add_liquidity(tokens, (base, quote), least, owner, desk.deadline())?;
    let recipe = AmmRecipe::new(&share, owner, false);
    keep(state, &recipe).await?;
    let checks = desk.require_pair_funds(owner, [(&share.base, base), (&share.quote, quote)], router, &spender_name);
    let sent = desk.send_checked(state, &signer, call, "add-liquidity", checks).await?;
    recipe.answer(&[sent])
}

/// What a change to a wallet's share of a V2 pair answers besides its transaction: the pair, its tokens as
/// base and quote, the wallet, and whether it added or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AmmRecipe {
    pair: Address,
    base: Token,
    quote: Token,
    owner: Address,
    removing: bool,
}

impl Recipe for AmmRecipe {
    const ROUTE: &'static str = "pairShare";
}

impl AmmRecipe {
    fn new(share: &Share, owner: Address, removing: bool) -> AmmRecipe {
        AmmRecipe { pair: share.pair.address, base: share.base.clone(), quote: share.quote.clone(), owner, removing }
    }

    /// The answer to the change's transaction (the last sent: a removal may approve the pool token first), what
    /// moved read from its receipt.
    pub fn answer(&self, results: &[(SentTx, Outcome)]) -> AppResult<TxResponse<AmmLiquidityData>> {
        let (sent, outcome) = results.last().ok_or_else(|| AppError::internal("an amm change sent nothing"))?;
        let data = status_of(outcome).1.map(|receipt| {
            let moved = |token: &Token| {
                let (sent, received) = transfers(receipt, token.address, self.owner);
                let raw = if self.removing { received } else { sent };
                Some(Human(chains::amount::format_units(raw, token.decimals)))
            };
            let (base, quote) = (moved(&self.base), moved(&self.quote));
            let (added, removed) =
                if self.removing { ((None, None), (base, quote)) } else { ((base, quote), (None, None)) };
            AmmLiquidityData {
                fee: fee_of(outcome),
                pool_address: chains::checksum(self.pair),
                base_token_amount_added: added.0,
                quote_token_amount_added: added.1,
                base_token_amount_removed: removed.0,
                quote_token_amount_removed: removed.1,
            }
        });
        Ok(TxResponse::new(sent, outcome, data))
    }
}

/// Removes a percentage of the wallet's pool tokens through Router02 (approving the router for the pool
/// token first when needed: the pool token is the gateway's bookkeeping, not something users trade).
pub async fn remove_liquidity(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<TxResponse<AmmLiquidityData>> {
    let percentage = request.percentage_to_remove()?;
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let (owner, signer) = desk.wallet(state, request.wallet_address.as_deref())?;
    let share = Share::of(state, &desk, request.pool()?, owner).await?;
    if share.lp_balance.is_zero() {
        return Err(AppError::invalid(
            "poolAddress",
            format!("{owner} holds no pool tokens of {}", share.pair.address),
        ));
    }
    let lp = share.lp_balance * U256::from((percentage * 10_000.0).round() as u64) / U256::from(1_000_000u64);
    let (base, quote) = share.amounts(lp)?;
    let v2 = desk.protocol(Family::V2)?;
    let router = v2.liquidity_router()?;
    let allowed = chains::erc20::allowances(&desk.network, owner, router, &[share.pair.address]).await?[0];
    if allowed < lp {
        let approve = chains::erc20::approve(share.pair.address, router, U256::MAX);
        desk.send(state, &signer, approve, "approve-pool-token").await?;
    }
    let tokens = (share.base.address, share.quote.address);
    let least = (desk.min_out(base), desk.min_out(quote));
    let call = v2.remove_liquidity(tokens, lp, least, owner, desk.deadline())?;
    // Kept after the pool token's approval: a retry of a removal that stopped in between is told what it sent.
    let recipe = AmmRecipe::new(&share, owner, true);
    keep(state, &recipe).await?;
    let sent = desk.send(state, &signer, call, "remove-liquidity").await?;
    recipe.answer(&[sent])
}

fn v2_of(desk: &Desk) -> AppResult<connectors::v2::V2Deployment> {
    desk.dex.v2.ok_or_else(|| desk.not_deployed(Family::V2))
}
