//! `clmm` liquidity: positions in a price range through the family's `Positions` (V3's NonfungiblePositionManager
//! and V4's PositionManager hold them as NFTs; `positionAddress` is the token id).
//! Prices are quote per base as the client names them; ticks are rounded to the pool's spacing.

use alloy::primitives::U256;
use chains::erc20::Token;
use chains::tx::{Call, Outcome, SentTx};
use connectors::clmm::pool::ClmmPool;
use connectors::clmm::positions::{Deposit, Moved, Position};
use connectors::clmm::range::{Orientation, Sizing, SizingError};
use connectors::clmm::ticks::amounts_for_liquidity;
use connectors::core::family::{Family, TradingType};
use connectors::core::pool_address::PoolAddress;
use connectors::dex::{Dex, Protocol};
use serde::{Deserialize, Serialize};

use super::Desk;
use super::pool::{base_of, pool_state};
use crate::app::sending::{Recipe, keep};
use crate::error::{AppError, AppResult};
use crate::request::{Human, Target, optional_pool_address, wallet_address};
use crate::schema::liquidity::{LiquidityData, PositionInfo, PositionRequest, QuotePositionResponse};
use crate::schema::{TxResponse, fee_of, status_of};
use crate::state::AppState;

/// A pool seen from the API: its tokens as base and quote.
struct Sides {
    pool: ClmmPool,
    orientation: Orientation,
    base: Token,
    quote: Token,
}

impl Sides {
    async fn of(state: &AppState, desk: &Desk, pool: PoolAddress) -> AppResult<Sides> {
        let pool = pool_state(state, desk, pool).await?;
        // A family without positions says so before anything is sized for it.
        desk.protocol(pool.family())?.position_manager()?;
        let (token0, token1) = pool.tokens();
        let base_is_token0 = base_of(state, desk, pool.address(), token0, token1, None).await?;
        let (token0, token1) = (desk.token_at(token0).await?, desk.token_at(token1).await?);
        let orientation = Orientation { base_is_token0, decimals0: token0.decimals, decimals1: token1.decimals };
        let (base, quote) = if base_is_token0 { (token0, token1) } else { (token1, token0) };
        Ok(Sides { pool, orientation, base, quote })
    }

    /// The family whose manager holds the pool's positions.
    fn positions<'a>(&self, desk: &'a Desk) -> AppResult<&'a dyn Protocol> {
        desk.protocol(self.pool.family())
    }

    fn human(&self, amount0: U256, amount1: U256) -> (Human, Human) {
        let (base, quote) = self.orientation.split(amount0, amount1);
        (
            Human(chains::amount::format_units(base, self.base.decimals)),
            Human(chains::amount::format_units(quote, self.quote.decimals)),
        )
    }

    /// The ticks of the price range a request names.
    fn ticks(&self, request: &PositionRequest) -> AppResult<(i32, i32)> {
        let lower = request.lower_price.ok_or_else(|| AppError::invalid("lowerPrice", "is required"))?;
        let upper = request.upper_price.ok_or_else(|| AppError::invalid("upperPrice", "is required"))?;
        Ok(self.orientation.range(lower, upper, self.pool.tick_spacing)?)
    }

    /// The liquidity and amounts for the base and/or quote amount a request gives, in a range.
    fn size(&self, ticks: (i32, i32), request: &PositionRequest) -> AppResult<Sizing> {
        let (base, quote) = request.amounts(self.base.decimals, self.quote.decimals)?;
        self.orientation.size(self.pool.sqrt_price_x96, ticks, base, quote).map_err(|error| match error {
            SizingError::NoAmount => {
                AppError::invalid("baseTokenAmount", "give baseTokenAmount, quoteTokenAmount or both")
            }
            SizingError::NoLiquidity => AppError::invalid(
                "baseTokenAmount",
                "adds no liquidity in this range at the current price; give the other token",
            ),
            SizingError::TakesOnlyBase => AppError::invalid(
                "baseTokenAmount",
                format!("the range is beyond the price and takes only {}: give baseTokenAmount", self.base.symbol),
            ),
            SizingError::TakesOnlyQuote => AppError::invalid(
                "quoteTokenAmount",
                format!("the range is beyond the price and takes only {}: give quoteTokenAmount", self.quote.symbol),
            ),
            SizingError::Math(error) => error.into(),
        })
    }
}

/// What opening a position in a range would take: the liquidity and both amounts.
pub async fn quote_position(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<QuotePositionResponse> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let sides = Sides::of(state, &desk, request.pool()?).await?;
    let (lower, upper) = sides.ticks(&request)?;
    let sizing = sides.size((lower, upper), &request)?;
    let (base, quote) = sides.orientation.split(sizing.amount0, sizing.amount1);
    let fmt = |amount: U256, token: &Token| Human(chains::amount::format_units(amount, token.decimals));
    Ok(QuotePositionResponse {
        pool_address: sides.pool.address().to_string(),
        base_limited: sizing.base_limited,
        base_token_amount: fmt(base, &sides.base),
        quote_token_amount: fmt(quote, &sides.quote),
        base_token_amount_max: fmt(desk.max_in(base), &sides.base),
        quote_token_amount_max: fmt(desk.max_in(quote), &sides.quote),
        liquidity: sizing.liquidity.to_string(),
        lower_bin_id: lower,
        upper_bin_id: upper,
    })
}

/// Opens a position: mints the NFT for the range with the amounts the price calls for.
pub async fn open(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<TxResponse<LiquidityData>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let sides = Sides::of(state, &desk, request.pool()?).await?;
    let ticks = sides.ticks(&request)?;
    let sizing = sides.size(ticks, &request)?;
    let (owner, _) = desk.wallet(state, request.wallet_address.as_deref())?;
    let offered = offer(&desk, &sizing);
    let call = sides.positions(&desk)?.open_position(&sides.pool, ticks, &offered, owner, desk.deadline())?;
    deposit(state, &desk, &request, &sides, None, &offered, call, "open-position").await
}

/// Adds liquidity to a position, in its range, with the amounts the price calls for.
pub async fn add(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<TxResponse<LiquidityData>> {
    let (desk, held) = owned(state, connector, &request).await?;
    let position = &held.position;
    let sizing = held.sides.size((position.lower, position.upper), &request)?;
    let offered = offer(&desk, &sizing);
    let call = held.sides.positions(&desk)?.add_to_position(position, &offered, desk.deadline())?;
    deposit(state, &desk, &request, &held.sides, Some(position.token_id), &offered, call, "add-liquidity").await
}

/// What a deposit sized at the pool's price offers, within the slippage tolerance either way.
fn offer(desk: &Desk, sizing: &Sizing) -> Deposit {
    let (amount0, amount1) = (sizing.amount0, sizing.amount1);
    Deposit {
        liquidity: sizing.liquidity,
        desired: (amount0, amount1),
        least: (desk.min_out(amount0), desk.min_out(amount1)),
        most: (desk.max_in(amount0), desk.max_in(amount1)),
    }
}

/// Checks both allowances to the position manager, sends a deposit into a position (`position`: the one added
/// to, `None` for a new one, whose id the receipt tells) and reads what it took (and, where the family pays a
/// position's fees with every change, what it paid).
#[allow(clippy::too_many_arguments)]
async fn deposit(
    state: &AppState,
    desk: &Desk,
    request: &PositionRequest,
    sides: &Sides,
    position: Option<U256>,
    offered: &Deposit,
    call: Call,
    label: &str,
) -> AppResult<TxResponse<LiquidityData>> {
    let (owner, signer) = desk.wallet(state, request.wallet_address.as_deref())?;
    let spender_name = format!("{}/clmm", desk.connector);
    let positions = sides.positions(desk)?;
    let spender = positions.spender(call.to);
    let (token0, token1) = sides.orientation.join(&sides.base, &sides.quote);
    let recipe = PositionRecipe::new(desk, sides, position, Change::Deposit);
    keep(state, &recipe).await?;
    let funds = [(token0, offered.desired.0), (token1, offered.desired.1)];
    let checks = desk.require_pair_funds(owner, funds, spender, &spender_name);
    let (sent, outcome) = desk.send_checked(state, &signer, call, label, checks).await?;
    Ok(recipe.answer_through(positions, &desk.network, &sent, &outcome).await)
}

/// A position as the position manager holds it, with its pool.
struct Held {
    position: Position,
    sides: Sides,
}

/// The position a request names by its token id. V3's and V4's managers each number their positions from 1, so
/// an id may name one in each: the request's `poolAddress` says which (and must be the position's), or else the
/// one its wallet owns.
async fn held(state: &AppState, desk: &Desk, request: &PositionRequest) -> AppResult<Held> {
    let token_id = request.token_id()?;
    let named_pool = optional_pool_address("poolAddress", request.pool_address.as_deref())?;
    let families: Vec<Family> = match named_pool {
        Some(pool) => Dex::family_of(TradingType::Clmm, pool).into_iter().collect(),
        None => holding_positions(desk).map(|protocol| protocol.family()).collect(),
    };
    let reads = families.iter().map(|family| async move {
        let positions = desk.protocol(*family)?;
        AppResult::Ok(positions.position(&desk.network, token_id).await?)
    });
    let found: Vec<Position> = futures::future::try_join_all(reads).await?.into_iter().flatten().collect();
    let wallet = wallet_address(&desk.config, "walletAddress", request.wallet_address.as_deref()).ok();
    let owned: Vec<&Position> = found.iter().filter(|position| Some(position.owner) == wallet).collect();
    let position = match (&found[..], &owned[..]) {
        ([], _) => {
            return Err(AppError::not_found(format!(
                "position {token_id} does not exist on {} {}",
                desk.connector, desk.network_name
            )));
        }
        ([only], _) => only.clone(),
        (_, [only]) => (*only).clone(),
        _ => {
            return Err(AppError::invalid(
                "poolAddress",
                format!("position {token_id} names one in several pool families here: give its poolAddress"),
            ));
        }
    };
    if let Some(named) = named_pool.filter(|named| *named != position.pool) {
        return Err(AppError::invalid(
            "poolAddress",
            format!("position {token_id} is in pool {}, not {named}", position.pool),
        ));
    }
    let sides = Sides::of(state, desk, position.pool).await?;
    Ok(Held { position, sides })
}

/// The connector's families that hold positions here.
fn holding_positions(desk: &Desk) -> impl Iterator<Item = &dyn Protocol> {
    desk.dex.protocols().filter(|protocol| protocol.position_manager().is_ok())
}

/// The desk and the position a request names, which must belong to the request's wallet.
async fn owned(state: &AppState, connector: Option<&str>, request: &PositionRequest) -> AppResult<(Desk, Held)> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let position = held(state, &desk, request).await?;
    let (wallet, _) = desk.wallet(state, request.wallet_address.as_deref())?;
    let Position { owner, token_id, .. } = position.position;
    if owner != wallet {
        return Err(AppError::invalid(
            "positionAddress",
            format!("{} position {token_id} belongs to {owner}, not {wallet}", position.sides.pool.family().name()),
        ));
    }
    Ok((desk, position))
}

impl Held {
    /// The least a removal of `liquidity` at the pool's price accepts of each token.
    fn least(&self, desk: &Desk, liquidity: u128) -> AppResult<(U256, U256)> {
        let Position { lower, upper, .. } = self.position;
        let (amount0, amount1) = amounts_for_liquidity(self.sides.pool.sqrt_price_x96, lower, upper, liquidity, false)?;
        Ok((desk.min_out(amount0), desk.min_out(amount1)))
    }
}

/// Removes a percentage of a position's liquidity and collects it (with any fees owed) in one transaction.
pub async fn remove(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<TxResponse<LiquidityData>> {
    let percentage = request.percentage_to_remove()?;
    let (desk, held) = owned(state, connector, &request).await?;
    let Position { token_id, liquidity, .. } = held.position;
    if liquidity == 0 {
        return Err(AppError::invalid("positionAddress", format!("position {token_id} holds no liquidity")));
    }
    let removed = (U256::from(liquidity) * U256::from((percentage * 10_000.0).round() as u64)
        / U256::from(1_000_000u64))
    .to::<u128>();
    let least = held.least(&desk, removed)?;
    let call = held.sides.positions(&desk)?.remove_from_position(&held.position, removed, least, desk.deadline())?;
    withdrawal(state, &desk, &request, &held, call, Change::Remove).await
}

/// Collects the fees a position has earned.
pub async fn collect_fees(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<TxResponse<LiquidityData>> {
    let (desk, held) = owned(state, connector, &request).await?;
    let call = held.sides.positions(&desk)?.collect_fees(&held.position)?;
    withdrawal(state, &desk, &request, &held, call, Change::CollectFees).await
}

/// Closes a position: removes all its liquidity, collects everything and burns the NFT, in one transaction.
pub async fn close(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<TxResponse<LiquidityData>> {
    let (desk, held) = owned(state, connector, &request).await?;
    let least = held.least(&desk, held.position.liquidity)?;
    let call = held.sides.positions(&desk)?.close_position(&held.position, least, desk.deadline())?;
    withdrawal(state, &desk, &request, &held, call, Change::Close).await
}

/// What a change does to a position, which decides what its answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Change {
    /// Tokens put in (fees a family pays with every change reported too).
    Deposit,
    /// Liquidity, and the fees that come with it: reported as removed.
    Remove,
    /// Fees only.
    CollectFees,
    /// Everything, then the position ended: liquidity removed and fees collected, apart.
    Close,
}

impl Change {
    fn label(self) -> &'static str {
        match self {
            Change::Deposit => "deposit",
            Change::Remove => "remove-liquidity",
            Change::CollectFees => "collect-fees",
            Change::Close => "close-position",
        }
    }
}

/// Sends a withdrawal from a position and reads what it paid out.
async fn withdrawal(
    state: &AppState,
    desk: &Desk,
    request: &PositionRequest,
    held: &Held,
    call: Call,
    change: Change,
) -> AppResult<TxResponse<LiquidityData>> {
    let sides = &held.sides;
    let (_, signer) = desk.wallet(state, request.wallet_address.as_deref())?;
    let recipe = PositionRecipe::new(desk, sides, Some(held.position.token_id), change);
    keep(state, &recipe).await?;
    let (sent, outcome) = desk.send(state, &signer, call, change.label()).await?;
    Ok(recipe.answer_through(sides.positions(desk)?, &desk.network, &sent, &outcome).await)
}

/// What a change to a position answers besides its transaction: the pool and its tokens as base and quote, the
/// position (none for a new one: its receipt tells), and the kind of change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PositionRecipe {
    network: String,
    connector: String,
    family: Family,
    pool: PoolAddress,
    base_is_token0: bool,
    base: Token,
    quote: Token,
    position: Option<U256>,
    change: Change,
}

impl Recipe for PositionRecipe {
    const ROUTE: &'static str = "position";
}

impl PositionRecipe {
    fn new(desk: &Desk, sides: &Sides, position: Option<U256>, change: Change) -> PositionRecipe {
        PositionRecipe {
            network: desk.network_name.clone(),
            connector: desk.connector.clone(),
            family: sides.pool.family(),
            pool: sides.pool.address(),
            base_is_token0: sides.orientation.base_is_token0,
            base: sides.base.clone(),
            quote: sides.quote.clone(),
            position,
            change,
        }
    }

    /// The answer to the change's transaction, its position manager resolved again from the config.
    pub async fn answer(
        &self,
        state: &AppState,
        results: &[(SentTx, Outcome)],
    ) -> AppResult<TxResponse<LiquidityData>> {
        let target = Target {
            connector: Some(&self.connector),
            network: Some(&self.network),
            chain_network: None,
            slippage_pct: None,
        };
        let desk = Desk::resolve(state, target).await?;
        let (sent, outcome) = results.last().ok_or_else(|| AppError::internal("a position change sent nothing"))?;
        Ok(self.answer_through(desk.protocol(self.family)?, &desk.network, sent, outcome).await)
    }

    /// What the change moved, read from its receipt once mined (none while pending, or when it cannot be read:
    /// its hash and status still say it was mined).
    async fn answer_through(
        &self,
        positions: &dyn Protocol,
        network: &chains::network::Network,
        sent: &SentTx,
        outcome: &Outcome,
    ) -> TxResponse<LiquidityData> {
        let moved = match status_of(outcome).1 {
            Some(receipt) => positions.moved(network, receipt).await.inspect_err(|error| {
                tracing::warn!(tx = %receipt.transaction_hash, %error, "what the position change moved could not be read")
            }).ok(),
            None => None,
        };
        let data = moved.map(|moved| self.data(&moved, fee_of(outcome)));
        TxResponse::new(sent, outcome, data)
    }

    fn data(&self, moved: &Moved, fee: Human) -> LiquidityData {
        let mut data = LiquidityData::new(fee, self.pool, self.position.unwrap_or(moved.token_id));
        let (decimals0, decimals1) = match self.base_is_token0 {
            true => (self.base.decimals, self.quote.decimals),
            false => (self.quote.decimals, self.base.decimals),
        };
        let orientation = Orientation { base_is_token0: self.base_is_token0, decimals0, decimals1 };
        let human = |pair: (U256, U256)| {
            let (base, quote) = orientation.split(pair.0, pair.1);
            let units = |raw: U256, token: &Token| Human(chains::amount::format_units(raw, token.decimals));
            (Some(units(base, &self.base)), Some(units(quote, &self.quote)))
        };
        let fees =
            (moved.collected.0.saturating_sub(moved.removed.0), moved.collected.1.saturating_sub(moved.removed.1));
        match self.change {
            Change::Deposit => {
                (data.base_token_amount_added, data.quote_token_amount_added) = human(moved.added);
                if moved.collected != (U256::ZERO, U256::ZERO) {
                    (data.base_fee_amount_collected, data.quote_fee_amount_collected) = human(moved.collected);
                }
            }
            change => {
                if change != Change::CollectFees {
                    (data.base_token_amount_removed, data.quote_token_amount_removed) = human(moved.removed);
                }
                if change != Change::Remove {
                    (data.base_fee_amount_collected, data.quote_fee_amount_collected) = human(fees);
                }
            }
        }
        data
    }
}

async fn info(desk: &Desk, held: &Held) -> AppResult<PositionInfo> {
    let (sides, position) = (&held.sides, &held.position);
    let (amount0, amount1) =
        amounts_for_liquidity(sides.pool.sqrt_price_x96, position.lower, position.upper, position.liquidity, false)?;
    let (owed0, owed1) = sides.positions(desk)?.owed(&desk.network, position).await?;
    let (base, quote) = sides.human(amount0, amount1);
    let (base_fee, quote_fee) = sides.human(owed0, owed1);
    // Quote per base falls as the tick rises when the base is token1.
    let (lower_tick, upper_tick) = match sides.orientation.base_is_token0 {
        true => (position.lower, position.upper),
        false => (position.upper, position.lower),
    };
    let exact = |tick| sides.orientation.exact_price_at_tick(tick);
    Ok(PositionInfo {
        address: position.token_id.to_string(),
        pool_address: sides.pool.address().to_string(),
        base_token_address: chains::checksum(sides.base.address),
        quote_token_address: chains::checksum(sides.quote.address),
        base_token_amount: base,
        quote_token_amount: quote,
        base_fee_amount: base_fee,
        quote_fee_amount: quote_fee,
        lower_bin_id: position.lower,
        upper_bin_id: position.upper,
        lower_price: Human(exact(lower_tick)?),
        upper_price: Human(exact(upper_tick)?),
        price: Human(sides.orientation.price_from_sqrt(sides.pool.sqrt_price_x96)),
        in_range: position.lower <= sides.pool.tick && sides.pool.tick < position.upper,
        liquidity: position.liquidity.to_string(),
    })
}

/// A position's amounts, uncollected fees, range and whether the price is in it.
pub async fn position_info(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<PositionInfo> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let position = held(state, &desk, &request).await?;
    info(&desk, &position).await
}

/// The wallet's positions (in one pool when `poolAddress` is given).
pub async fn positions_owned(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> AppResult<Vec<PositionInfo>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let owner = crate::request::wallet_address(&desk.config, "walletAddress", request.wallet_address.as_deref())?;
    let pool_filter = optional_pool_address("poolAddress", request.pool_address.as_deref())?;
    let mut positions = Vec::new();
    for family in holding_positions(&desk) {
        for token_id in family.positions_of(&desk.network, owner).await? {
            let Some(position) = family.position(&desk.network, token_id).await? else { continue };
            let held = Held { sides: Sides::of(state, &desk, position.pool).await?, position };
            if pool_filter.is_none_or(|pool| pool == held.sides.pool.address()) {
                positions.push(info(&desk, &held).await?);
            }
        }
    }
    Ok(positions)
}
