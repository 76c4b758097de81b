//! `/pools`: the pools each connector trades through, per network: the config lists plus those added through
//! the API, and discovery on-chain through the factories.

use alloy::primitives::Address;
use axum::extract::{Path, State};
use connectors::core::family::{Family, TradingType};
use connectors::core::pool_address::PoolAddress;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{Json, Query};
use crate::config::{Config, ListedPool};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::request::{Human, network_name, parse_address, parse_pool_address};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pools, add_pool))
        .routes(routes!(get_pool, remove_pool))
        .routes(routes!(find_pools))
        .routes(routes!(find_pool))
        .routes(routes!(save_pool))
}

const TAG: &str = "pools";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PoolsQuery {
    #[param(example = "ethereum-devnet")]
    chain_network: Option<String>,
    network: Option<String>,
    /// `uniswap` or `pancakeswap`; all connectors when omitted.
    connector: Option<String>,
    /// `amm` or `clmm`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// Matches a symbol, a `BASE-QUOTE` pair or an address.
    search: Option<String>,
    /// For find: the two tokens.
    token_a: Option<String>,
    token_b: Option<String>,
}

/// A pool entry as Gateway's pool lists write it, with its connector.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolEntry {
    #[schema(example = "uniswap")]
    connector: String,
    #[serde(rename = "type")]
    #[schema(example = "clmm")]
    kind: String,
    #[schema(example = "devnet")]
    network: String,
    base_symbol: String,
    quote_symbol: String,
    address: String,
    base_token_address: String,
    quote_token_address: String,
    #[schema(value_type = String, format = "decimal", example = "0.05")]
    fee_pct: Human,
}

impl PoolEntry {
    fn new(connector: &str, pool: &ListedPool) -> Self {
        PoolEntry {
            connector: connector.to_string(),
            kind: pool.kind.to_string(),
            network: pool.network.clone(),
            base_symbol: pool.base_symbol.clone(),
            quote_symbol: pool.quote_symbol.clone(),
            address: pool.address.to_string(),
            base_token_address: pool.base_token_address.to_checksum(None),
            quote_token_address: pool.quote_token_address.to_checksum(None),
            fee_pct: Human::setting(pool.fee_pct),
        }
    }
}

fn connectors_of(config: &Config, query_connector: Option<&str>) -> ApiResult<Vec<String>> {
    match query_connector.filter(|c| !c.is_empty()) {
        Some(wanted) if config.dexes.contains(wanted) => Ok(vec![wanted.to_string()]),
        Some(wanted) => Err(ApiError::bad_request(
            "connector",
            format!("unknown connector {}; known: {}", chains::quoted(wanted), config.dexes.names().join(", ")),
        )),
        None => Ok(config.dexes.names()),
    }
}

/// The pool type a request names (`type`), if it names one: `amm` or `clmm`.
fn pool_type(kind: Option<&str>) -> ApiResult<Option<TradingType>> {
    match kind.filter(|kind| !kind.is_empty()) {
        None => Ok(None),
        Some(kind) => match TradingType::parse(kind).filter(|kind| kind.is_pool_type()) {
            Some(kind) => Ok(Some(kind)),
            None => Err(ApiError::bad_request("type", "must be amm or clmm")),
        },
    }
}

async fn entries(state: &AppState, config: &Config, query: &PoolsQuery) -> ApiResult<(String, Vec<PoolEntry>)> {
    let kind = pool_type(query.kind.as_deref())?;
    let network = network_name(config, query.network.as_deref(), query.chain_network.as_deref())?;
    let mut found = Vec::new();
    for connector in connectors_of(config, query.connector.as_deref())? {
        let book = state.pool_book(config, &connector, &network).await?;
        found.extend(
            book.pools.iter().filter(|p| kind.is_none_or(|kind| p.kind == kind)).map(|p| PoolEntry::new(&connector, p)),
        );
    }
    Ok((network, found))
}

/// The listed pools, filtered by connector, type and search.
#[utoipa::path(get, path = "/pools", tag = TAG, params(PoolsQuery), responses((status = 200, body = Vec<PoolEntry>), (status = 400, body = ErrorBody)))]
async fn list_pools(
    State(state): State<AppState>,
    Query(query): Query<PoolsQuery>,
) -> ApiResult<axum::Json<Vec<PoolEntry>>> {
    let config = state.config();
    let (_, mut pools) = entries(&state, &config, &query).await?;
    if let Some(search) = query.search.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty()) {
        pools.retain(|p| {
            let pair = format!("{}-{}", p.base_symbol, p.quote_symbol).to_lowercase();
            pair.contains(&search) || p.address.to_lowercase() == search
        });
    }
    Ok(axum::Json(pools))
}

/// The listed pool of a trading pair (`BASE-QUOTE`), of the type asked for.
#[utoipa::path(get, path = "/pools/{tradingPair}", tag = TAG, params(("tradingPair" = String, Path, example = "WETH-USDC"), PoolsQuery),
    responses((status = 200, body = PoolEntry), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_pool(
    State(state): State<AppState>,
    Path(pair): Path<String>,
    Query(query): Query<PoolsQuery>,
) -> ApiResult<axum::Json<PoolEntry>> {
    let (base, quote) =
        pair.split_once('-').filter(|(base, quote)| !base.is_empty() && !quote.is_empty()).ok_or_else(|| {
            ApiError::bad_request("tradingPair", format!("{} is not BASE-QUOTE, e.g. WETH-USDC", chains::quoted(&pair)))
        })?;
    let config = state.config();
    let (network, pools) = entries(&state, &config, &query).await?;
    pools
        .into_iter()
        .find(|p| p.base_symbol.eq_ignore_ascii_case(base) && p.quote_symbol.eq_ignore_ascii_case(quote))
        .map(axum::Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no listed {} pool for {pair} on {network}; find one with GET /pools/find",
                query.kind.as_deref().unwrap_or("amm or clmm")
            ))
        })
}

/// What an address is: a pool of which connector and type, with which tokens and fee.
async fn inspect(
    state: &AppState,
    config: &Config,
    network: &str,
    address: PoolAddress,
) -> ApiResult<(String, ListedPool)> {
    identify(state, config, network, address).await?.ok_or_else(|| {
        ApiError::bad_request("address", format!("{address} is not a pool of a known connector on {network}"))
    })
}

/// The connector and listing of the pool at `address`, if it is one: a contract answering as a V2 pair or V3
/// pool where a connector's factory puts it, or a V4 pool id a connector's PoolManager has.
async fn identify(
    state: &AppState,
    config: &Config,
    network: &str,
    address: PoolAddress,
) -> ApiResult<Option<(String, ListedPool)>> {
    let chain = state.ethereum().network(config, network)?;
    let book = state.token_book(config, network).await?;
    let symbol = |token: Address| match book.at(token) {
        Some(listed) => listed.symbol.clone(),
        None if token.is_zero() => book.native_symbol.clone(),
        None => token.to_string(),
    };
    let listing = |connector: &str, family: Family, (token0, token1): (Address, Address), fee: u32| {
        let pool = ListedPool {
            kind: family.trading_type(),
            network: network.into(),
            base_symbol: symbol(token0),
            quote_symbol: symbol(token1),
            address,
            base_token_address: token0,
            quote_token_address: token1,
            fee_pct: f64::from(fee) / 10_000.0,
        };
        Some((connector.to_string(), pool))
    };
    match address {
        PoolAddress::Contract(contract) => {
            let Some((token0, token1, fee)) = connectors::dex::pool_identity(&chain, contract).await? else {
                return Ok(None);
            };
            for connector in config.dexes.names() {
                let Some(dex) = config.dex(&connector, network) else { continue };
                if let Some(family) = dex.protocols().find(|protocol| protocol.is_pool(contract, token0, token1, fee)) {
                    let fee = family.fee(fee.unwrap_or_default());
                    return Ok(listing(&connector, family.family(), (token0, token1), fee));
                }
            }
            Ok(None)
        }
        PoolAddress::Id(_) => {
            for connector in config.dexes.names() {
                let Some(dex) = config.dex(&connector, network).filter(|dex| dex.protocol(Family::V4).is_ok()) else {
                    continue;
                };
                match dex.clmm_pool(state.pool_states(), &chain, address).await {
                    Ok(pool) => return Ok(listing(&connector, pool.family(), pool.tokens(), pool.tier())),
                    Err(connectors::core::error::ConnectorError::NotAPool(_)) => continue,
                    Err(error) => return Err(error.into()),
                }
            }
            Ok(None)
        }
    }
}

/// Reads a pool from the chain: its connector, type, tokens and fee (nothing is saved).
#[utoipa::path(get, path = "/pools/find/{address}", tag = TAG, params(("address" = String, Path, example = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"), PoolsQuery),
    responses((status = 200, body = PoolEntry), (status = 400, body = ErrorBody)))]
async fn find_pool(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Query(query): Query<PoolsQuery>,
) -> ApiResult<axum::Json<PoolEntry>> {
    let config = state.config();
    let network = network_name(&config, query.network.as_deref(), query.chain_network.as_deref())?;
    let (connector, pool) = inspect(&state, &config, &network, parse_pool_address("address", &address)?).await?;
    Ok(axum::Json(PoolEntry::new(&connector, &pool)))
}

/// Discovers the pools of two tokens on-chain, through each connector's factories (every fee tier).
#[utoipa::path(get, path = "/pools/find", tag = TAG, params(PoolsQuery), responses((status = 200, body = Vec<PoolEntry>), (status = 400, body = ErrorBody)))]
async fn find_pools(
    State(state): State<AppState>,
    Query(query): Query<PoolsQuery>,
) -> ApiResult<axum::Json<Vec<PoolEntry>>> {
    let kind = pool_type(query.kind.as_deref())?;
    let config = state.config();
    let network = network_name(&config, query.network.as_deref(), query.chain_network.as_deref())?;
    let book = state.token_book(&config, &network).await?;
    let token = |field: &str, value: Option<&str>| -> ApiResult<Address> {
        Ok(book.resolve(field, value.ok_or_else(|| ApiError::bad_request(field, "is required"))?)?.address)
    };
    let (a, b) = (token("tokenA", query.token_a.as_deref())?, token("tokenB", query.token_b.as_deref())?);
    let mut candidates = Vec::new();
    for connector in connectors_of(&config, query.connector.as_deref())? {
        let Some(dex) = config.dex(&connector, &network) else { continue };
        for protocol in
            dex.protocols().filter(|protocol| kind.is_none_or(|kind| kind == protocol.family().trading_type()))
        {
            candidates.extend(protocol.pool_addresses(a, b).into_iter().map(|(address, _)| address));
        }
    }
    let chain = state.ethereum().network(&config, &network)?;
    let mut found = Vec::new();
    for address in candidates {
        // A pool contract is there when the address holds code; a V4 pool when its manager has it.
        if let PoolAddress::Contract(contract) = address {
            let code = alloy::providers::Provider::get_code_at(chain.provider(), contract)
                .await
                .map_err(|e| chain.rpc_error(e))?;
            if code.is_empty() {
                continue;
            }
        }
        if let Some((connector, pool)) = identify(&state, &config, &network, address).await? {
            found.push(PoolEntry::new(&connector, &pool));
        }
    }
    Ok(axum::Json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm", "address": "0x8ad599c3A0ff1De082011EFDDc58f1908eb6e6D8", "baseTokenAddress": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "quoteTokenAddress": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}))]
pub struct AddPoolRequest {
    chain_network: Option<String>,
    network: Option<String>,
    connector: String,
    #[serde(rename = "type")]
    kind: String,
    address: String,
    base_token_address: Option<String>,
    quote_token_address: Option<String>,
    base_symbol: Option<String>,
    quote_symbol: Option<String>,
    fee_pct: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PoolChangeResponse {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<PoolEntry>,
}

/// Adds a pool to a connector's list (checked on-chain: it must be that connector's pool of that type). Adding one
/// already listed updates its entry (symbols, which token is the base, fee) and answers 200; another pool of the
/// same type, pair and fee is refused with 409.
#[utoipa::path(post, path = "/pools", tag = TAG, request_body = AddPoolRequest, responses(
    (status = 200, body = PoolChangeResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_pool(
    State(state): State<AppState>,
    Json(request): Json<AddPoolRequest>,
) -> ApiResult<axum::Json<PoolChangeResponse>> {
    let kind = pool_type(Some(&request.kind))?;
    let config = state.config();
    let network = network_name(&config, request.network.as_deref(), request.chain_network.as_deref())?;
    let address = parse_pool_address("address", &request.address)?;
    let (connector, mut pool) = inspect(&state, &config, &network, address).await?;
    if connector != request.connector || Some(pool.kind) != kind {
        return Err(ApiError::bad_request(
            "address",
            format!(
                "{address} is a {connector} {} pool, not {} {}",
                pool.kind,
                chains::quoted(&request.connector),
                chains::quoted(&request.kind)
            ),
        ));
    }
    // The caller decides which token is the base.
    if let Some(base) = request.base_token_address.as_deref() {
        let base = parse_address("baseTokenAddress", base)?;
        if base == pool.quote_token_address {
            std::mem::swap(&mut pool.base_token_address, &mut pool.quote_token_address);
            std::mem::swap(&mut pool.base_symbol, &mut pool.quote_symbol);
        } else if base != pool.base_token_address {
            return Err(ApiError::bad_request("baseTokenAddress", format!("is not a token of pool {address}")));
        }
    }
    if let Some(quote) = request.quote_token_address.as_deref()
        && parse_address("quoteTokenAddress", quote)? != pool.quote_token_address
    {
        return Err(ApiError::bad_request("quoteTokenAddress", format!("is not pool {address}'s other token")));
    }
    if let Some(symbol) = request.base_symbol.filter(|s| !s.is_empty()) {
        super::tokens::check_symbol("baseSymbol", &symbol)?;
        pool.base_symbol = symbol;
    }
    if let Some(symbol) = request.quote_symbol.filter(|s| !s.is_empty()) {
        super::tokens::check_symbol("quoteSymbol", &symbol)?;
        pool.quote_symbol = symbol;
    }
    if let Some(fee) = request.fee_pct {
        if !(0.0..100.0).contains(&fee) {
            return Err(ApiError::bad_request(
                "feePct",
                format!("must be a percentage from 0 to under 100; got {fee}"),
            ));
        }
        pool.fee_pct = fee;
    }
    let verb = if store(&state, &config, &connector, &pool).await? { "updated" } else { "added" };
    Ok(axum::Json(PoolChangeResponse {
        message: format!("{} pool {address} {verb} for {connector} on {network}", pool.kind),
        pool: Some(PoolEntry::new(&connector, &pool)),
    }))
}

/// Lists a pool, or updates its entry when it is listed already (scripts that "ensure" a pool add it every run).
/// Another pool of the same kind, pair and fee is refused: quotes would not know which one was meant.
async fn store(state: &AppState, config: &Config, connector: &str, pool: &ListedPool) -> ApiResult<bool> {
    let book = state.pool_book(config, connector, &pool.network).await?;
    let twin = book
        .for_pair(Some(pool.kind), pool.base_token_address, pool.quote_token_address)
        .into_iter()
        .find(|listed| listed.address != pool.address && (listed.fee_pct - pool.fee_pct).abs() < 1e-9);
    if let Some(twin) = twin {
        return Err(ApiError::conflict(format!(
            "{connector} already lists {} for {}/{} at {} % on {}; remove it first to list {} instead",
            twin.address, pool.base_symbol, pool.quote_symbol, pool.fee_pct, pool.network, pool.address
        )));
    }
    let listed = book.by_address(pool.address).is_some();
    let saved = ListedPool { network: config.saved_under(&pool.network).into_owned(), ..pool.clone() };
    state.storage().upsert_pool(connector, &saved).await?;
    Ok(listed)
}

/// Reads a pool from the chain and adds it to its connector's list (saved again: its entry is updated).
#[utoipa::path(post, path = "/pools/save/{address}", tag = TAG, params(("address" = String, Path), PoolsQuery),
    responses((status = 200, body = PoolChangeResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn save_pool(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Query(query): Query<PoolsQuery>,
) -> ApiResult<axum::Json<PoolChangeResponse>> {
    let config = state.config();
    let network = network_name(&config, query.network.as_deref(), query.chain_network.as_deref())?;
    let (connector, pool) = inspect(&state, &config, &network, parse_pool_address("address", &address)?).await?;
    let verb = if store(&state, &config, &connector, &pool).await? { "updated" } else { "added" };
    Ok(axum::Json(PoolChangeResponse {
        message: format!("{} pool {} {verb} for {connector} on {network}", pool.kind, pool.address),
        pool: Some(PoolEntry::new(&connector, &pool)),
    }))
}

/// Removes a pool added through the API. Pools from a config list stay: edit that file to drop them.
#[utoipa::path(delete, path = "/pools/{tradingPair}", tag = TAG, params(("tradingPair" = String, Path, description = "The pool's address"), PoolsQuery),
    responses((status = 200, body = PoolChangeResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_pool(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Query(query): Query<PoolsQuery>,
) -> ApiResult<axum::Json<PoolChangeResponse>> {
    let address = parse_pool_address("address", &address)?;
    let config = state.config();
    let network = network_name(&config, query.network.as_deref(), query.chain_network.as_deref())?;
    for connector in connectors_of(&config, query.connector.as_deref())? {
        if state.storage().delete_pool(&connector, &config.saved_under(&network), &address.to_string()).await? {
            return Ok(axum::Json(PoolChangeResponse {
                message: format!("pool {address} removed from {connector} on {network}"),
                pool: None,
            }));
        }
        if config
            .pool_lists
            .get(&connector)
            .is_some_and(|list| list.iter().any(|p| p.address == address && p.network == network))
        {
            return Err(ApiError::bad_request(
                "address",
                format!("{address} comes from pools/{connector}.json; remove it from that file"),
            ));
        }
    }
    Err(ApiError::not_found(format!("pool {address} is not listed on {network}")))
}
