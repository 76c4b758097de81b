//! Creating pools (Gateway v2.17's create-pool): a concentrated-liquidity pool at a first price, through the
//! family's position manager; a V2 pair seeded with its first liquidity, which sets its price, through the
//! router. A pool that exists already is refused, named.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use chains::amount::ratio;
use chains::erc20::{Token, transfers};
use connectors::Side;
use connectors::clmm::range::Orientation;
use connectors::clmm::ticks::sqrt_at;
use connectors::core::family::Family;
use connectors::core::pool_address::PoolAddress;
use connectors::core::route::sort_tokens;

use super::Desk;
use super::swap::Order;
use crate::error::{AppError, AppResult};
use crate::request::Human;
use crate::schema::liquidity::{AmmCreatePoolRequest, ClmmCreatePoolRequest, CreatePoolData, CreatePoolResponse};
use crate::schema::{fee_of, status_of};
use crate::state::AppState;

/// Creates a V3 pool of the pair at `feeBps` and sets its price to `initialPrice` (quote per base, at the nearest
/// tick), else to the router's market price.
pub async fn create_clmm_pool(
    state: &AppState,
    connector: Option<&str>,
    request: ClmmCreatePoolRequest,
) -> AppResult<CreatePoolResponse> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let (_, signer) = desk.wallet(state, request.wallet_address.as_deref())?;
    let (base, quote) = pair_of(&desk, &request.base_token, &request.quote_token)?;
    let v3 = desk.protocol(Family::V3)?;
    let (token0, token1) = sort_tokens(base.address, quote.address);
    let bps = request.fee_bps.ok_or_else(|| AppError::invalid("feeBps", "is required: the pool's fee tier"))?;
    let tiers = v3.pool_addresses(token0, token1);
    let Some(&(pool, fee)) = tiers.iter().find(|(_, fee)| v3.fee(*fee) == bps * 100) else {
        let offered: Vec<String> = tiers.iter().map(|(_, fee)| (v3.fee(*fee) / 100).to_string()).collect();
        return Err(AppError::invalid("feeBps", format!("must be one of {} here", offered.join(", "))));
    };
    refuse_existing(&desk, pool).await?;
    let price = match &request.initial_price {
        Some(text) => {
            text.0.trim().parse::<f64>().ok().filter(|price| price.is_finite() && *price > 0.0).ok_or_else(|| {
                AppError::invalid("initialPrice", format!("must be a positive number, got {}", chains::quoted(&text.0)))
            })?
        }
        None => market_price(state, &desk, &base, &quote).await?,
    };
    let base_is_token0 = base.address == token0;
    let (decimals0, decimals1) =
        if base_is_token0 { (base.decimals, quote.decimals) } else { (quote.decimals, base.decimals) };
    let orientation = Orientation { base_is_token0, decimals0, decimals1 };
    let sqrt_price = sqrt_at(orientation.tick_for_price(price, 1)?)?;
    let started = orientation.price_from_sqrt(sqrt_price);
    // The nearest tick is within 0.01 % of any price a pool can hold; farther, the price is beyond its range.
    if (started.parse::<f64>().unwrap_or_default() / price - 1.0).abs() > 0.001 {
        return Err(AppError::invalid(
            "initialPrice",
            format!("{price} is beyond the prices a pool of these tokens can start at (the nearest is {started})"),
        ));
    }
    let call = v3.create_pool((token0, token1), fee, sqrt_price)?;
    let (sent, outcome) = desk.send(state, &signer, call, "create-pool").await?;
    Ok(CreatePoolResponse {
        signature: sent.hash.to_string(),
        status: status_of(&outcome).0,
        pool_address: pool.to_string(),
        price: Human(started),
        data: CreatePoolData { fee: fee_of(&outcome), base_token_amount_added: None, quote_token_amount_added: None },
    })
}

/// Creates the pair's V2 pool and seeds it with `baseTokenAmount` and `quoteTokenAmount` through the router, in
/// one transaction; its price is their ratio.
pub async fn create_amm_pool(
    state: &AppState,
    connector: Option<&str>,
    request: AmmCreatePoolRequest,
) -> AppResult<CreatePoolResponse> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let (owner, signer) = desk.wallet(state, request.wallet_address.as_deref())?;
    let (base, quote) = pair_of(&desk, &request.base_token, &request.quote_token)?;
    let v2 = desk.protocol(Family::V2)?;
    let (token0, token1) = sort_tokens(base.address, quote.address);
    let pair = v2
        .pool_addresses(token0, token1)
        .first()
        .map(|(pool, _)| *pool)
        .ok_or_else(|| desk.not_deployed_kind(Family::V2.trading_type()))?;
    refuse_existing(&desk, pair).await?;
    let amount = |text: &crate::request::AmountText, field: &str, token: &Token| -> AppResult<U256> {
        let raw = text.parse(field, token.decimals)?.raw;
        if raw.is_zero() {
            return Err(AppError::invalid(field, "must be greater than zero"));
        }
        Ok(raw)
    };
    let base_amount = amount(&request.base_token_amount, "baseTokenAmount", &base)?;
    let quote_amount = match (&request.initial_price, &request.quote_token_amount) {
        (Some(price), _) => {
            // base × price, in the quote token's units, rounded down: price read to 18 decimals.
            let price = amount(price, "initialPrice", &Token { decimals: 18, ..quote.clone() })?;
            let scale = |decimals: u8| U256::from(10u64).pow(U256::from(decimals));
            base_amount * price * scale(quote.decimals) / (scale(base.decimals) * scale(18))
        }
        (None, Some(text)) => amount(text, "quoteTokenAmount", &quote)?,
        (None, None) => market_amount(state, &desk, &base, &quote, base_amount).await?,
    };
    if quote_amount.is_zero() {
        return Err(AppError::invalid(
            "quoteTokenAmount",
            "comes to zero: give more of the base token or a higher price",
        ));
    }
    let router = v2.liquidity_router()?;
    let spender_name = format!("{}/amm", desk.connector);
    let amounts = (base_amount, quote_amount);
    // A new pair takes exactly what is given: there is no ratio yet to fall short of.
    let call = v2.add_liquidity((base.address, quote.address), amounts, amounts, owner, desk.deadline())?;
    let checks = desk.require_pair_funds(owner, [(&base, base_amount), (&quote, quote_amount)], router, &spender_name);
    let (sent, outcome) = desk.send_checked(state, &signer, call, "create-pool", checks).await?;
    let receipt = status_of(&outcome).1;
    let added = |token: &Token| {
        let sent = receipt.map_or(U256::ZERO, |receipt| transfers(receipt, token.address, owner).0);
        Some(Human(chains::amount::format_units(sent, token.decimals)))
    };
    Ok(CreatePoolResponse {
        signature: sent.hash.to_string(),
        status: status_of(&outcome).0,
        pool_address: pair.to_string(),
        price: Human(ratio(quote_amount, quote.decimals, base_amount, base.decimals)),
        data: CreatePoolData {
            fee: fee_of(&outcome),
            base_token_amount_added: added(&base),
            quote_token_amount_added: added(&quote),
        },
    })
}

/// The request's two tokens, which must be different ERC-20s (pools hold the wrapped native token, not the
/// native currency).
fn pair_of(desk: &Desk, base: &str, quote: &str) -> AppResult<(Token, Token)> {
    let (base, quote) = (desk.token("baseToken", base)?, desk.token("quoteToken", quote)?);
    for (field, token) in [("baseToken", &base), ("quoteToken", &quote)] {
        if token.address == Address::ZERO {
            return Err(AppError::invalid(
                field,
                "must be an ERC-20: pools of this kind hold the wrapped native token",
            ));
        }
    }
    if base.address == quote.address {
        return Err(AppError::invalid("quoteToken", "must differ from baseToken"));
    }
    Ok((base, quote))
}

async fn refuse_existing(desk: &Desk, pool: PoolAddress) -> AppResult<()> {
    let Some(contract) = pool.contract() else { return Ok(()) };
    let code = desk.network.provider().get_code_at(contract).await.map_err(|e| desk.network.rpc_error(e))?;
    match code.is_empty() {
        true => Ok(()),
        false => Err(AppError::invalid(
            "quoteToken",
            format!(
                "pool {pool} of this pair and fee already exists; use it (POST /pools/save/{pool}?chainNetwork=\
                 ethereum-{}) or pick another fee",
                desk.network_name
            ),
        )),
    }
}

/// Quote per base the connector's router gives for one base token now.
async fn market_price(state: &AppState, desk: &Desk, base: &Token, quote: &Token) -> AppResult<f64> {
    let one = U256::from(10u64).pow(U256::from(base.decimals));
    let out = market_amount(state, desk, base, quote, one).await?;
    Ok(ratio(out, quote.decimals, one, base.decimals).parse().unwrap_or_default())
}

/// What the connector's router gives of `quote` for `amount` of `base` now; refused, naming initialPrice, when no
/// route prices the pair.
async fn market_amount(state: &AppState, desk: &Desk, base: &Token, quote: &Token, amount: U256) -> AppResult<U256> {
    let order = Order::new(Side::Sell, base.clone(), quote.clone(), amount);
    let routing = super::router::best_routing(state, desk, &order).await.map_err(|_| {
        AppError::invalid("initialPrice", "is required: no route of this connector prices the pair to start it at")
    })?;
    Ok(routing.quote.amount_out)
}
