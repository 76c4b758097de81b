//! `/chains/{chain}/*` (status, balances, poll, estimate-gas, wrap, unwrap, as Gateway v2.17 serves them, `{chain}`
//! being `ethereum`) and `/chains/ethereum/*` (allowances, approve, cancel, speed-up); and `/wallet/send`, a transfer like wrap. Each handler hands its request to the use case and answers
//! what it gives.

use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use axum::http::StatusCode;

use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{Json, Query, ServedChain};
use crate::app::{chain, transactions};
use crate::schema::chain::*;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(balances))
        .routes(routes!(allowances))
        .routes(routes!(approve))
        .routes(routes!(poll))
        .routes(routes!(cancel))
        .routes(routes!(speed_up))
        .routes(routes!(estimate_gas))
        .routes(routes!(wrap))
        .routes(routes!(unwrap))
        .routes(routes!(send))
}

const TAG: &str = "chains/ethereum";

/// The chain of a `/chains/{chain}/…` path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Described for the document; `ServedChain` reads it.
struct ChainParam {
    /// `ethereum`, the one chain family served (its networks are named in the request).
    #[param(example = "ethereum")]
    chain: String,
}

/// The network's node, current block and native currency.
#[utoipa::path(get, path = "/chains/{chain}/status", tag = TAG, params(ChainParam, NetworkQuery), responses(
    (status = 200, body = StatusResponse),
    (status = 400, body = ErrorBody), (status = 503, description = "No node answered", body = ErrorBody),
))]
async fn status(
    _: ServedChain,
    State(state): State<AppState>,
    Query(query): Query<NetworkQuery>,
) -> ApiResult<axum::Json<StatusResponse>> {
    Ok(axum::Json(chain::status(&state, query).await?))
}

/// Native and ERC-20 balances of a wallet, read in one RPC round trip.
#[utoipa::path(post, path = "/chains/{chain}/balances", tag = TAG, params(ChainParam), request_body = BalancesRequest, responses(
    (status = 200, body = BalancesResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn balances(
    _: ServedChain,
    State(state): State<AppState>,
    Json(request): Json<BalancesRequest>,
) -> ApiResult<axum::Json<BalancesResponse>> {
    Ok(axum::Json(chain::balances(&state, request).await?))
}

/// How much a spender may move of each token. A connector name standing for several contracts reports the
/// smallest of their allowances.
#[utoipa::path(post, path = "/chains/ethereum/allowances", tag = TAG, request_body = AllowancesRequest, responses(
    (status = 200, body = AllowancesResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn allowances(
    State(state): State<AppState>,
    Json(request): Json<AllowancesRequest>,
) -> ApiResult<axum::Json<AllowancesResponse>> {
    Ok(axum::Json(chain::allowances(&state, request).await?))
}

/// Approves a spender for a token (unlimited unless an amount is given) and waits for the receipt. The spender is
/// a connector's contract (by name or address) or an address server.yml `allowedSpenders` lists.
#[utoipa::path(post, path = "/chains/ethereum/approve", tag = TAG, request_body = ApproveRequest, responses(
    (status = 200, body = ApproveResponse),
    (status = 400, description = "Bad input, or the approval would revert", body = ErrorBody),
    (status = 403, description = "A spender that is no connector's contract and not in allowedSpenders", body = ErrorBody),
    (status = 404, description = "Unknown wallet", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn approve(
    State(state): State<AppState>,
    Json(request): Json<ApproveRequest>,
) -> ApiResult<axum::Json<ApproveResponse>> {
    Ok(axum::Json(chain::approve(&state, request).await?))
}

/// A transaction's status, as the chain has it; the ledger follows. An unknown hash is answered (status -2), not
/// refused. A transaction that was sped up or cancelled answers with what was mined in its place. Nothing is ever
/// sent again by a poll.
#[utoipa::path(post, path = "/chains/{chain}/poll", tag = TAG, params(ChainParam), request_body = PollRequest, responses(
    (status = 200, body = PollResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn poll(
    _: ServedChain,
    State(state): State<AppState>,
    Json(request): Json<PollRequest>,
) -> ApiResult<axum::Json<PollResponse>> {
    Ok(axum::Json(transactions::poll(&state, request).await?))
}

/// Cancels the wallet's pending transaction at `nonce`: a 0-value transfer to itself at that nonce with fees at
/// least 12.5 % over what is pending there (within the network's caps), then waits for the receipt.
#[utoipa::path(post, path = "/chains/ethereum/cancel", tag = TAG, request_body = CancelRequest, responses(
    (status = 200, body = ReplaceResponse),
    (status = 400, description = "Nothing pending at that nonce, or the replacement would be over a fee cap (FEE_CAP)", body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn cancel(
    State(state): State<AppState>,
    Json(request): Json<CancelRequest>,
) -> ApiResult<axum::Json<ReplaceResponse>> {
    Ok(axum::Json(transactions::cancel(&state, request).await?))
}

/// Re-sends a pending transaction with fees at least 12.5 % higher (or the market's, if higher; within the
/// network's caps) at the same nonce, then waits for the receipt. Polling the old hash reports what was mined.
#[utoipa::path(post, path = "/chains/ethereum/speed-up", tag = TAG, request_body = SpeedUpRequest, responses(
    (status = 200, body = ReplaceResponse),
    (status = 400, description = "Not pending, would revert now, or over a fee cap (FEE_CAP)", body = ErrorBody),
    (status = 404, description = "Not a transaction this gateway sent", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn speed_up(
    State(state): State<AppState>,
    Json(request): Json<SpeedUpRequest>,
) -> ApiResult<axum::Json<ReplaceResponse>> {
    Ok(axum::Json(transactions::speed_up(&state, request).await?))
}

/// The gas price the next transaction would pay, from the config's gas settings and the node.
#[utoipa::path(get, path = "/chains/{chain}/estimate-gas", tag = TAG, params(ChainParam, NetworkQuery), responses(
    (status = 200, body = EstimateGasResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn estimate_gas(
    _: ServedChain,
    State(state): State<AppState>,
    Query(query): Query<NetworkQuery>,
) -> ApiResult<axum::Json<EstimateGasResponse>> {
    Ok(axum::Json(chain::estimate_gas(&state, query).await?))
}

/// Wraps native currency into its wrapped token (ETH → WETH) and waits for the receipt.
#[utoipa::path(post, path = "/chains/{chain}/wrap", tag = TAG, params(ChainParam), request_body = WrapRequest, responses(
    (status = 200, body = WrapResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn wrap(
    _: ServedChain,
    State(state): State<AppState>,
    Json(request): Json<WrapRequest>,
) -> ApiResult<axum::Json<WrapResponse>> {
    Ok(axum::Json(chain::wrap(&state, request).await?))
}

/// Unwraps the wrapped token back into native currency (WETH → ETH), all of it when no amount is given.
#[utoipa::path(post, path = "/chains/{chain}/unwrap", tag = TAG, params(ChainParam), request_body = WrapRequest, responses(
    (status = 200, body = WrapResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn unwrap(
    _: ServedChain,
    State(state): State<AppState>,
    Json(request): Json<WrapRequest>,
) -> ApiResult<axum::Json<WrapResponse>> {
    Ok(axum::Json(chain::unwrap(&state, request).await?))
}

/// Sends the native currency or an ERC-20 to an address (as upstream Gateway's `/wallet/send`), through the same
/// pipeline as every transaction: simulated, priced under the fee caps, recorded, and waited for. Only with
/// server.yml `walletSend: true`, to the gateway's own wallets and the addresses `allowedRecipients` lists.
#[utoipa::path(post, path = "/wallet/send", tag = "wallet", request_body = SendRequest, responses(
    (status = 200, body = SendResponse),
    (status = 400, description = "Bad input, a transfer that would revert, or a fee over a cap (FEE_CAP)", body = ErrorBody),
    (status = 403, description = "walletSend is off, or the recipient is not allowed (allowedRecipients)", body = ErrorBody),
    (status = 404, description = "Unknown wallet", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn send(State(state): State<AppState>, Json(request): Json<SendRequest>) -> ApiResult<axum::Json<SendResponse>> {
    if !state.config().server.wallet_send {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "/wallet/send is off: set walletSend: true in server.yml to send funds from the gateway's wallets by \
             API (only for a gateway nobody else can reach)",
        )
        .with_code(ErrorCode::Forbidden));
    }
    Ok(axum::Json(chain::send(&state, request).await?))
}
