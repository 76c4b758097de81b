//! Trading routes, served twice by the same code: per connector as Gateway v2 did
//! (`/connectors/{connector}/{amm,clmm,router}/<op>`, with `network`), and unified as Hummingbot's client
//! calls them (`/trading/{amm,clmm,router}/<op>?connector=…&chainNetwork=…`).

use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{Json, Query};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::trading::TxResponse;
use crate::trading::amm::{self, AmmPoolInfo, PoolQuery};
use crate::trading::clmm::{self, ClmmPoolInfo};
use crate::trading::router::{self, ExecuteQuoteRequest};
use crate::trading::swap::{QuoteSwapResponse, SwapData, SwapRequest};

/// A GET operation in both styles: `$unified` at `/trading/...`, `$scoped` at `/connectors/{connector}/...`.
macro_rules! get_op {
    ($unified:ident, $scoped:ident, $unified_path:literal, $scoped_path:literal, $request:ty, $response:ty, $handler:path, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $unified_path, tag = "trading", params($request), responses(
            (status = 200, body = $response), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
        async fn $unified(State(state): State<AppState>, Query(request): Query<$request>) -> ApiResult<axum::Json<$response>> {
            Ok(axum::Json($handler(&state, None, request).await?))
        }

        #[doc = $doc]
        #[utoipa::path(get, path = $scoped_path, tag = "connectors",
            params(("connector" = String, Path, description = "uniswap or pancakeswap", example = "uniswap"), $request),
            responses((status = 200, body = $response), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
        async fn $scoped(
            State(state): State<AppState>,
            Path(connector): Path<String>,
            Query(request): Query<$request>,
        ) -> ApiResult<axum::Json<$response>> {
            Ok(axum::Json($handler(&state, Some(&connector), request).await?))
        }
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
    amm_quote_swap,
    connector_amm_quote_swap,
    "/trading/amm/quote-swap",
    "/connectors/{connector}/amm/quote-swap",
    SwapRequest,
    QuoteSwapResponse,
    amm::quote_swap,
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
    clmm_quote_swap,
    connector_clmm_quote_swap,
    "/trading/clmm/quote-swap",
    "/connectors/{connector}/clmm/quote-swap",
    SwapRequest,
    QuoteSwapResponse,
    clmm::quote_swap,
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
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
}
