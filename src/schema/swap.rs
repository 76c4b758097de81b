//! Swaps: the quote-swap and execute-swap query or body (every route style), the quote, what a swap moved, and a
//! stored router quote's execution.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppResult;
use crate::request::{AmountText, Human, Target, optional_pool_address};
use connectors::core::pool_address::PoolAddress;

/// The query or body of every quote-swap and execute-swap, in either route style.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": "0.1", "side": "SELL", "slippagePct": 1, "walletAddress": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}))]
pub struct SwapRequest {
    /// Network name (per-connector routes), e.g. `devnet`.
    #[param(example = "devnet")]
    pub network: Option<String>,
    /// `ethereum-<network>` (unified routes).
    #[param(example = "ethereum-devnet")]
    pub chain_network: Option<String>,
    /// `uniswap` or `pancakeswap` (unified routes; `/trading/swap/*` take the type too: `uniswap/clmm`,
    /// `uniswap/amm`, `uniswap/router`); the network's swapProvider when omitted.
    #[param(example = "uniswap")]
    pub connector: Option<String>,
    /// Symbol or address of the token whose amount is given.
    #[param(example = "WETH")]
    pub base_token: String,
    /// Symbol or address of the other token (taken from the pool when omitted and a pool is given).
    #[param(example = "USDC")]
    pub quote_token: Option<String>,
    /// Human amount of the base token. Digits past its decimals are dropped (rounded toward zero): a SELL never
    /// spends more than written, a BUY never pays for more; the slippage bounds follow from the rounded amount.
    #[param(value_type = String, example = "0.1")]
    #[schema(value_type = String)]
    pub amount: AmountText,
    /// SELL spends `amount` of the base token; BUY receives `amount` of it.
    #[param(example = "SELL")]
    pub side: String,
    /// A specific pool (amm, clmm); otherwise the best listed pool for the pair.
    pub pool_address: Option<String>,
    /// Tolerance, 0-100; the connector's `slippagePct` when omitted.
    #[serde(default, deserialize_with = "crate::request::optional_number")]
    pub slippage_pct: Option<f64>,
    /// The wallet (execute, the default wallet when omitted; a router quote names its shortfalls in `warnings`).
    pub wallet_address: Option<String>,
    /// Gateway v2.17's: a BUY through a router without exact-out quotes may be approximated by a sell quote. Every
    /// router here quotes exact-out, so nothing is ever approximated; taken so v2.17's clients are not refused.
    pub approximate_if_no_exact_out: Option<bool>,
    /// Gateway v2.17's: an indicative, unexecutable price. Every quote here is firm (its quoteId executes it);
    /// taken so v2.17's clients are not refused.
    pub indicative_price: Option<bool>,
}

impl SwapRequest {
    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, self.slippage_pct)
    }

    /// The pool the request names, if any.
    pub fn pool(&self) -> AppResult<Option<PoolAddress>> {
        optional_pool_address("poolAddress", self.pool_address.as_deref())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "walletAddress": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "quoteId": "<quoteId from quote-swap>"}))]
pub struct ExecuteQuoteRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    pub connector: Option<String>,
    pub wallet_address: Option<String>,
    /// The `quoteId` a router quote-swap answered.
    pub quote_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"routePath": "60% WETH -0.05%-> USDC + 40% WETH -0.3%-> USDC",
    "quoteId": "0b8d1f7e-6c1a-4c55-9a57-2f1c2f5f4a01",
    "route": [{"poolAddress": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640", "type": "clmm", "tokenIn": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "tokenOut": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "fee": 500},
              {"poolAddress": "0x8ad599c3A0ff1De082011EFDDc58f1908eb6e6D8", "type": "clmm", "tokenIn": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "tokenOut": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "fee": 3000}],
    "splits": [{"percent": 60.0, "routePath": "WETH -0.05%-> USDC", "amountIn": 300, "amountOut": 875620.41,
                "route": [{"poolAddress": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640", "type": "clmm", "tokenIn": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "tokenOut": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "fee": 500}]},
               {"percent": 40.0, "routePath": "WETH -0.3%-> USDC", "amountIn": 200, "amountOut": 578826.59,
                "route": [{"poolAddress": "0x8ad599c3A0ff1De082011EFDDc58f1908eb6e6D8", "type": "clmm", "tokenIn": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "tokenOut": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "fee": 3000}]}],
    "tokenIn": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "tokenOut": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    "amountIn": 500, "amountOut": 1454447.0, "price": 2908.894, "priceImpactPct": 3.02, "slippagePct": 1,
    "minAmountOut": 1439902.53, "maxAmountIn": 500, "blockNumber": 214, "gasEstimate": 300000}))]
pub struct QuoteSwapResponse {
    /// The pool (single-pool swaps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_address: Option<String>,
    /// Token symbols and fee tiers of the route, e.g. `WBTC -0.3%-> WETH -0.05%-> USDC`; for an order split across
    /// routes each route with its share, e.g. `60% WETH -0.05%-> USDC + 40% WETH -0.3%-> USDC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_path: Option<String>,
    /// Execute this quote by id with `execute-quote` (router).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<String>,
    /// The pools the swap goes through, in order (split orders: each route's in turn).
    pub route: Vec<RouteStep>,
    /// How the router splits the amount across routes: each route's share, pools and amounts (router quotes; one
    /// entry when the whole amount takes one route).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub splits: Vec<RouteSplit>,
    pub token_in: String,
    pub token_out: String,
    #[schema(value_type = String, format = "decimal", example = "0.1")]
    pub amount_in: Human,
    #[schema(value_type = String, format = "decimal", example = "299.6")]
    pub amount_out: Human,
    /// Quote token per base token.
    #[schema(value_type = String, format = "decimal", example = "2996.0")]
    pub price: Human,
    #[schema(value_type = String, format = "decimal")]
    pub price_impact_pct: Human,
    #[schema(value_type = String, format = "decimal")]
    pub slippage_pct: Human,
    /// The least a SELL accepts.
    #[schema(value_type = String, format = "decimal")]
    pub min_amount_out: Human,
    /// The most a BUY pays.
    #[schema(value_type = String, format = "decimal")]
    pub max_amount_in: Human,
    /// The block the quote was computed at.
    pub block_number: u64,
    /// Gas the swap is expected to use.
    pub gas_estimate: u64,
    /// For the wallet a router quote names (`walletAddress`): what it lacks to execute the quote, a balance or an
    /// allowance short of what the swap spends. The quote is answered all the same.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One route of a router quote, and its share of the amount.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteSplit {
    /// The share of the amount (what a SELL spends, what a BUY receives) this route takes, in percent.
    #[schema(value_type = String, format = "decimal", example = "60")]
    pub percent: Human,
    /// Token symbols and fee tiers of the route.
    #[schema(example = "WETH -0.05%-> USDC")]
    pub route_path: String,
    #[schema(value_type = String, format = "decimal")]
    pub amount_in: Human,
    #[schema(value_type = String, format = "decimal")]
    pub amount_out: Human,
    /// The pools of the route, in order.
    pub route: Vec<RouteStep>,
}

/// One pool of a route.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteStep {
    pub pool_address: String,
    /// `amm` (V2) or `clmm` (V3).
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: connectors::core::family::TradingType,
    pub token_in: String,
    pub token_out: String,
    /// The V3 fee tier (hundredths of a basis point); 0 for V2.
    pub fee: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwapData {
    pub token_in: String,
    pub token_out: String,
    /// What left the wallet, read from the receipt.
    #[schema(value_type = String, format = "decimal")]
    pub amount_in: Human,
    /// What reached the wallet, read from the receipt.
    #[schema(value_type = String, format = "decimal")]
    pub amount_out: Human,
    /// Gas fee in the native currency.
    #[schema(value_type = String, format = "decimal")]
    pub fee: Human,
    #[schema(value_type = String, format = "decimal")]
    pub base_token_balance_change: Human,
    #[schema(value_type = String, format = "decimal")]
    pub quote_token_balance_change: Human,
    #[schema(value_type = String, format = "decimal")]
    pub slippage_pct: Human,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_address: Option<String>,
}
