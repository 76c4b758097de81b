//! `/chains/ethereum/*`: status, balances, allowances, approve, poll, cancel, speed-up, estimate-gas, wrap and
//! unwrap; and `/wallet/send`, a transfer like wrap.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use axum::extract::State;
use chains::amount::NATIVE_DECIMALS;
use chains::amount::{Amount, format_units};
use chains::erc20;
use chains::fee_market::current_fees;
use chains::gas::Fees;
use chains::network::Network;
use chains::permit2::Spender;
use chains::tx::inquiry::{self, Fate};
use chains::tx::{Call, Mined, Outcome, Replacement, SentTx};
use chains::tx::{Ledger, LedgerTx, TxKind, TxStatus};
use connectors::clob::ClobVenue;
use connectors::core::error::ConnectorError;
use connectors::core::family::{Family, TradingType};
use connectors::dex::Protocol;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{Json, Query};
use crate::config::{CHAIN, Config};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::request::{AmountText, Human, check_chain, network_name, parse_address, wallet_address};
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
/// Gas a typical swap uses; what `estimate-gas` prices.
const TYPICAL_GAS: u64 = 300_000;
/// The call data of a typical swap (a router call), for the L1 data fee.
const TYPICAL_CALL_DATA_BYTES: usize = 260;

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct NetworkQuery {
    /// Network name; the default network when omitted.
    #[param(example = "devnet")]
    network: Option<String>,
    /// Or the network as `ethereum-<network>`.
    chain_network: Option<String>,
}

struct Ctx {
    config: Arc<Config>,
    network_name: String,
    network: Arc<Network>,
}

fn context(state: &AppState, network: Option<&str>, chain_network: Option<&str>) -> ApiResult<Ctx> {
    let config = state.config();
    let network_name = network_name(&config, network, chain_network)?;
    let network = state.ethereum().network(&config, &network_name)?;
    Ok(Ctx { config, network_name, network })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    #[schema(example = "ethereum")]
    chain: String,
    #[schema(example = "devnet")]
    network: String,
    /// The node in use (scheme, host and port only).
    #[schema(example = "http://127.0.0.1:8545")]
    rpc_url: String,
    #[schema(example = "url")]
    rpc_provider: String,
    #[schema(example = 125)]
    current_block_number: u64,
    #[schema(example = "ETH")]
    native_currency: String,
    #[schema(example = "uniswap/router")]
    swap_provider: String,
}

/// The network's node, current block and native currency.
#[utoipa::path(get, path = "/chains/ethereum/status", tag = TAG, params(NetworkQuery), responses(
    (status = 200, body = StatusResponse),
    (status = 400, body = ErrorBody), (status = 503, description = "No node answered", body = ErrorBody),
))]
async fn status(
    State(state): State<AppState>,
    Query(query): Query<NetworkQuery>,
) -> ApiResult<axum::Json<StatusResponse>> {
    let ctx = context(&state, query.network.as_deref(), query.chain_network.as_deref())?;
    let block = ctx.network.provider().get_block_number().await.map_err(|e| ctx.network.rpc_error(e))?;
    let network_config = ctx.config.network(&ctx.network_name).expect("resolved above");
    Ok(axum::Json(StatusResponse {
        chain: CHAIN.into(),
        network: ctx.network_name.clone(),
        rpc_url: ctx.network.current_node(),
        rpc_provider: ctx.config.chain.rpc_provider.clone(),
        current_block_number: block,
        native_currency: network_config.native_currency_symbol.clone(),
        swap_provider: network_config.swap_provider.clone(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "tokens": ["ETH", "WETH", "USDC"]}))]
pub struct BalancesRequest {
    network: Option<String>,
    chain_network: Option<String>,
    /// The wallet; the default wallet when omitted.
    #[serde(alias = "walletAddress")]
    address: Option<String>,
    /// Symbols or addresses; every token of the network's list (and the native currency) when omitted.
    tokens: Option<Vec<String>>,
    /// Accepted for compatibility; omitting `tokens` already fetches all.
    #[allow(dead_code)]
    fetch_all: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct BalancesResponse {
    /// Human amounts by the symbol or address asked for.
    #[schema(value_type = BTreeMap<String, f64>, example = json!({"ETH": 1000000, "WETH": 1000, "USDC": 1000000}))]
    balances: BTreeMap<String, Human>,
}

/// Native and ERC-20 balances of a wallet, read in one RPC round trip.
#[utoipa::path(post, path = "/chains/ethereum/balances", tag = TAG, request_body = BalancesRequest, responses(
    (status = 200, body = BalancesResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn balances(
    State(state): State<AppState>,
    Json(request): Json<BalancesRequest>,
) -> ApiResult<axum::Json<BalancesResponse>> {
    let ctx = context(&state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    let requested: Vec<String> = match request.tokens.filter(|t| !t.is_empty()) {
        Some(tokens) => tokens,
        None => {
            std::iter::once(book.native_symbol.clone()).chain(book.tokens.iter().map(|t| t.symbol.clone())).collect()
        }
    };
    let mut erc20s = Vec::new();
    for name in requested.iter().filter(|name| !book.is_native(name)) {
        erc20s.push((name.clone(), book.resolve("tokens", name)?));
    }
    let addresses: Vec<Address> = erc20s.iter().map(|(_, token)| token.address).collect();
    let (native, amounts) = erc20::balances(&ctx.network, owner, &addresses).await?;
    let mut balances = BTreeMap::new();
    if let Some(native_name) = requested.iter().find(|name| book.is_native(name)) {
        balances.insert(native_name.clone(), Human(format_units(native, NATIVE_DECIMALS)));
    }
    for ((name, token), raw) in erc20s.into_iter().zip(amounts) {
        balances.insert(name, Human(format_units(raw, token.decimals)));
    }
    Ok(axum::Json(BalancesResponse { balances }))
}

/// The contracts a spender name stands for on a network: `<connector>/<type>` or an address.
fn spenders(config: &Config, network: &str, spender: &str) -> ApiResult<Vec<Spender>> {
    let spender = spender.trim();
    if spender.starts_with("0x") {
        return Ok(vec![Spender::direct(parse_address("spender", spender)?)]);
    }
    let (connector, kind) = spender.split_once('/').unwrap_or((spender, "router"));
    if config.clob.contains_key(connector) && matches!(kind, "clob" | "router") {
        let chain_id = config.network(network).map_or(0, |n| n.chain_id);
        connectors::for_venue!(
            connector,
            |Venue| return Ok(vec![Spender::direct(Venue::on_chain(chain_id).contract())]),
            {}
        );
    }
    let unknown = || {
        ApiError::bad_request(
            "spender",
            format!(
                "{} is neither an address nor a connector on {network}; use e.g. uniswap/router, uniswap/amm, uniswap/clmm, uniswap/clmm/swap, pancakeswap/clmm, zeroex/clob",
                chains::quoted(spender)
            ),
        )
    };
    let dex = config.dex(connector, network).ok_or_else(unknown)?;
    let of = |family: Family| dex.protocol(family).ok();
    let clmm = || dex.protocols().filter(|protocol| protocol.family().trading_type() == TradingType::Clmm);
    let contracts: Vec<Spender> = match kind {
        // Swaps and liquidity both go through the V2 router.
        "amm" => of(Family::V2).into_iter().filter_map(|v2| spender_of(v2, v2.liquidity_router())).collect(),
        // Liquidity goes through the position manager, swaps through the router: both need the allowance, in
        // every clmm family (V4's through Permit2).
        "clmm" => clmm()
            .flat_map(|protocol| {
                [protocol.position_manager(), protocol.swap_router()]
                    .into_iter()
                    .filter_map(move |contract| spender_of(protocol, contract))
            })
            .collect(),
        // Upstream Gateway's name for a clmm connector's swap router (its own messages tell users to approve it).
        "clmm/swap" => clmm().filter_map(|protocol| spender_of(protocol, protocol.swap_router())).collect(),
        // The routers that execute the router's routes, the newest family's first (the answer names it): one
        // where it takes every family's routes (SwapRouter02).
        "router" => {
            let families: Vec<Family> = dex.protocols().map(|protocol| protocol.family()).collect();
            let mut routers = Vec::new();
            for family in families.into_iter().rev() {
                let router =
                    dex.router_for(family).ok().and_then(|protocol| spender_of(protocol, protocol.swap_router()));
                if let Some(router) = router
                    && !routers.contains(&router)
                {
                    routers.push(router);
                }
            }
            routers
        }
        _ => Vec::new(),
    };
    match contracts.is_empty() {
        true => Err(unknown()),
        false => Ok(contracts),
    }
}

/// A family's contract as a spender: pulling through Permit2 where the family's routers do.
fn spender_of(protocol: &dyn Protocol, contract: Result<Address, ConnectorError>) -> Option<Spender> {
    contract.ok().map(|contract| protocol.spender(contract))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "spender": "uniswap/router", "tokens": ["USDC", "WETH"]}))]
pub struct AllowancesRequest {
    network: Option<String>,
    chain_network: Option<String>,
    #[serde(alias = "walletAddress")]
    address: Option<String>,
    /// `<connector>/<router|amm|clmm|clmm/swap>` or a contract address.
    spender: String,
    tokens: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AllowancesResponse {
    /// The spender contract (the first, when the name stands for several).
    #[schema(example = "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45")]
    spender: String,
    /// Human amounts each token may be spent, as strings.
    #[schema(example = json!({"USDC": "1000", "WETH": "0"}))]
    approvals: BTreeMap<String, String>,
    /// Each allowance behind `approvals` where a spender pulls through Permit2 (Uniswap V4): the ERC-20
    /// allowance to Permit2, and Permit2's to the spender. Left out where every spender is approved directly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    layers: Vec<AllowanceLayer>,
}

#[derive(Serialize, ToSchema)]
pub struct AllowanceLayer {
    /// Who may spend: Permit2 as an ERC-20 spender, or a contract within Permit2.
    #[schema(example = "0x66a9893cc07d91d95644aedd05d03f95e1dba8af")]
    spender: String,
    /// Permit2, for an allowance within it; absent for an ERC-20 allowance.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0x000000000022D473030F116dDEE9F6B43aC78BA3")]
    through: Option<String>,
    #[schema(example = json!({"USDC": "1000"}))]
    approvals: BTreeMap<String, String>,
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
    let ctx = context(&state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let spenders = spenders(&ctx.config, &ctx.network_name, &request.spender)?;
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    let tokens = request.tokens.iter().map(|name| book.resolve("tokens", name)).collect::<ApiResult<Vec<_>>>()?;
    let addresses: Vec<Address> = tokens.iter().map(|t| t.address).collect();
    let human = |amounts: &[U256]| -> BTreeMap<String, String> {
        request
            .tokens
            .iter()
            .zip(&tokens)
            .zip(amounts)
            .map(|((name, token), raw)| (name.clone(), format_units(*raw, token.decimals)))
            .collect()
    };
    let mut smallest = vec![U256::MAX; tokens.len()];
    let mut layers = Vec::new();
    for spender in &spenders {
        let allowances = spender.allowances(&ctx.network, owner, &addresses).await?;
        for (least, amount) in smallest.iter_mut().zip(allowances.effective()) {
            *least = (*least).min(amount);
        }
        if let (Some(permit2), Some(within)) = (spender.permit2, &allowances.permit2) {
            let erc20_layer = AllowanceLayer {
                spender: permit2.to_checksum(None),
                through: None,
                approvals: human(&allowances.erc20),
            };
            if !layers
                .iter()
                .any(|layer: &AllowanceLayer| layer.through.is_none() && layer.spender == erc20_layer.spender)
            {
                layers.push(erc20_layer);
            }
            layers.push(AllowanceLayer {
                spender: spender.contract.to_checksum(None),
                through: Some(permit2.to_checksum(None)),
                approvals: human(within),
            });
        }
    }
    Ok(axum::Json(AllowancesResponse {
        spender: spenders[0].contract.to_checksum(None),
        approvals: human(&smallest),
        layers,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "token": "USDC", "spender": "uniswap/router", "amount": "1000"}))]
pub struct ApproveRequest {
    network: Option<String>,
    chain_network: Option<String>,
    #[serde(alias = "walletAddress")]
    address: Option<String>,
    /// Symbol or address.
    token: String,
    /// `<connector>/<router|amm|clmm|clmm/swap>` or a contract address (`clmm` is the position manager and the
    /// swap router, `clmm/swap` the swap router alone, as upstream Gateway names it).
    spender: String,
    /// Human amount (digits past the token's decimals are dropped); unlimited when omitted or empty.
    #[schema(value_type = Option<String>)]
    amount: Option<AmountText>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApproveData {
    token_address: String,
    spender: String,
    /// The approved human amount.
    amount: String,
    nonce: u64,
    /// Fee paid, in the native currency.
    fee: String,
}

/// A state-changing call's answer: the transaction hash, its status (1 confirmed, 0 pending, -1 failed) and
/// what it did.
#[derive(Serialize, ToSchema)]
pub struct ApproveResponse {
    #[schema(example = "0x5f0c…")]
    signature: String,
    #[schema(example = 1)]
    status: i8,
    data: Option<ApproveData>,
}

/// Approves a spender for a token (unlimited unless an amount is given) and waits for the receipt.
#[utoipa::path(post, path = "/chains/ethereum/approve", tag = TAG, request_body = ApproveRequest, responses(
    (status = 200, body = ApproveResponse),
    (status = 400, description = "Bad input, or the approval would revert", body = ErrorBody),
    (status = 404, description = "Unknown wallet", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn approve(
    State(state): State<AppState>,
    Json(request): Json<ApproveRequest>,
) -> ApiResult<axum::Json<ApproveResponse>> {
    let ctx = context(&state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    if book.is_native(&request.token) {
        return Err(ApiError::bad_request(
            "token",
            format!("{} is the native currency and needs no approval", book.native_symbol),
        ));
    }
    let token = book.resolve("token", &request.token)?;
    let spenders = spenders(&ctx.config, &ctx.network_name, &request.spender)?;
    let amount = match request.amount.as_ref().filter(|a| !a.is_empty()) {
        Some(text) => text.parse("amount", token.decimals)?.raw,
        None => U256::MAX,
    };
    let signer = state.ethereum().signer(owner)?;
    let mut results = Vec::new();
    for spender in &spenders {
        // Read per spender: an earlier one may have approved Permit2 already.
        let erc20_allowed = match spender.permit2 {
            Some(permit2) => erc20::allowances(&ctx.network, owner, permit2, &[token.address]).await?[0],
            None => U256::ZERO,
        };
        for call in spender.approvals(token.address, amount, erc20_allowed) {
            results.push(state.ethereum().sender.send_and_wait(&ctx.network, &signer, &call, "approve").await?);
        }
    }
    let (signature, status, fee) = summarize(&results);
    let (sent, _) = results.last().expect("at least one spender");
    Ok(axum::Json(ApproveResponse {
        signature,
        status,
        data: Some(ApproveData {
            token_address: token.address.to_checksum(None),
            spender: spenders[0].contract.to_checksum(None),
            amount: format_units(amount, token.decimals),
            nonce: sent.nonce,
            fee: format_units(fee, NATIVE_DECIMALS),
        }),
    }))
}

/// The hash to report (the last), the worst status, and the total fee of one or more transactions.
fn summarize(results: &[(SentTx, Outcome)]) -> (String, i8, U256) {
    let mut status = 1;
    let mut fee = U256::ZERO;
    for (_, outcome) in results {
        match outcome {
            Outcome::Mined(receipt) => {
                fee += receipt.fee_wei;
                if !receipt.status() {
                    status = -1;
                }
            }
            Outcome::Cancelled(receipt) => {
                fee += receipt.fee_wei;
                status = -1;
            }
            Outcome::Pending if status == 1 => status = 0,
            Outcome::Pending => {}
        }
    }
    let signature = results.last().map(|(sent, _)| sent.hash.to_string()).unwrap_or_default();
    (signature, status, fee)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "signature": "0x5f0c8a1c9a3d3f1b0a6f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566"}))]
pub struct PollRequest {
    network: Option<String>,
    chain_network: Option<String>,
    /// The transaction hash.
    #[serde(alias = "txHash")]
    signature: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollResponse {
    current_block: u64,
    signature: String,
    tx_block: Option<u64>,
    /// 1 confirmed, 0 pending, -1 failed (mined and reverted, or cancelled), -2 not found (never sent, refused,
    /// or dropped: it will not be mined).
    tx_status: i8,
    /// Fee paid in the native currency, once mined.
    #[schema(value_type = Option<f64>)]
    fee: Option<Human>,
    /// The receipt, once mined.
    #[schema(value_type = Option<Object>)]
    tx_data: Option<serde_json::Value>,
    /// Why it failed, was replaced or cannot be found; null otherwise.
    error: Option<String>,
    /// The ledger's status, for a transaction this gateway sent: signed, pending, confirmed, failed, dropped,
    /// abandoned, rejected or replaced.
    #[schema(example = "confirmed")]
    ledger_status: Option<String>,
    /// The transaction mined in its place (a speed-up or a cancel), when one was.
    replaced_by: Option<String>,
}

/// A transaction's status, as the chain has it; the ledger follows. An unknown hash is answered (status -2), not
/// refused. A transaction that was sped up or cancelled answers with what was mined in its place. Nothing is ever
/// sent again by a poll.
#[utoipa::path(post, path = "/chains/ethereum/poll", tag = TAG, request_body = PollRequest, responses(
    (status = 200, body = PollResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn poll(State(state): State<AppState>, Json(request): Json<PollRequest>) -> ApiResult<axum::Json<PollResponse>> {
    let ctx = context(&state, request.network.as_deref(), request.chain_network.as_deref())?;
    let hash = parse_hash("signature", &request.signature)?;
    let current_block = ctx.network.provider().get_block_number().await.map_err(|e| ctx.network.rpc_error(e))?;
    let mut response = PollResponse {
        current_block,
        signature: hash.to_string(),
        tx_block: None,
        tx_status: 0,
        fee: None,
        tx_data: None,
        error: None,
        ledger_status: None,
        replaced_by: None,
    };
    match inquiry::fate(state.ethereum().sender.ledger(), &ctx.network, hash).await? {
        Fate::Mined { receipt, status } => {
            mined(&mut response, &receipt)?;
            response.ledger_status = status.map(|status| status.as_str().into());
        }
        Fate::Replaced { by, receipt } => {
            mined(&mut response, &receipt)?;
            response.ledger_status = Some(TxStatus::Replaced.as_str().into());
            response.replaced_by = Some(by.hash.to_string());
            if by.kind == TxKind::Cancel {
                response.tx_status = -1;
                response.error = Some(format!(
                    "cancelled: {} (a 0-value transfer at the same nonce) was mined in block {} instead",
                    by.hash,
                    current_or(receipt.block_number)
                ));
            }
        }
        Fate::InPool { recorded } => {
            response.ledger_status = recorded.then(|| TxStatus::Pending.as_str().into());
        }
        Fate::Unknown => {
            response.tx_status = -2;
            response.error = Some(format!("transaction not found on {}", ctx.network_name));
        }
        Fate::Gone(row) => {
            let (status, error) = gone(&row, &ctx.network);
            response.ledger_status = Some(row.status.as_str().into());
            response.tx_status = status;
            response.error = Some(error);
        }
    }
    Ok(axum::Json(response))
}

/// What a poll says of a transaction the ledger has and no node holds.
fn gone(row: &LedgerTx, network: &Network) -> (i8, String) {
    match row.status {
        TxStatus::Pending => (
            0,
            format!(
                "the node does not know this transaction now; unless it is mined or seen again it is marked dropped \
                 after {} s or once its nonce {} is used",
                network.settings().drop_after.as_secs(),
                row.nonce
            ),
        ),
        TxStatus::Signed => (0, "signed and recorded, not known to any node: it is not sent again, and is marked abandoned by the next send from this wallet".into()),
        TxStatus::Dropped => (-2, "dropped: the node no longer knows it and it will not be mined; it is never sent again".into()),
        TxStatus::Abandoned => (-2, "abandoned: signed but never sent (the gateway stopped first); it is never sent".into()),
        TxStatus::Rejected => (-2, "rejected: the node refused it when it was sent".into()),
        TxStatus::Replaced => (-2, "replaced at its nonce by another transaction".into()),
        TxStatus::Confirmed | TxStatus::Failed => (-2, "recorded as mined, but the chain no longer has it (the chain was reset or reorganised)".into()),
    }
}

fn current_or(block: Option<u64>) -> String {
    block.map_or_else(|| "?".into(), |block| block.to_string())
}

/// Fills in a mined transaction's block, status, fee and receipt.
fn mined(response: &mut PollResponse, receipt: &Mined) -> ApiResult<()> {
    response.tx_block = receipt.block_number;
    response.tx_status = if receipt.status() { 1 } else { -1 };
    response.error = (!receipt.status()).then(|| "the transaction was mined and reverted".to_string());
    response.fee = Some(Human(format_units(receipt.fee_wei, NATIVE_DECIMALS)));
    response.tx_data = Some(serde_json::to_value(&receipt.receipt).map_err(ApiError::internal)?);
    Ok(())
}

fn parse_hash(field: &str, text: &str) -> ApiResult<B256> {
    text.trim().parse().map_err(|_| ApiError::bad_request(field, "must be a transaction hash: 0x and 64 hex digits"))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "nonce": 42}))]
pub struct CancelRequest {
    network: Option<String>,
    chain_network: Option<String>,
    /// The wallet; the default wallet when omitted.
    #[serde(alias = "walletAddress")]
    address: Option<String>,
    /// The nonce of the pending transaction to cancel.
    nonce: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "signature": "0x5f0c8a1c9a3d3f1b0a6f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566"}))]
pub struct SpeedUpRequest {
    network: Option<String>,
    chain_network: Option<String>,
    /// The hash of the pending transaction to speed up.
    #[serde(alias = "txHash")]
    signature: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceData {
    nonce: u64,
    /// The transaction replaced at that nonce.
    replaced: String,
    /// Fee paid, in the native currency (0 until mined).
    fee: String,
}

/// A replacement's answer: the hash of what was mined at the nonce (the replacement, or for a speed-up what it
/// replaced if that was mined first; also as `txHash`, as Gateway v1 answered a cancel), its status (1 confirmed, 0
/// pending, -1 failed, or a cancel that lost to what it cancelled) and what it replaced.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceResponse {
    signature: String,
    tx_hash: String,
    status: i8,
    data: Option<ReplaceData>,
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
    let ctx = context(&state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let signer = state.ethereum().signer(owner)?;
    let sender = &state.ethereum().sender;
    let sent = sender.replace(&ctx.network, &signer, request.nonce, Replacement::Cancel, None).await?;
    replaced(&state, &ctx, sent, Replacement::Cancel).await
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
    let ctx = context(&state, request.network.as_deref(), request.chain_network.as_deref())?;
    let hash = parse_hash("signature", &request.signature)?;
    let sender = &state.ethereum().sender;
    let row = sender.ledger().find(hash).await.map_err(ApiError::internal)?.ok_or_else(|| {
        ApiError::not_found(format!("{hash} is not a transaction this gateway sent; only those can be sped up"))
    })?;
    if row.network != ctx.network_name {
        return Err(ApiError::bad_request(
            "network",
            format!("{hash} was sent on {}, not {}", row.network, ctx.network_name),
        ));
    }
    if let Some(receipt) =
        ctx.network.provider().get_transaction_receipt(hash).await.map_err(|e| ctx.network.rpc_error(e))?
    {
        inquiry::record_receipt(sender.ledger(), &ctx.network, &Mined::of(&ctx.network, receipt.clone()).await).await?;
        return Err(ApiError::bad_request(
            "signature",
            format!(
                "{hash} is already mined (block {}); there is nothing to speed up",
                current_or(receipt.block_number)
            ),
        ));
    }
    if row.status != TxStatus::Pending {
        return Err(ApiError::bad_request(
            "signature",
            format!("{hash} is {}, not pending; only a pending transaction can be sped up", row.status.as_str()),
        ));
    }
    let signer = state.ethereum().signer(row.sender)?;
    let sent = sender.replace(&ctx.network, &signer, row.nonce, Replacement::SpeedUp(&row), None).await?;
    replaced(&state, &ctx, sent, Replacement::SpeedUp(&row)).await
}

/// Waits for a replacement and answers with it.
async fn replaced(
    state: &AppState,
    ctx: &Ctx,
    replacement: SentTx,
    how: Replacement<'_>,
) -> ApiResult<axum::Json<ReplaceResponse>> {
    let sender = &state.ethereum().sender;
    let recorded = sender.ledger().find(replacement.hash).await.map_err(ApiError::internal)?;
    let replaced = recorded.and_then(|row| row.replaces).map(|hash| hash.to_string()).unwrap_or_default();
    let (mined, outcome) = sender.wait_for(&ctx.network, replacement, ctx.network.settings().tx_timeout).await?;
    let (signature, status, fee) = summarize(&[(mined, outcome)]);
    // What it replaced was mined first: a speed-up's call was done all the same, a cancel failed.
    let (signature, status) = match how {
        Replacement::Cancel if mined.hash != replacement.hash => (replacement.hash.to_string(), -1),
        _ => (signature, status),
    };
    Ok(axum::Json(ReplaceResponse {
        tx_hash: signature.clone(),
        signature,
        status,
        data: Some(ReplaceData { nonce: mined.nonce, replaced, fee: format_units(fee, NATIVE_DECIMALS) }),
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EstimateGasResponse {
    /// What one unit of gas costs if included now (base fee plus tip), in gwei; `maxFeePerGas` is the most a
    /// transaction offers.
    #[schema(value_type = f64)]
    fee_per_compute_unit: Human,
    #[schema(example = "gwei")]
    denomination: String,
    /// Gas a typical swap uses.
    compute_units: u64,
    #[schema(example = "ETH")]
    fee_asset: String,
    /// compute units × price, in the native currency.
    #[schema(value_type = f64)]
    fee: Human,
    /// Unix time in milliseconds.
    timestamp: u64,
    /// `eip1559` or `legacy`.
    gas_type: String,
    #[schema(value_type = Option<f64>)]
    max_fee_per_gas: Option<Human>,
    #[schema(value_type = Option<f64>)]
    max_priority_fee_per_gas: Option<Human>,
    /// Where the chain charges an L1 data fee on top of gas (OP stack): at most this much for a typical swap, in
    /// the native currency, and included in `fee`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    l1_data_fee: Option<Human>,
}

/// The gas price the next transaction would pay, from the config's gas settings and the node.
#[utoipa::path(get, path = "/chains/ethereum/estimate-gas", tag = TAG, params(NetworkQuery), responses(
    (status = 200, body = EstimateGasResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn estimate_gas(
    State(state): State<AppState>,
    Query(query): Query<NetworkQuery>,
) -> ApiResult<axum::Json<EstimateGasResponse>> {
    let ctx = context(&state, query.network.as_deref(), query.chain_network.as_deref())?;
    let l1_data_fee = chains::l1_fee::bound(&ctx.network, TYPICAL_CALL_DATA_BYTES);
    let ((fees, price), l1_data_fee) = tokio::try_join!(current_fees(&ctx.network), l1_data_fee)?;
    let gwei = |wei: u128| Human(format_units(U256::from(wei), 9));
    let (gas_type, max_fee, priority) = match fees {
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => {
            ("eip1559", Some(gwei(max_fee_per_gas)), Some(gwei(max_priority_fee_per_gas)))
        }
        Fees::Legacy { .. } => ("legacy", None, None),
    };
    Ok(axum::Json(EstimateGasResponse {
        fee_per_compute_unit: gwei(price),
        denomination: "gwei".into(),
        compute_units: TYPICAL_GAS,
        fee_asset: ctx.network.settings().native_symbol.clone(),
        fee: Human(format_units(
            U256::from(price) * U256::from(TYPICAL_GAS) + l1_data_fee.unwrap_or_default(),
            NATIVE_DECIMALS,
        )),
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        gas_type: gas_type.into(),
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: priority,
        l1_data_fee: l1_data_fee.map(|wei| Human(format_units(wei, NATIVE_DECIMALS))),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "amount": "0.5"}))]
pub struct WrapRequest {
    network: Option<String>,
    chain_network: Option<String>,
    #[serde(alias = "walletAddress")]
    address: Option<String>,
    /// Human amount of the native currency to wrap (for unwrap: of the wrapped token; all of it when omitted);
    /// digits past 18 decimals are dropped.
    #[schema(value_type = Option<String>)]
    amount: Option<AmountText>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WrapData {
    nonce: u64,
    /// Fee paid, in the native currency.
    fee: String,
    /// The human amount wrapped or unwrapped.
    amount: String,
    wrapped_address: String,
    native_token: String,
    wrapped_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct WrapResponse {
    signature: String,
    status: i8,
    data: Option<WrapData>,
}

/// Wraps native currency into its wrapped token (ETH → WETH) and waits for the receipt.
#[utoipa::path(post, path = "/chains/ethereum/wrap", tag = TAG, request_body = WrapRequest, responses(
    (status = 200, body = WrapResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn wrap(State(state): State<AppState>, Json(request): Json<WrapRequest>) -> ApiResult<axum::Json<WrapResponse>> {
    let Some(amount) = request.amount.as_ref().filter(|a| !a.is_empty()) else {
        return Err(ApiError::bad_request("amount", "is required: how much native currency to wrap"));
    };
    let amount = positive(amount.parse("amount", NATIVE_DECIMALS)?)?;
    let wrapping = Wrapping::new(&state, &request).await?;
    let call = chains::erc20::wrap(wrapping.weth, amount.raw);
    wrapping.run(&state, call, amount, "wrap").await
}

/// Unwraps the wrapped token back into native currency (WETH → ETH), all of it when no amount is given.
#[utoipa::path(post, path = "/chains/ethereum/unwrap", tag = TAG, request_body = WrapRequest, responses(
    (status = 200, body = WrapResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn unwrap(
    State(state): State<AppState>,
    Json(request): Json<WrapRequest>,
) -> ApiResult<axum::Json<WrapResponse>> {
    let wrapping = Wrapping::new(&state, &request).await?;
    let amount = match request.amount.as_ref().filter(|a| !a.is_empty()) {
        Some(text) => positive(text.parse("amount", NATIVE_DECIMALS)?)?,
        None => {
            let (_, balances) = erc20::balances(&wrapping.ctx.network, wrapping.owner, &[wrapping.weth]).await?;
            positive(Amount::new(balances[0], NATIVE_DECIMALS)).map_err(|_| {
                ApiError::bad_request("amount", format!("the wallet holds no {}", wrapping.wrapped_symbol))
            })?
        }
    };
    let call = chains::erc20::unwrap(wrapping.weth, amount.raw);
    wrapping.run(&state, call, amount, "unwrap").await
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chain": "ethereum", "network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "toAddress": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": "250", "token": "USDC"}))]
pub struct SendRequest {
    /// `ethereum`, the only chain served here.
    chain: Option<String>,
    network: Option<String>,
    chain_network: Option<String>,
    /// The sending wallet; the default wallet when omitted.
    #[serde(alias = "walletAddress")]
    address: Option<String>,
    /// Who receives.
    to_address: String,
    /// Human amount; digits past the token's decimals are dropped.
    #[schema(value_type = String)]
    amount: AmountText,
    /// Symbol or address of an ERC-20; the native currency when omitted.
    token: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    signature: String,
    /// 1 confirmed, 0 pending, -1 failed.
    status: i8,
    /// The human amount sent.
    #[schema(example = "250")]
    amount: String,
    #[schema(example = "USDC")]
    token: String,
    to_address: String,
    /// Fee paid, in the native currency (0 until mined).
    fee: String,
    nonce: u64,
}

/// Sends the native currency or an ERC-20 to an address (as upstream Gateway's `/wallet/send`), through the same
/// pipeline as every transaction: simulated, priced under the fee caps, recorded, and waited for.
#[utoipa::path(post, path = "/wallet/send", tag = "wallet", request_body = SendRequest, responses(
    (status = 200, body = SendResponse),
    (status = 400, description = "Bad input, a transfer that would revert, or a fee over a cap (FEE_CAP)", body = ErrorBody),
    (status = 404, description = "Unknown wallet", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn send(State(state): State<AppState>, Json(request): Json<SendRequest>) -> ApiResult<axum::Json<SendResponse>> {
    check_chain(request.chain.as_deref())?;
    let ctx = context(&state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let to = parse_address("toAddress", &request.to_address)?;
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    let token = match request.token.as_deref().map(str::trim).filter(|t| !t.is_empty() && !book.is_native(t)) {
        Some(name) => Some(book.resolve("token", name)?),
        None => None,
    };
    let decimals = token.as_ref().map_or(NATIVE_DECIMALS, |token| token.decimals);
    let amount = positive(request.amount.parse("amount", decimals)?)?;
    let call = match &token {
        Some(token) => chains::erc20::transfer(token.address, to, amount.raw),
        None => Call::new(to, alloy::primitives::Bytes::new()).with_value(amount.raw),
    };
    let signer = state.ethereum().signer(owner)?;
    let (sent, outcome) = state.ethereum().sender.send_and_wait(&ctx.network, &signer, &call, "send").await?;
    let nonce = sent.nonce;
    let (signature, status, fee) = summarize(&[(sent, outcome)]);
    Ok(axum::Json(SendResponse {
        signature,
        status,
        amount: amount.to_decimal_string(),
        token: token.map_or_else(|| book.native_symbol.clone(), |token| token.symbol),
        to_address: to.to_checksum(None),
        fee: format_units(fee, NATIVE_DECIMALS),
        nonce,
    }))
}

fn positive(amount: Amount) -> ApiResult<Amount> {
    if amount.raw.is_zero() {
        return Err(ApiError::bad_request("amount", "must be greater than zero"));
    }
    Ok(amount)
}

struct Wrapping {
    ctx: Ctx,
    owner: Address,
    weth: Address,
    wrapped_symbol: String,
    native_symbol: String,
}

impl Wrapping {
    async fn new(state: &AppState, request: &WrapRequest) -> ApiResult<Wrapping> {
        let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
        let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
        let book = state.token_book(&ctx.config, &ctx.network_name).await?;
        let wrapped = book.wrapped_native()?;
        Ok(Wrapping {
            owner,
            weth: wrapped.address,
            wrapped_symbol: wrapped.symbol,
            native_symbol: book.native_symbol.clone(),
            ctx,
        })
    }

    async fn run(
        self,
        state: &AppState,
        call: Call,
        amount: Amount,
        label: &str,
    ) -> ApiResult<axum::Json<WrapResponse>> {
        let signer = state.ethereum().signer(self.owner)?;
        let result = state.ethereum().sender.send_and_wait(&self.ctx.network, &signer, &call, label).await?;
        let nonce = result.0.nonce;
        let (signature, status, fee) = summarize(&[result]);
        Ok(axum::Json(WrapResponse {
            signature,
            status,
            data: Some(WrapData {
                nonce,
                fee: format_units(fee, NATIVE_DECIMALS),
                amount: amount.to_decimal_string(),
                wrapped_address: self.weth.to_checksum(None),
                native_token: self.native_symbol,
                wrapped_token: self.wrapped_symbol,
            }),
        }))
    }
}
