//! `/tokens`: the token lists, by network.

use axum::extract::{Path, State};
use chains::erc20::{self, Token};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{Json, Query};
use crate::config::CHAIN;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::request::{check_chain, network_name, page, parse_address};
use crate::state::AppState;
use crate::storage::TokenRow;
use crate::tokens::TokenBook;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, add_token))
        .routes(routes!(get_token, remove_token))
        .routes(routes!(find_token))
        .routes(routes!(save_token))
}

const TAG: &str = "tokens";

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TokensQuery {
    /// `ethereum-<network>`.
    #[param(example = "ethereum-devnet")]
    chain_network: Option<String>,
    /// Or the network name (with `chain`).
    network: Option<String>,
    chain: Option<String>,
    /// Filters by symbol or name (case-insensitive), or by address.
    search: Option<String>,
    /// Tokens per answer (`GET /tokens`), 1 to 10000; all of them, up to 10000, when omitted.
    limit: Option<usize>,
    /// Where the previous answer's list ended: its `nextCursor`.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chainId": 31337, "name": "USD Coin", "symbol": "USDC", "address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "decimals": 6}))]
pub struct TokenInfo {
    #[serde(default)]
    chain_id: Option<u64>,
    name: String,
    symbol: String,
    address: String,
    decimals: u8,
}

impl TokenInfo {
    fn from(token: &Token, chain_id: u64) -> Self {
        TokenInfo {
            chain_id: Some(chain_id),
            name: token.name.clone(),
            symbol: token.symbol.clone(),
            address: token.address.to_checksum(None),
            decimals: token.decimals,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokensResponse {
    tokens: Vec<TokenInfo>,
    /// Pass as `cursor` for the next tokens; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Tokens per `GET /tokens` answer, at most.
const TOKENS_PAGE_MAX: usize = 10_000;

struct Resolved {
    network: String,
    chain_id: u64,
    book: std::sync::Arc<TokenBook>,
}

async fn resolve(state: &AppState, query: &TokensQuery) -> ApiResult<Resolved> {
    check_chain(query.chain.as_deref())?;
    let config = state.config();
    let network = network_name(&config, query.network.as_deref(), query.chain_network.as_deref())?;
    let chain_id = config.network(&network).expect("resolved").chain_id;
    let book = state.token_book(&config, &network).await?;
    Ok(Resolved { network, chain_id, book })
}

/// The network's tokens: its config list plus those added through the API.
#[utoipa::path(get, path = "/tokens", tag = TAG, params(TokensQuery), responses((status = 200, body = TokensResponse), (status = 400, body = ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    Query(query): Query<TokensQuery>,
) -> ApiResult<axum::Json<TokensResponse>> {
    let resolved = resolve(&state, &query).await?;
    let search = query.search.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty());
    let (skip, limit) = page(query.limit, query.cursor.as_deref(), TOKENS_PAGE_MAX, TOKENS_PAGE_MAX)?;
    let mut matching = resolved.book.tokens.iter().filter(|t| {
        search.as_deref().is_none_or(|s| {
            t.symbol.to_lowercase().contains(s)
                || t.name.to_lowercase().contains(s)
                || t.address.to_string().to_lowercase() == s
        })
    });
    let tokens: Vec<TokenInfo> =
        matching.by_ref().skip(skip).take(limit).map(|t| TokenInfo::from(t, resolved.chain_id)).collect();
    let next_cursor = matching.next().is_some().then(|| (skip + tokens.len()).to_string());
    Ok(axum::Json(TokensResponse { tokens, next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    token: TokenInfo,
    chain: String,
    network: String,
}

/// One token by symbol or address.
#[utoipa::path(get, path = "/tokens/{symbolOrAddress}", tag = TAG,
    params(("symbolOrAddress" = String, Path, example = "USDC"), TokensQuery),
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody)))]
async fn get_token(
    State(state): State<AppState>,
    Path(symbol_or_address): Path<String>,
    Query(query): Query<TokensQuery>,
) -> ApiResult<axum::Json<TokenResponse>> {
    let resolved = resolve(&state, &query).await?;
    let token = resolved.book.resolve("symbolOrAddress", &symbol_or_address)?;
    Ok(axum::Json(TokenResponse {
        token: TokenInfo::from(&token, resolved.chain_id),
        chain: CHAIN.into(),
        network: resolved.network,
    }))
}

/// Reads a token's name, symbol and decimals from the chain (nothing is saved).
#[utoipa::path(get, path = "/tokens/find/{address}", tag = TAG,
    params(("address" = String, Path, example = "0x514910771AF9Ca656af840dff83E8264EcF986CA"), TokensQuery),
    responses((status = 200, body = TokenInfo), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn find_token(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Query(query): Query<TokensQuery>,
) -> ApiResult<axum::Json<TokenInfo>> {
    let (token, chain_id) = read_on_chain(&state, &address, &query).await?;
    Ok(axum::Json(TokenInfo::from(&token, chain_id)))
}

async fn read_on_chain(state: &AppState, address: &str, query: &TokensQuery) -> ApiResult<(Token, u64)> {
    let address = parse_address("address", address)?;
    let resolved = resolve(state, query).await?;
    let network = state.ethereum().network(&state.config(), &resolved.network)?;
    let token = erc20::metadata(&network, address).await?.ok_or_else(|| {
        ApiError::bad_request(
            "address",
            format!("{address} does not answer symbol() and decimals() on {}: not an ERC-20 there", resolved.network),
        )
    })?;
    Ok((token, resolved.chain_id))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "token": {"name": "My Token", "symbol": "MYT", "address": "0x1111111111111111111111111111111111111111", "decimals": 18}}))]
pub struct AddTokenRequest {
    chain_network: Option<String>,
    network: Option<String>,
    chain: Option<String>,
    token: TokenInfo,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenChangeResponse {
    message: String,
    /// Always false: changes apply at once.
    requires_restart: bool,
}

/// Adds a token to a network's list (stored in the database).
#[utoipa::path(post, path = "/tokens", tag = TAG, request_body = AddTokenRequest, responses(
    (status = 200, body = TokenChangeResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_token(
    State(state): State<AppState>,
    Json(request): Json<AddTokenRequest>,
) -> ApiResult<axum::Json<TokenChangeResponse>> {
    let query = TokensQuery {
        chain_network: request.chain_network,
        network: request.network,
        chain: request.chain,
        search: None,
        limit: None,
        cursor: None,
    };
    let resolved = resolve(&state, &query).await?;
    let address = parse_address("token.address", &request.token.address)?;
    let symbol = request.token.symbol.trim();
    if let Ok(existing) = resolved.book.resolve("token", symbol) {
        return Err(ApiError::conflict(format!(
            "token.symbol: {symbol} is already {} on {}",
            existing.address, resolved.network
        )));
    }
    // Amounts of a token listed with the wrong decimals would be off by powers of ten: the contract's own say wins.
    // One that cannot be read (no contract there yet, the node down) keeps the caller's.
    let network = state.ethereum().network(&state.config(), &resolved.network)?;
    if let Ok(Some(on_chain)) = erc20::metadata(&network, address).await
        && on_chain.decimals != request.token.decimals
    {
        return Err(ApiError::bad_request(
            "token.decimals",
            format!("is {} but the contract at {address} says {}", request.token.decimals, on_chain.decimals),
        ));
    }
    let token = Token {
        address,
        symbol: symbol.to_string(),
        name: request.token.name.trim().to_string(),
        decimals: request.token.decimals,
    };
    insert_token_row(&state, &resolved, &token).await?;
    Ok(axum::Json(TokenChangeResponse {
        message: format!("{symbol} added to {}", resolved.network),
        requires_restart: false,
    }))
}

/// The longest symbol and name a list keeps: every `/tokens` answer carries them.
const MAX_SYMBOL: usize = 32;
const MAX_NAME: usize = 128;

/// A symbol a list may keep (a token's, or the label of a pool's token): 1 to [`MAX_SYMBOL`] printable ASCII
/// characters.
pub fn check_symbol(field: &str, symbol: &str) -> ApiResult<()> {
    let symbol_chars = symbol.chars().count();
    if symbol_chars == 0 || symbol_chars > MAX_SYMBOL || symbol.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            field,
            format!("must be 1 to {MAX_SYMBOL} printable characters; got {}", chains::quoted(symbol)),
        ));
    }
    // Symbols name tokens in every request: one that only looks like a listed symbol (a Cyrillic letter, a
    // zero-width space) would pass for it, so symbols are printable ASCII.
    if let Some((position, unlike)) = symbol.chars().enumerate().find(|(_, c)| !c.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            field,
            format!(
                "U+{:04X} at position {} is not a printable ASCII character; symbols are ASCII, so none can pass \
                 for another",
                u32::from(unlike),
                position + 1
            ),
        ));
    }
    Ok(())
}

/// Lists a token, its symbol and name within bounds (they may come from a contract, which can answer anything).
async fn insert_token_row(state: &AppState, resolved: &Resolved, token: &Token) -> ApiResult<()> {
    check_symbol("token.symbol", &token.symbol)?;
    let printable = |text: &str| !text.chars().any(char::is_control);
    if token.name.chars().count() > MAX_NAME || !printable(&token.name) {
        return Err(ApiError::bad_request(
            "token.name",
            format!("must be at most {MAX_NAME} printable characters; got {}", chains::quoted(&token.name)),
        ));
    }
    if token.symbol.eq_ignore_ascii_case(&resolved.book.native_symbol) {
        return Err(ApiError::bad_request(
            "token.symbol",
            format!(
                "{} is the native currency's symbol on {}; a token cannot take it",
                chains::quoted(&token.symbol),
                resolved.network
            ),
        ));
    }
    if resolved.book.at(token.address).is_some() {
        return Err(ApiError::conflict(format!("token {} is already listed on {}", token.address, resolved.network)));
    }
    state
        .storage()
        .insert_token(&TokenRow {
            network: state.config().saved_under(&resolved.network).into_owned(),
            address: token.address.to_checksum(None),
            symbol: token.symbol.clone(),
            name: token.name.clone(),
            decimals: token.decimals,
        })
        .await?;
    Ok(())
}

#[derive(Serialize, ToSchema)]
pub struct SaveTokenResponse {
    message: String,
    token: TokenInfo,
}

/// Reads a token from the chain and adds it to the network's list.
#[utoipa::path(post, path = "/tokens/save/{address}", tag = TAG,
    params(("address" = String, Path, example = "0x514910771AF9Ca656af840dff83E8264EcF986CA"), TokensQuery),
    responses((status = 200, body = SaveTokenResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn save_token(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Query(query): Query<TokensQuery>,
) -> ApiResult<axum::Json<SaveTokenResponse>> {
    let (token, chain_id) = read_on_chain(&state, &address, &query).await?;
    let resolved = resolve(&state, &query).await?;
    insert_token_row(&state, &resolved, &token).await?;
    Ok(axum::Json(SaveTokenResponse {
        message: format!("{} added to {}", token.symbol, resolved.network),
        token: TokenInfo::from(&token, chain_id),
    }))
}

/// Removes a token added through the API. Tokens from the config list stay: edit that file to drop them.
#[utoipa::path(delete, path = "/tokens/{symbolOrAddress}", tag = TAG,
    params(("symbolOrAddress" = String, Path, description = "The token's address"), TokensQuery),
    responses((status = 200, body = TokenChangeResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_token(
    State(state): State<AppState>,
    Path(address): Path<String>,
    Query(query): Query<TokensQuery>,
) -> ApiResult<axum::Json<TokenChangeResponse>> {
    let address = parse_address("address", &address)?;
    let resolved = resolve(&state, &query).await?;
    if state.storage().delete_token(&state.config().saved_under(&resolved.network), &address.to_checksum(None)).await? {
        return Ok(axum::Json(TokenChangeResponse {
            message: format!("{address} removed from {}", resolved.network),
            requires_restart: false,
        }));
    }
    if state.config().token_lists.get(&resolved.network).is_some_and(|list| list.iter().any(|t| t.address == address)) {
        let reason = match &resolved.book.list_file {
            Some(file) => format!("{address} comes from {file}; remove it from that file"),
            None => format!("{address} is one of the tokens the devnet deployed; it stays listed while it rehearses"),
        };
        return Err(ApiError::bad_request("address", reason));
    }
    Err(ApiError::not_found(format!("token {address} is not listed on {}", resolved.network)))
}
