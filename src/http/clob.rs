//! `/clob/*`: order-book trading in the shape of Hummingbot Gateway v1's CLOB API. Each handler opens the named
//! connector's book on its network and hands the request to the use case.

use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiResult, ErrorBody};
use super::extract::{Json, Query};
use crate::app::clob::requests;
use crate::schema::clob::*;
use crate::state::AppState;
use crate::storage::now_ms;
use crate::with_clob;

const TAG: &str = "clob";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(markets))
        .routes(routes!(order_book))
        .routes(routes!(ticker))
        .routes(routes!(get_orders, post_order, delete_order))
        .routes(routes!(batch_orders))
        .routes(routes!(clob_estimate_gas))
}

/// The markets an order-book connector trades on a network (all, or the one named).
#[utoipa::path(get, path = "/clob/markets", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = MarketsResponse), (status = 400, body = ErrorBody),
))]
async fn markets(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<MarketsResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| Ok(axum::Json(requests::markets(&clob, &query, started).await?)))
}

/// The book of a market: open orders with something fillable now, summed per price.
#[utoipa::path(get, path = "/clob/orderBook", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = OrderBookResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn order_book(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<OrderBookResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| Ok(axum::Json(requests::order_book(&state, &clob, &query, started).await?)))
}

/// Best bid and ask, last traded price and 24 h volume, per market.
#[utoipa::path(get, path = "/clob/ticker", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = TickerResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn ticker(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<TickerResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| Ok(axum::Json(requests::ticker(&state, &clob, &query, started).await?)))
}

/// Orders placed through this gateway: by market, maker, or one by id or client order id.
#[utoipa::path(get, path = "/clob/orders", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = OrdersResponse), (status = 400, body = ErrorBody), (status = 404, description = "No such order, or a wallet this gateway does not hold", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn get_orders(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<OrdersResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| Ok(axum::Json(requests::get_orders(&state, &clob, &query, started).await?)))
}

/// Places an order: LIMIT fills what it crosses and rests the rest; LIMIT_MAKER only rests; MARKET only takes.
#[utoipa::path(post, path = "/clob/orders", tag = TAG, request_body = PlaceOrderRequest, responses(
    (status = 200, body = PlaceOrderResponse), (status = 400, body = ErrorBody), (status = 404, description = "No such order, or a wallet this gateway does not hold", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn post_order(
    State(state): State<AppState>,
    Json(request): Json<PlaceOrderRequest>,
) -> ApiResult<axum::Json<PlaceOrderResponse>> {
    let started = now_ms();
    with_clob!(&state, request.target, |clob| Ok(axum::Json(
        requests::post_order(&state, &clob, &request, started).await?
    )))
}

/// Cancels an open order on-chain (the maker's transaction).
#[utoipa::path(delete, path = "/clob/orders", tag = TAG, request_body = CancelOrderRequest, responses(
    (status = 200, body = CancelResponse), (status = 400, body = ErrorBody), (status = 404, description = "No such order, or a wallet this gateway does not hold", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn delete_order(
    State(state): State<AppState>,
    Json(request): Json<CancelOrderRequest>,
) -> ApiResult<axum::Json<CancelResponse>> {
    let started = now_ms();
    with_clob!(&state, request.target, |clob| Ok(axum::Json(
        requests::delete_order(&state, &clob, &request, started).await?
    )))
}

/// Places several orders and cancels several (in one transaction) for one maker.
#[utoipa::path(post, path = "/clob/batchOrders", tag = TAG, request_body = BatchOrdersRequest, responses(
    (status = 200, body = BatchOrdersResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn batch_orders(
    State(state): State<AppState>,
    Json(request): Json<BatchOrdersRequest>,
) -> ApiResult<axum::Json<BatchOrdersResponse>> {
    let started = now_ms();
    with_clob!(&state, request.target, |clob| Ok(axum::Json(
        requests::batch_orders(&state, &clob, &request, started).await?
    )))
}

/// What filling one order costs now: the gas price and the connector's fillGasLimit.
#[utoipa::path(get, path = "/clob/estimateGas", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = ClobGasResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn clob_estimate_gas(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<ClobGasResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| Ok(axum::Json(requests::clob_estimate_gas(&clob, started).await?)))
}
