use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{Json, Query};
use crate::config::{CHAIN, applies_at_next_start, shown};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_config))
        .routes(routes!(update_config))
        .routes(routes!(chains))
        .routes(routes!(connectors))
        .routes(routes!(namespaces))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConfigQuery {
    /// A namespace (`server`, `ethereum`, `ethereum-mainnet`, `uniswap`, ...); all of them when omitted.
    #[param(example = "ethereum-devnet")]
    namespace: Option<String>,
    /// With a chain namespace (`ethereum`), selects one of its networks, as Gateway allowed.
    network: Option<String>,
}

/// The configuration: one namespace, or every namespace keyed by name.
#[utoipa::path(get, path = "/config", tag = "config", params(ConfigQuery), responses(
    (status = 200, description = "The namespace's settings, or an object of all namespaces", body = Object,
     example = json!({"chainID": 31337, "nodeURL": "http://127.0.0.1:8545", "nativeCurrencySymbol": "ETH", "swapProvider": "uniswap/router"})),
    (status = 404, description = "Unknown namespace", body = ErrorBody),
))]
async fn get_config(State(state): State<AppState>, Query(query): Query<ConfigQuery>) -> ApiResult<axum::Json<Value>> {
    let config = state.config();
    match resolve_namespace(query.namespace, query.network)? {
        Some(namespace) => Ok(axum::Json(shown(config.namespace(&namespace)?))),
        None => Ok(axum::Json(shown(&serde_json::to_value(config.all()).expect("config values are JSON")))),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"namespace": "uniswap", "path": "slippagePct", "value": 0.5}))]
pub struct ConfigUpdateRequest {
    /// The namespace to change, e.g. `ethereum-mainnet` or `uniswap`.
    namespace: String,
    /// With a chain namespace (`ethereum`), the network whose file to change (Gateway's form).
    network: Option<String>,
    /// The setting, dot-separated for nested keys.
    path: String,
    /// The new value: a number, string, boolean or list as the setting requires.
    value: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigUpdateResponse {
    #[schema(example = "Configuration updated successfully: 'uniswap.slippagePct' set to 0.5")]
    message: String,
}

/// Changes one setting: validated, written back to its YAML file (atomically), and applied at once, except
/// `server.port`, `certificatePath`, `databaseMaxConnections` and `corsOrigins`, read at the next start. A
/// `certificatePath` set here must be an existing folder inside the conf dir.
#[utoipa::path(post, path = "/config/update", tag = "config", request_body = ConfigUpdateRequest, responses(
    (status = 200, body = ConfigUpdateResponse),
    (status = 400, description = "Unknown setting or invalid value; the message names it", body = ErrorBody),
    (status = 404, description = "Unknown namespace", body = ErrorBody),
))]
async fn update_config(
    State(state): State<AppState>,
    Json(request): Json<ConfigUpdateRequest>,
) -> ApiResult<axum::Json<ConfigUpdateResponse>> {
    let namespace = resolve_namespace(Some(request.namespace), request.network)?.expect("namespace given");
    if request.path.trim().is_empty() {
        return Err(ApiError::bad_request("path", "must name a setting"));
    }
    state.update_config(&namespace, &request.path, request.value).await?;
    let pointer = format!("/{}", request.path.replace('.', "/"));
    let applied = shown(&state.config().namespace(&namespace)?.pointer(&pointer).cloned().unwrap_or_default());
    tracing::info!(%namespace, path = ?request.path, "config updated");
    let when = match applies_at_next_start(&namespace, &request.path) {
        true => "; it takes effect at the next start",
        false => "",
    };
    Ok(axum::Json(ConfigUpdateResponse {
        message: format!("Configuration updated successfully: '{namespace}.{}' set to {applied}{when}", request.path),
    }))
}

/// Gateway let `{namespace: "ethereum", network: "mainnet"}` name the `ethereum-mainnet` namespace.
fn resolve_namespace(namespace: Option<String>, network: Option<String>) -> ApiResult<Option<String>> {
    match (namespace, network) {
        (Some(namespace), Some(network)) if namespace == CHAIN => Ok(Some(format!("{CHAIN}-{network}"))),
        (Some(_), Some(_)) => Err(ApiError::bad_request("network", format!("only applies to the '{CHAIN}' namespace"))),
        (None, Some(_)) => Err(ApiError::bad_request("namespace", "is required when network is given")),
        (namespace, None) => Ok(namespace),
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    #[schema(example = "ethereum")]
    chain: String,
    #[schema(example = json!(["devnet", "mainnet"]))]
    networks: Vec<String>,
    #[schema(example = "mainnet")]
    default_network: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChainsResponse {
    chains: Vec<ChainInfo>,
}

/// The chains and their configured networks.
#[utoipa::path(get, path = "/config/chains", tag = "config", responses((status = 200, body = ChainsResponse)))]
async fn chains(State(state): State<AppState>) -> axum::Json<ChainsResponse> {
    let config = state.config();
    axum::Json(ChainsResponse {
        chains: vec![ChainInfo {
            chain: CHAIN.into(),
            networks: config.networks.keys().cloned().collect(),
            default_network: config.chain.default_network.clone(),
        }],
    })
}

#[derive(Serialize, ToSchema)]
pub struct ConnectorInfo {
    #[schema(example = "uniswap")]
    name: String,
    #[schema(example = json!(["router", "amm", "clmm"]))]
    trading_types: Vec<String>,
    #[schema(example = "ethereum")]
    chain: String,
    #[schema(example = json!(["devnet", "mainnet"]))]
    networks: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectorsResponse {
    connectors: Vec<ConnectorInfo>,
}

/// The DEX connectors, with their trading types and the configured networks each is deployed on.
#[utoipa::path(get, path = "/config/connectors", tag = "config", responses((status = 200, body = ConnectorsResponse)))]
async fn connectors(State(state): State<AppState>) -> axum::Json<ConnectorsResponse> {
    let config = state.config();
    let connectors = config
        .dexes
        .names()
        .into_iter()
        .map(|name| ConnectorInfo {
            name: name.clone(),
            trading_types: config.dexes.trading_types(&name).iter().map(|t| t.to_string()).collect(),
            chain: CHAIN.into(),
            networks: config.networks.keys().filter(|network| config.dex(&name, network).is_some()).cloned().collect(),
        })
        .collect();
    axum::Json(ConnectorsResponse { connectors })
}

#[derive(Serialize, ToSchema)]
pub struct NamespacesResponse {
    #[schema(example = json!(["ethereum", "ethereum-devnet", "ethereum-mainnet", "pancakeswap", "server", "uniswap"]))]
    namespaces: Vec<String>,
}

/// Every config namespace.
#[utoipa::path(get, path = "/config/namespaces", tag = "config", responses((status = 200, body = NamespacesResponse)))]
async fn namespaces(State(state): State<AppState>) -> axum::Json<NamespacesResponse> {
    axum::Json(NamespacesResponse { namespaces: state.config().namespace_names() })
}
