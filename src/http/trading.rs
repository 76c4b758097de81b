//! Trading routes, served twice by the same code: per connector as Gateway v2 did
//! (`/connectors/{connector}/{amm,clmm,router}/<op>`, with `network`), and unified as Hummingbot's client
//! calls them (`/trading/{amm,clmm,router}/<op>?connector=…&chainNetwork=…`).

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use connectors::core::family::TradingType;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::answers;
use super::extract::{Json, Query};
use crate::app::trading::{amm, clmm, create, positions, resolved, router};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::request::network_name;
use crate::schema::TxResponse;
use crate::schema::liquidity::{
    AmmCreatePoolRequest, AmmLiquidityData, AmmPoolInfo, AmmPositionInfo, AmmQuoteLiquidity, ClmmCreatePoolRequest,
    ClmmPoolInfo, CreatePoolResponse, FetchPoolsQuery, FetchPoolsResponse, LiquidityData, PoolQuery, PositionInfo,
    PositionRequest, QuotePositionResponse,
};
use crate::schema::swap::{ExecuteQuoteRequest, QuoteSwapResponse, SwapData, SwapRequest};
use crate::state::AppState;

/// A GET operation in both styles: `$unified` at `/trading/...`, `$scoped` at `/connectors/{connector}/...`;
/// `answered:` ones go through the kept quote answers.
macro_rules! get_op {
    (answered: $($op:tt)*) => { get_op!(@ answered, $($op)*); };
    (@ $kind:ident, $unified:ident, $scoped:ident, $unified_path:literal, $scoped_path:literal, $request:ty, $response:ty, $handler:path, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $unified_path, tag = "trading", params($request), responses(
            (status = 200, body = $response), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
            (status = 503, body = ErrorBody)))]
        async fn $unified(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
            get_answer!($kind, state, None, uri, $request, $handler)
        }

        #[doc = $doc]
        #[utoipa::path(get, path = $scoped_path, tag = "connectors",
            params(("connector" = String, Path, description = "uniswap or pancakeswap", example = "uniswap"), $request),
            responses((status = 200, body = $response), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
            (status = 503, body = ErrorBody)))]
        async fn $scoped(State(state): State<AppState>, Path(connector): Path<String>, uri: Uri) -> ApiResult<Response> {
            get_answer!($kind, state, Some(&connector), uri, $request, $handler)
        }
    };
    ($($op:tt)*) => { get_op!(@ computed, $($op)*); };
}

macro_rules! get_answer {
    (computed, $state:ident, $connector:expr, $uri:ident, $request:ty, $handler:path) => {{
        let Query(request) = Query::<$request>::from_uri(&$uri)?;
        Ok(axum::Json($handler(&$state, $connector, request).await?).into_response())
    }};
    (answered, $state:ident, $connector:expr, $uri:ident, $request:ty, $kind:path) => {
        answers::quote_swap(&$state, &$uri, |request, inputs| {
            resolved::quote_swap(&$state, $kind, $connector, request, answers::line(&$uri), inputs)
        })
        .await
    };
}

/// A POST operation in both styles.
macro_rules! post_op {
    ($unified:ident, $scoped:ident, $unified_path:literal, $scoped_path:literal, $request:ty, $response:ty, $handler:path, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $unified_path, tag = "trading", request_body = $request, responses(
            (status = 200, body = $response), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
        async fn $unified(State(state): State<AppState>, Json(request): Json<$request>) -> ApiResult<axum::Json<$response>> {
            Ok(axum::Json($handler(&state, None, request).await?))
        }

        #[doc = $doc]
        #[utoipa::path(post, path = $scoped_path, tag = "connectors",
            params(("connector" = String, Path, description = "uniswap or pancakeswap", example = "uniswap")),
            request_body = $request, responses(
            (status = 200, body = $response), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
        async fn $scoped(
            State(state): State<AppState>,
            Path(connector): Path<String>,
            Json(request): Json<$request>,
        ) -> ApiResult<axum::Json<$response>> {
            Ok(axum::Json($handler(&state, Some(&connector), request).await?))
        }
    };
}

get_op!(
    answered: amm_quote_swap,
    connector_amm_quote_swap,
    "/trading/amm/quote-swap",
    "/connectors/{connector}/amm/quote-swap",
    SwapRequest,
    QuoteSwapResponse,
    TradingType::Amm,
    "Quotes a swap through a V2 pair, from cached reserves: SELL spends `amount` of the base token, BUY receives it."
);
post_op!(
    amm_execute_swap,
    connector_amm_execute_swap,
    "/trading/amm/execute-swap",
    "/connectors/{connector}/amm/execute-swap",
    SwapRequest,
    TxResponse<SwapData>,
    amm::execute_swap,
    "Swaps through a V2 pair via Router02, bounded by the slippage tolerance; answers what moved, from the receipt."
);
get_op!(
    amm_pool_info,
    connector_amm_pool_info,
    "/trading/amm/pool-info",
    "/connectors/{connector}/amm/pool-info",
    PoolQuery,
    AmmPoolInfo,
    amm::pool_info,
    "A V2 pair's reserves, price and fee."
);
get_op!(
    answered: clmm_quote_swap,
    connector_clmm_quote_swap,
    "/trading/clmm/quote-swap",
    "/connectors/{connector}/clmm/quote-swap",
    SwapRequest,
    QuoteSwapResponse,
    TradingType::Clmm,
    "Quotes a swap through a V3 pool (the named one, or the best listed for the pair) with the pool's own math on cached ticks."
);
post_op!(
    clmm_execute_swap,
    connector_clmm_execute_swap,
    "/trading/clmm/execute-swap",
    "/connectors/{connector}/clmm/execute-swap",
    SwapRequest,
    TxResponse<SwapData>,
    clmm::execute_swap,
    "Swaps through a V3 pool via the swap router, bounded by the slippage tolerance."
);
get_op!(
    clmm_pool_info,
    connector_clmm_pool_info,
    "/trading/clmm/pool-info",
    "/connectors/{connector}/clmm/pool-info",
    PoolQuery,
    ClmmPoolInfo,
    clmm::pool_info,
    "A V3 pool's price, tick, liquidity, fee, tick spacing, holdings and the liquidity bins around the price."
);

get_op!(
    router_quote_swap,
    connector_router_quote_swap,
    "/trading/router/quote-swap",
    "/connectors/{connector}/router/quote-swap",
    SwapRequest,
    QuoteSwapResponse,
    router::quote_swap,
    "Quotes the best route over the connector's listed V2 and V3 pools (up to maximumHops) and stores it: execute it by quoteId."
);
post_op!(
    router_execute_swap,
    connector_router_execute_swap,
    "/trading/router/execute-swap",
    "/connectors/{connector}/router/execute-swap",
    SwapRequest,
    TxResponse<SwapData>,
    router::execute_swap,
    "Quotes the best route and executes it through the router in one call."
);
post_op!(
    router_execute_quote,
    connector_router_execute_quote,
    "/trading/router/execute-quote",
    "/connectors/{connector}/router/execute-quote",
    ExecuteQuoteRequest,
    TxResponse<SwapData>,
    router::execute_quote,
    "Executes a stored router quote exactly, within its slippage bounds; an unknown id is a 404, an expired one a 400."
);

get_op!(
    clmm_position_info,
    connector_clmm_position_info,
    "/trading/clmm/position-info",
    "/connectors/{connector}/clmm/position-info",
    PositionRequest,
    PositionInfo,
    positions::position_info,
    "A position (positionAddress = its token id): amounts, uncollected fees, price range, whether the price is in it."
);
get_op!(
    clmm_positions_owned,
    connector_clmm_positions_owned,
    "/trading/clmm/positions-owned",
    "/connectors/{connector}/clmm/positions-owned",
    PositionRequest,
    Vec<PositionInfo>,
    positions::positions_owned,
    "The wallet's positions, in one pool when poolAddress is given."
);
get_op!(
    clmm_quote_liquidity,
    connector_clmm_quote_position,
    "/trading/clmm/quote-liquidity",
    "/connectors/{connector}/clmm/quote-position",
    PositionRequest,
    QuotePositionResponse,
    positions::quote_position,
    "What a position in a price range takes: give one amount, the other follows from the range and the price."
);
post_op!(
    clmm_open,
    connector_clmm_open_position,
    "/trading/clmm/open",
    "/connectors/{connector}/clmm/open-position",
    PositionRequest,
    TxResponse<LiquidityData>,
    positions::open,
    "Opens a position in a price range (quote per base, rounded to the pool's tick spacing) with one or both amounts."
);
post_op!(
    clmm_add,
    connector_clmm_add_liquidity,
    "/trading/clmm/add",
    "/connectors/{connector}/clmm/add-liquidity",
    PositionRequest,
    TxResponse<LiquidityData>,
    positions::add,
    "Adds liquidity to a position; one amount is enough."
);
post_op!(
    clmm_remove,
    connector_clmm_remove_liquidity,
    "/trading/clmm/remove",
    "/connectors/{connector}/clmm/remove-liquidity",
    PositionRequest,
    TxResponse<LiquidityData>,
    positions::remove,
    "Removes a percentage of a position's liquidity and collects it, in one transaction."
);
post_op!(
    clmm_collect_fees,
    connector_clmm_collect_fees,
    "/trading/clmm/collect-fees",
    "/connectors/{connector}/clmm/collect-fees",
    PositionRequest,
    TxResponse<LiquidityData>,
    positions::collect_fees,
    "Collects a position's fees (zero fees is a 200 with zero amounts)."
);
post_op!(
    clmm_close,
    connector_clmm_close_position,
    "/trading/clmm/close",
    "/connectors/{connector}/clmm/close-position",
    PositionRequest,
    TxResponse<LiquidityData>,
    positions::close,
    "Closes a position: removes all liquidity, collects everything and burns the NFT, in one transaction."
);
get_op!(
    clmm_fetch_pools,
    connector_clmm_fetch_pools,
    "/trading/clmm/fetch-pools",
    "/connectors/{connector}/clmm/fetch-pools",
    FetchPoolsQuery,
    FetchPoolsResponse,
    clmm::fetch_pools,
    "The pools the connector's factories have for tokenA and tokenB, every fee tier and family (V3, V4 without \
     hooks), with price, liquidity and what each holds (tvl, in the quote token), those holding the most first."
);
post_op!(
    clmm_create_pool,
    connector_clmm_create_pool,
    "/trading/clmm/create-pool",
    "/connectors/{connector}/clmm/create-pool",
    ClmmCreatePoolRequest,
    CreatePoolResponse,
    create::create_clmm_pool,
    "Creates a V3 pool of the pair at a fee tier (feeBps) and sets its first price (initialPrice, quote per base, at \
     the nearest tick; the router's market price when omitted). An existing pool is refused, named."
);
post_op!(
    amm_create_pool,
    connector_amm_create_pool,
    "/trading/amm/create-pool",
    "/connectors/{connector}/amm/create-pool",
    AmmCreatePoolRequest,
    CreatePoolResponse,
    create::create_amm_pool,
    "Creates the pair's V2 pool and seeds it with both amounts through the router, in one transaction; its price \
     is their ratio. An existing pair is refused, named."
);
get_op!(
    amm_position_info,
    connector_amm_position_info,
    "/trading/amm/position-info",
    "/connectors/{connector}/amm/position-info",
    PositionRequest,
    AmmPositionInfo,
    amm::position_info,
    "A wallet's pool tokens in a V2 pair and what they redeem for."
);
get_op!(
    amm_quote_liquidity,
    connector_amm_quote_liquidity,
    "/trading/amm/quote-liquidity",
    "/connectors/{connector}/amm/quote-liquidity",
    PositionRequest,
    AmmQuoteLiquidity,
    amm::quote_liquidity,
    "The amounts a V2 pair's ratio takes from at most the given amounts."
);
get_op!(
    amm_positions_owned,
    connector_amm_positions_owned,
    "/trading/amm/positions-owned",
    "/connectors/{connector}/amm/positions-owned",
    PositionRequest,
    Vec<AmmPositionInfo>,
    amm::positions_owned,
    "The wallet's positions in the V2 pairs listed for the connector: each pair where it holds pool tokens."
);
post_op!(
    amm_add,
    connector_amm_add_liquidity,
    "/trading/amm/add",
    "/connectors/{connector}/amm/add-liquidity",
    PositionRequest,
    TxResponse<AmmLiquidityData>,
    amm::add_liquidity,
    "Adds liquidity to a V2 pair at its ratio."
);
post_op!(
    amm_remove,
    connector_amm_remove_liquidity,
    "/trading/amm/remove",
    "/connectors/{connector}/amm/remove-liquidity",
    PositionRequest,
    TxResponse<AmmLiquidityData>,
    amm::remove_liquidity,
    "Removes a percentage of the wallet's V2 liquidity."
);

/// The kind of swap a unified `/trading/swap/*` request names: `connector` as `uniswap/clmm`, `pancakeswap/amm`,
/// `uniswap/router`, a bare connector (its router), or nothing (the network's `swapProvider`).
fn swap_kind(state: &AppState, request: &SwapRequest) -> ApiResult<TradingType> {
    let named = match request.connector.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(connector) => connector.to_string(),
        None => {
            let config = state.config();
            let network = network_name(&config, request.network.as_deref(), request.chain_network.as_deref())?;
            config.network(&network).map(|n| n.swap_provider.clone()).unwrap_or_default()
        }
    };
    let kind = named.split_once('/').map_or(TradingType::Router.as_str(), |(_, kind)| kind);
    match TradingType::parse(kind) {
        Some(kind) => Ok(kind),
        None => Err(ApiError::bad_request(
            "connector",
            format!(
                "{} is not a trading type; name the connector as <connector>/<amm|clmm|router>, e.g. uniswap/clmm",
                chains::quoted(kind)
            ),
        )),
    }
}

/// Quotes a swap, as Gateway v2.13's unified route: `connector` names the connector and its trading type
/// (`uniswap/clmm`, `uniswap/amm`, `uniswap/router`, `pancakeswap/...`), the network's swapProvider when omitted.
/// A router quote carries a quoteId for execute-quote.
#[utoipa::path(get, path = "/trading/swap/quote", tag = "trading",
    params(SwapRequest),
    responses((status = 200, body = QuoteSwapResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn swap_quote(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    let Query(request) = Query::<SwapRequest>::from_uri(&uri)?;
    match swap_kind(&state, &request)? {
        kind @ (TradingType::Amm | TradingType::Clmm) => {
            answers::quote_swap(&state, &uri, |request, inputs| {
                resolved::quote_swap(&state, kind, None, request, answers::line(&uri), inputs)
            })
            .await
        }
        TradingType::Router => Ok(axum::Json(router::quote_swap(&state, None, request).await?).into_response()),
    }
}

/// Executes a swap, as Gateway v2.13's unified route: `connector` as in `/trading/swap/quote`.
#[utoipa::path(post, path = "/trading/swap/execute", tag = "trading", request_body(content = SwapRequest,
    example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap/clmm", "baseToken": "WETH", "quoteToken": "USDC", "amount": 0.1, "side": "SELL"})),
    responses((status = 200, body = TxResponse<SwapData>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
async fn swap_execute(
    State(state): State<AppState>,
    Json(request): Json<SwapRequest>,
) -> ApiResult<axum::Json<TxResponse<SwapData>>> {
    Ok(axum::Json(match swap_kind(&state, &request)? {
        TradingType::Amm => amm::execute_swap(&state, None, request).await?,
        TradingType::Clmm => clmm::execute_swap(&state, None, request).await?,
        TradingType::Router => router::execute_swap(&state, None, request).await?,
    }))
}

/// What a position in a price range takes (Gateway v2.13's name for `/trading/clmm/quote-liquidity`).
#[utoipa::path(get, path = "/trading/clmm/quote-position", tag = "trading", params(PositionRequest), responses(
    (status = 200, body = QuotePositionResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn clmm_quote_position(
    State(state): State<AppState>,
    Query(request): Query<PositionRequest>,
) -> ApiResult<axum::Json<QuotePositionResponse>> {
    Ok(axum::Json(positions::quote_position(&state, None, request).await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(swap_quote))
        .routes(routes!(swap_execute))
        .routes(routes!(clmm_quote_position))
        .routes(routes!(amm_quote_swap))
        .routes(routes!(connector_amm_quote_swap))
        .routes(routes!(amm_execute_swap))
        .routes(routes!(connector_amm_execute_swap))
        .routes(routes!(amm_pool_info))
        .routes(routes!(connector_amm_pool_info))
        .routes(routes!(clmm_quote_swap))
        .routes(routes!(connector_clmm_quote_swap))
        .routes(routes!(clmm_execute_swap))
        .routes(routes!(connector_clmm_execute_swap))
        .routes(routes!(clmm_pool_info))
        .routes(routes!(connector_clmm_pool_info))
        .routes(routes!(router_quote_swap))
        .routes(routes!(connector_router_quote_swap))
        .routes(routes!(router_execute_swap))
        .routes(routes!(connector_router_execute_swap))
        .routes(routes!(router_execute_quote))
        .routes(routes!(connector_router_execute_quote))
        .routes(routes!(clmm_position_info))
        .routes(routes!(connector_clmm_position_info))
        .routes(routes!(clmm_positions_owned))
        .routes(routes!(connector_clmm_positions_owned))
        .routes(routes!(clmm_quote_liquidity))
        .routes(routes!(connector_clmm_quote_position))
        .routes(routes!(clmm_open))
        .routes(routes!(connector_clmm_open_position))
        .routes(routes!(clmm_add))
        .routes(routes!(connector_clmm_add_liquidity))
        .routes(routes!(clmm_remove))
        .routes(routes!(connector_clmm_remove_liquidity))
        .routes(routes!(clmm_collect_fees))
        .routes(routes!(connector_clmm_collect_fees))
        .routes(routes!(clmm_close))
        .routes(routes!(connector_clmm_close_position))
        .routes(routes!(amm_position_info))
        .routes(routes!(connector_amm_position_info))
        .routes(routes!(clmm_fetch_pools))
        .routes(routes!(connector_clmm_fetch_pools))
        .routes(routes!(clmm_create_pool))
        .routes(routes!(connector_clmm_create_pool))
        .routes(routes!(amm_create_pool))
        .routes(routes!(connector_amm_create_pool))
        .routes(routes!(amm_positions_owned))
        .routes(routes!(connector_amm_positions_owned))
        .routes(routes!(amm_quote_liquidity))
        .routes(routes!(connector_amm_quote_liquidity))
        .routes(routes!(amm_add))
        .routes(routes!(connector_amm_add_liquidity))
        .routes(routes!(amm_remove))
        .routes(routes!(connector_amm_remove_liquidity))
}
