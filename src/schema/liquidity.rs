//! Pools and liquidity: a pool named by address, a position request (either route style), and what pool-info,
//! position-info, quotes and liquidity changes answer, for V2 pairs (`amm`) and V3 positions (`clmm`).

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, AppResult};
use crate::request::{AmountText, Human, Target, optional_pool_address};
use connectors::core::pool_address::PoolAddress;

/// A pool named by address, in either route style.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PoolQuery {
    #[param(example = "devnet")]
    pub network: Option<String>,
    #[param(example = "ethereum-devnet")]
    pub chain_network: Option<String>,
    #[param(example = "uniswap")]
    pub connector: Option<String>,
    #[param(example = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc")]
    pub pool_address: String,
    /// Which token to call base (default: the pool list's base, else token0).
    pub base_token: Option<String>,
    /// Liquidity bins around the price to include (clmm); 10 when omitted.
    pub bin_count: Option<u32>,
}

impl PoolQuery {
    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, None)
    }
}

/// The fields every position request shares, in either route style.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PositionRequest {
    #[param(example = "devnet")]
    pub network: Option<String>,
    #[param(example = "ethereum-devnet")]
    pub chain_network: Option<String>,
    #[param(example = "uniswap")]
    pub connector: Option<String>,
    /// The wallet (transactions and positions-owned), the default wallet when omitted.
    pub wallet_address: Option<String>,
    /// The pool (open, quote-position; filters positions-owned).
    #[param(example = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640")]
    pub pool_address: Option<String>,
    /// The position's token id (add, remove, collect-fees, close, position-info).
    pub position_address: Option<String>,
    /// Lower and upper price of the range, quote per base (open, quote-position).
    #[serde(default, deserialize_with = "crate::request::optional_number")]
    pub lower_price: Option<f64>,
    #[serde(default, deserialize_with = "crate::request::optional_number")]
    pub upper_price: Option<f64>,
    /// Human amounts; one is enough, the other follows from the range and the price. Digits past a token's
    /// decimals are dropped (amounts computed as floats, e.g. base × price, are taken rounded down).
    #[schema(value_type = Option<String>)]
    #[param(value_type = Option<String>)]
    pub base_token_amount: Option<AmountText>,
    #[schema(value_type = Option<String>)]
    #[param(value_type = Option<String>)]
    pub quote_token_amount: Option<AmountText>,
    /// 0-100 (remove).
    #[serde(default, deserialize_with = "crate::request::optional_number")]
    pub percentage_to_remove: Option<f64>,
    #[serde(default, deserialize_with = "crate::request::optional_number")]
    pub slippage_pct: Option<f64>,
}

impl PositionRequest {
    /// The share of liquidity to remove: required, above 0 and at most 100.
    pub fn percentage_to_remove(&self) -> AppResult<f64> {
        let percentage =
            self.percentage_to_remove.ok_or_else(|| AppError::invalid("percentageToRemove", "is required"))?;
        if !(percentage > 0.0 && percentage <= 100.0) {
            return Err(AppError::invalid("percentageToRemove", "must be above 0 and at most 100"));
        }
        Ok(percentage)
    }

    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, self.slippage_pct)
    }

    /// The pool: required.
    pub fn pool(&self) -> AppResult<PoolAddress> {
        optional_pool_address("poolAddress", self.pool_address.as_deref())?
            .ok_or_else(|| AppError::invalid("poolAddress", "is required"))
    }

    /// The position's token id: required.
    pub fn token_id(&self) -> AppResult<U256> {
        let text = self
            .position_address
            .as_deref()
            .ok_or_else(|| AppError::invalid("positionAddress", "is required: the position's token id"))?;
        // An empty string parses as 0, which is not a position anyone holds.
        let digits = text.trim();
        let parsed = (!digits.is_empty()).then(|| digits.parse::<U256>().ok()).flatten();
        parsed.ok_or_else(|| {
            AppError::invalid("positionAddress", format!("{} is not a position token id", chains::quoted(text)))
        })
    }

    /// The raw base and quote amounts given (digits past a token's decimals dropped).
    pub fn amounts(&self, base_decimals: u8, quote_decimals: u8) -> AppResult<(Option<U256>, Option<U256>)> {
        let raw = |amount: &Option<AmountText>, field: &str, decimals: u8| {
            amount.as_ref().filter(|a| !a.is_empty()).map(|a| a.parse(field, decimals).map(|a| a.raw)).transpose()
        };
        Ok((
            raw(&self.base_token_amount, "baseTokenAmount", base_decimals)?,
            raw(&self.quote_token_amount, "quoteTokenAmount", quote_decimals)?,
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmmPoolInfo {
    pub address: String,
    pub base_token_address: String,
    pub quote_token_address: String,
    #[schema(value_type = String, format = "decimal", example = "0.3")]
    pub fee_pct: Human,
    /// Quote per base.
    #[schema(value_type = String, format = "decimal")]
    pub price: Human,
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount: Human,
    pub block_number: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmmPositionInfo {
    pub pool_address: String,
    pub wallet_address: String,
    pub base_token_address: String,
    pub quote_token_address: String,
    /// Pool (LP) tokens held.
    #[schema(value_type = String, format = "decimal")]
    pub lp_token_amount: Human,
    /// What they redeem for now.
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub price: Human,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmmQuoteLiquidity {
    pub pool_address: String,
    /// Whether the base amount decided how much goes in.
    pub base_limited: bool,
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount_max: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount_max: Human,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmmLiquidityData {
    #[schema(value_type = String, format = "decimal")]
    pub fee: Human,
    pub pool_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub base_token_amount_added: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub quote_token_amount_added: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub base_token_amount_removed: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub quote_token_amount_removed: Option<Human>,
}

/// Liquidity between two initialized ticks around the price.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bin {
    /// The range's lower tick.
    pub bin_id: i32,
    /// Quote per base at the lower tick.
    #[schema(value_type = String, format = "decimal")]
    pub price: Human,
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount: Human,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClmmPoolInfo {
    pub address: String,
    pub base_token_address: String,
    pub quote_token_address: String,
    /// The tick spacing.
    pub bin_step: i32,
    #[schema(value_type = String, format = "decimal", example = "0.05")]
    pub fee_pct: Human,
    /// Quote per base.
    #[schema(value_type = String, format = "decimal")]
    pub price: Human,
    /// What the pool holds of each token.
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount: Human,
    /// The current tick.
    pub active_bin_id: i32,
    /// Liquidity in range at the current tick.
    pub liquidity: String,
    pub sqrt_price_x96: String,
    pub bins: Vec<Bin>,
    pub block_number: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotePositionResponse {
    pub pool_address: String,
    /// Whether the base amount decided the liquidity.
    pub base_limited: bool,
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount: Human,
    /// With the slippage tolerance.
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount_max: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount_max: Human,
    pub liquidity: String,
    pub lower_bin_id: i32,
    pub upper_bin_id: i32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiquidityData {
    /// Gas fee in the native currency.
    #[schema(value_type = String, format = "decimal")]
    pub fee: Human,
    pub pool_address: String,
    /// The position's token id.
    pub position_address: String,
    /// Solana's rent; always 0 here.
    #[schema(value_type = String, format = "decimal")]
    pub position_rent: Human,
    /// Solana's rent given back when a position closes; always 0 here (Hummingbot's client requires a number).
    #[schema(value_type = String, format = "decimal")]
    pub position_rent_refunded: Human,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub base_token_amount_added: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub quote_token_amount_added: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub base_token_amount_removed: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub quote_token_amount_removed: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub base_fee_amount_collected: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub quote_fee_amount_collected: Option<Human>,
}

impl LiquidityData {
    pub fn new(fee: Human, pool: PoolAddress, token_id: U256) -> Self {
        LiquidityData {
            fee,
            pool_address: pool.to_string(),
            position_address: token_id.to_string(),
            position_rent: Human("0".into()),
            position_rent_refunded: Human("0".into()),
            base_token_amount_added: None,
            quote_token_amount_added: None,
            base_token_amount_removed: None,
            quote_token_amount_removed: None,
            base_fee_amount_collected: None,
            quote_fee_amount_collected: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PositionInfo {
    /// The position's token id.
    pub address: String,
    pub pool_address: String,
    pub base_token_address: String,
    pub quote_token_address: String,
    #[schema(value_type = String, format = "decimal")]
    pub base_token_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_amount: Human,
    /// Fees earned and not yet collected.
    #[schema(value_type = String, format = "decimal")]
    pub base_fee_amount: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_fee_amount: Human,
    pub lower_bin_id: i32,
    pub upper_bin_id: i32,
    #[schema(value_type = String, format = "decimal")]
    pub lower_price: Human,
    #[schema(value_type = String, format = "decimal")]
    pub upper_price: Human,
    /// The pool's price now, quote per base.
    #[schema(value_type = String, format = "decimal")]
    pub price: Human,
    pub in_range: bool,
    pub liquidity: String,
}

/// Creates a concentrated-liquidity pool (Uniswap or PancakeSwap V3) and sets its first price.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "LINK", "quoteToken": "USDC", "feeBps": 30, "initialPrice": "15"}))]
pub struct ClmmCreatePoolRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    pub connector: Option<String>,
    /// The wallet that pays for it; the default wallet when omitted.
    pub wallet_address: Option<String>,
    pub base_token: String,
    pub quote_token: String,
    /// The fee tier in basis points: 1, 5, 30 or 100 (PancakeSwap: 1, 5, 25 or 100).
    pub fee_bps: Option<u32>,
    /// Quote per base; the router's market price when omitted.
    #[schema(value_type = Option<String>)]
    pub initial_price: Option<AmountText>,
}

impl ClmmCreatePoolRequest {
    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, None)
    }
}

/// Creates a V2 pair and seeds it with its first liquidity, which sets its price, in one transaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "LINK", "quoteToken": "USDC", "baseTokenAmount": "100", "quoteTokenAmount": "50"}))]
pub struct AmmCreatePoolRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    pub connector: Option<String>,
    pub wallet_address: Option<String>,
    pub base_token: String,
    pub quote_token: String,
    #[schema(value_type = String)]
    pub base_token_amount: AmountText,
    /// What sets the price; when omitted, `baseTokenAmount` × `initialPrice`, else what the router gives for it now.
    #[schema(value_type = Option<String>)]
    pub quote_token_amount: Option<AmountText>,
    /// Quote per base; overrides `quoteTokenAmount`.
    #[schema(value_type = Option<String>)]
    pub initial_price: Option<AmountText>,
    #[serde(default, deserialize_with = "crate::request::optional_number")]
    pub slippage_pct: Option<f64>,
}

impl AmmCreatePoolRequest {
    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, self.slippage_pct)
    }
}

/// A pool created: the transaction, where the pool is, and the price it starts at.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePoolResponse {
    pub signature: String,
    /// 1 confirmed.
    pub status: i8,
    pub pool_address: String,
    /// Quote per base, as the pool starts (a clmm pool's at the tick nearest the price asked).
    #[schema(value_type = String, format = "decimal")]
    pub price: Human,
    pub data: CreatePoolData,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePoolData {
    /// Gas fee in the native currency.
    #[schema(value_type = String, format = "decimal")]
    pub fee: Human,
    /// What seeded a V2 pair, read from the receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub base_token_amount_added: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub quote_token_amount_added: Option<Human>,
}

/// The concentrated-liquidity pools the connector's factories have for a pair.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct FetchPoolsQuery {
    pub network: Option<String>,
    #[param(example = "ethereum-devnet")]
    pub chain_network: Option<String>,
    #[param(example = "uniswap")]
    pub connector: Option<String>,
    /// The base token of each answer (symbol or address).
    #[param(example = "WETH")]
    pub token_a: Option<String>,
    /// The quote token.
    #[param(example = "USDC")]
    pub token_b: Option<String>,
    /// The pair as Gateway v2.17's clients search it, `BASE-QUOTE` (or `BASE/QUOTE`), when tokenA and tokenB are
    /// not given.
    pub query: Option<String>,
    /// At most this many pools, those holding the most first: 1 to 1000, 50 when omitted.
    pub limit: Option<u32>,
    /// Which `limit` pools: the 0-based page of them.
    pub page: Option<u32>,
}

impl FetchPoolsQuery {
    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, None)
    }

    /// The pair asked for: tokenA and tokenB, else the query's two sides.
    pub fn pair(&self) -> AppResult<(&str, &str)> {
        if let (Some(a), Some(b)) = (self.token_a.as_deref(), self.token_b.as_deref()) {
            return Ok((a, b));
        }
        let query = self.query.as_deref().unwrap_or_default();
        query.split_once(['-', '/']).filter(|(a, b)| !a.is_empty() && !b.is_empty()).ok_or_else(|| {
            AppError::invalid(
                "tokenA",
                "tokenA and tokenB are required (or query=BASE-QUOTE), e.g. tokenA=WETH&tokenB=USDC",
            )
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FetchPoolsResponse {
    pub pools: Vec<PoolListItem>,
    /// How many pools the pair has, before `limit`.
    pub total: usize,
    pub page: u32,
    pub page_size: u32,
}

/// One pool of the pair, tokenA as its base.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolListItem {
    /// The pool's contract (V3) or id (V4).
    pub address: String,
    /// `BASE-QUOTE`.
    pub name: String,
    pub base_token_address: String,
    pub base_token_symbol: String,
    pub quote_token_address: String,
    pub quote_token_symbol: String,
    /// The tick spacing.
    pub bin_step: i32,
    /// The fee, in percent.
    #[schema(value_type = String, format = "decimal")]
    pub base_fee: Human,
    /// Quote per base.
    #[schema(value_type = String, format = "decimal")]
    pub price: Human,
    /// What the pool holds, valued in the quote token at its price (not in USD: no price feed is asked).
    #[schema(value_type = String, format = "decimal")]
    pub tvl: Human,
    /// Liquidity in range at the current tick.
    pub liquidity: String,
}
