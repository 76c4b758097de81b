//! The HTTP API: one module per resource, each an [`OpenApiRouter`] so routes and their OpenAPI
//! description are built together.

mod chain;
mod config;
pub mod extract;
pub mod params;
mod pools;
mod system;
mod tokens;
mod trading;
mod wallet;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ErrorBody;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gateway",
        description = "A self-hosted gateway between trading clients (Hummingbot first) and EVM chains: balances, \
                       swaps, liquidity and orders through one REST API, compatible with Hummingbot Gateway.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "system", description = "Health and restart"),
        (name = "config", description = "Read and change the YAML configuration"),
        (name = "wallet", description = "Wallets the gateway signs with, kept encrypted under the passphrase"),
        (name = "tokens", description = "Token lists per network"),
        (name = "chains/ethereum", description = "Balances, allowances, approvals, wrapping, gas and transaction status"),
        (name = "pools", description = "Pool lists per connector and network, and discovery on-chain"),
        (name = "trading", description = "Swaps and liquidity, unified: connector and chainNetwork as parameters (Hummingbot's client)"),
        (name = "connectors", description = "Swaps and liquidity per connector, Gateway v2 style: /connectors/{connector}/{amm,clmm,router}/…"),
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// Every route with its description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router())
        .merge(config::router())
        .merge(wallet::router())
        .merge(tokens::router())
        .merge(chain::router())
        .merge(trading::router())
        .merge(pools::router())
}

/// The OpenAPI document the server serves at `/openapi.json` and `gateway openapi` writes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().split_for_parts().1
}
