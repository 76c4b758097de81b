//! The HTTP API: one module per resource, each an [`OpenApiRouter`] so routes and their OpenAPI
//! description are built together.

mod config;
pub mod extract;
mod system;

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
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// Every route with its description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router())
        .merge(config::router())
}

/// The OpenAPI document the server serves at `/openapi.json` and `gateway openapi` writes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().split_for_parts().1
}
