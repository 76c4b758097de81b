//! The bodies of `/chains/ethereum/*` and `/wallet/send`: what each request takes and each answer holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::request::{AmountText, Human};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct NetworkQuery {
    /// Network name; the default network when omitted.
    #[param(example = "devnet")]
    pub network: Option<String>,
    /// Or the network as `ethereum-<network>`.
    pub chain_network: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    #[schema(example = "ethereum")]
    pub chain: String,
    #[schema(example = "devnet")]
    pub network: String,
    /// The node in use (scheme, host and port only).
    #[schema(example = "http://127.0.0.1:8545")]
    pub rpc_url: String,
    #[schema(example = "url")]
    pub rpc_provider: String,
    #[schema(example = 125)]
    pub current_block_number: u64,
    #[schema(example = "ETH")]
    pub native_currency: String,
    #[schema(example = "uniswap/router")]
    pub swap_provider: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "tokens": ["ETH", "WETH", "USDC"]}))]
pub struct BalancesRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    /// The wallet; the default wallet when omitted.
    #[serde(alias = "walletAddress")]
    pub address: Option<String>,
    /// Symbols or addresses; every token of the network's list (and the native currency) when omitted.
    pub tokens: Option<Vec<String>>,
    /// Accepted for compatibility; omitting `tokens` already fetches all.
    #[allow(dead_code)]
    pub fetch_all: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct BalancesResponse {
    /// Human amounts by the symbol or address asked for.
    #[schema(value_type = BTreeMap<String, String>, example = json!({"ETH": "1000000", "WETH": "1000", "USDC": "1000000"}))]
    pub balances: BTreeMap<String, Human>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "spender": "uniswap/router", "tokens": ["USDC", "WETH"]}))]
pub struct AllowancesRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    #[serde(alias = "walletAddress")]
    pub address: Option<String>,
    /// `<connector>/<router|amm|clmm|clmm/swap>` or a contract address.
    pub spender: String,
    pub tokens: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AllowancesResponse {
    /// The spender contract (the first, when the name stands for several).
    #[schema(example = "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45")]
    pub spender: String,
    /// Human amounts each token may be spent, as strings.
    #[schema(example = json!({"USDC": "1000", "WETH": "0"}))]
    pub approvals: BTreeMap<String, String>,
    /// Each allowance behind `approvals` where a spender pulls through Permit2 (Uniswap V4): the ERC-20
    /// allowance to Permit2, and Permit2's to the spender. Left out where every spender is approved directly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<AllowanceLayer>,
}

#[derive(Serialize, ToSchema)]
pub struct AllowanceLayer {
    /// Who may spend: Permit2 as an ERC-20 spender, or a contract within Permit2.
    #[schema(example = "0x66a9893cc07d91d95644aedd05d03f95e1dba8af")]
    pub spender: String,
    /// Permit2, for an allowance within it; absent for an ERC-20 allowance.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "0x000000000022D473030F116dDEE9F6B43aC78BA3")]
    pub through: Option<String>,
    #[schema(example = json!({"USDC": "1000"}))]
    pub approvals: BTreeMap<String, String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "token": "USDC", "spender": "uniswap/router", "amount": "1000"}))]
pub struct ApproveRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    #[serde(alias = "walletAddress")]
    pub address: Option<String>,
    /// Symbol or address.
    pub token: String,
    /// `<connector>/<router|amm|clmm|clmm/swap>` or a contract address (`clmm` is the position manager and the
    /// swap router, `clmm/swap` the swap router alone, as upstream Gateway names it).
    pub spender: String,
    /// Human amount (digits past the token's decimals are dropped); unlimited when omitted or empty.
    #[schema(value_type = Option<String>)]
    pub amount: Option<AmountText>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApproveData {
    pub token_address: String,
    pub spender: String,
    /// The approved human amount.
    #[schema(format = "decimal")]
    pub amount: String,
    pub nonce: u64,
    /// Fee paid, in the native currency.
    #[schema(format = "decimal")]
    pub fee: String,
}

/// A state-changing call's answer: the transaction hash, its status (1 confirmed, 0 pending, -1 failed) and
/// what it did.
#[derive(Serialize, ToSchema)]
pub struct ApproveResponse {
    #[schema(example = "0x5f0c…")]
    pub signature: String,
    #[schema(example = 1)]
    pub status: i8,
    pub data: Option<ApproveData>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "signature": "0x5f0c8a1c9a3d3f1b0a6f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566"}))]
pub struct PollRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    /// The transaction hash.
    #[serde(alias = "txHash")]
    pub signature: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollResponse {
    pub current_block: u64,
    pub signature: String,
    pub tx_block: Option<u64>,
    /// 1 confirmed, 0 pending, -1 failed (mined and reverted, or cancelled), -2 not found (never sent, refused,
    /// or dropped: it will not be mined).
    pub tx_status: i8,
    /// Fee paid in the native currency, once mined.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub fee: Option<Human>,
    /// The receipt, once mined.
    #[schema(value_type = Option<Object>)]
    pub tx_data: Option<serde_json::Value>,
    /// Why it failed, was replaced or cannot be found; null otherwise.
    pub error: Option<String>,
    /// The ledger's status, for a transaction this gateway sent: signed, pending, confirmed, failed, dropped,
    /// abandoned, rejected or replaced.
    #[schema(example = "confirmed")]
    pub ledger_status: Option<String>,
    /// The transaction mined in its place (a speed-up or a cancel), when one was.
    pub replaced_by: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "nonce": 42}))]
pub struct CancelRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    /// The wallet; the default wallet when omitted.
    #[serde(alias = "walletAddress")]
    pub address: Option<String>,
    /// The nonce of the pending transaction to cancel.
    pub nonce: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "signature": "0x5f0c8a1c9a3d3f1b0a6f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566"}))]
pub struct SpeedUpRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    /// The hash of the pending transaction to speed up.
    #[serde(alias = "txHash")]
    pub signature: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceData {
    pub nonce: u64,
    /// The transaction replaced at that nonce.
    pub replaced: String,
    /// Fee paid, in the native currency (0 until mined).
    #[schema(format = "decimal")]
    pub fee: String,
}

/// A replacement's answer: the hash of what was mined at the nonce (the replacement, or for a speed-up what it
/// replaced if that was mined first; also as `txHash`, as Gateway v1 answered a cancel), its status (1 confirmed, 0
/// pending, -1 failed, or a cancel that lost to what it cancelled) and what it replaced.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceResponse {
    pub signature: String,
    pub tx_hash: String,
    pub status: i8,
    pub data: Option<ReplaceData>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EstimateGasResponse {
    /// What one unit of gas costs if included now (base fee plus tip), in gwei; `maxFeePerGas` is the most a
    /// transaction offers.
    #[schema(value_type = String, format = "decimal")]
    pub fee_per_compute_unit: Human,
    #[schema(example = "gwei")]
    pub denomination: String,
    /// Gas a typical swap uses.
    pub compute_units: u64,
    #[schema(example = "ETH")]
    pub fee_asset: String,
    /// compute units × price, in the native currency.
    #[schema(value_type = String, format = "decimal")]
    pub fee: Human,
    /// Unix time in milliseconds.
    pub timestamp: u64,
    /// `eip1559` or `legacy`.
    pub gas_type: String,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub max_fee_per_gas: Option<Human>,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub max_priority_fee_per_gas: Option<Human>,
    /// Where the chain charges an L1 data fee on top of gas (OP stack): at most this much for a typical swap, in
    /// the native currency, and included in `fee`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub l1_data_fee: Option<Human>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "amount": "0.5"}))]
pub struct WrapRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    #[serde(alias = "walletAddress")]
    pub address: Option<String>,
    /// Human amount of the native currency to wrap (for unwrap: of the wrapped token; all of it when omitted);
    /// digits past 18 decimals are dropped.
    #[schema(value_type = Option<String>)]
    pub amount: Option<AmountText>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WrapData {
    pub nonce: u64,
    /// Fee paid, in the native currency.
    #[schema(format = "decimal")]
    pub fee: String,
    /// The human amount wrapped or unwrapped.
    #[schema(format = "decimal")]
    pub amount: String,
    pub wrapped_address: String,
    pub native_token: String,
    pub wrapped_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct WrapResponse {
    pub signature: String,
    pub status: i8,
    pub data: Option<WrapData>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chain": "ethereum", "network": "devnet", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "toAddress": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": "250", "token": "USDC"}))]
pub struct SendRequest {
    /// `ethereum`, the only chain served here.
    pub chain: Option<String>,
    pub network: Option<String>,
    pub chain_network: Option<String>,
    /// The sending wallet; the default wallet when omitted.
    #[serde(alias = "walletAddress")]
    pub address: Option<String>,
    /// Who receives.
    pub to_address: String,
    /// Human amount; digits past the token's decimals are dropped.
    #[schema(value_type = String)]
    pub amount: AmountText,
    /// Symbol or address of an ERC-20; the native currency when omitted.
    pub token: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    pub signature: String,
    /// 1 confirmed, 0 pending, -1 failed.
    pub status: i8,
    /// The human amount sent.
    #[schema(example = "250")]
    #[schema(format = "decimal")]
    pub amount: String,
    #[schema(example = "USDC")]
    pub token: String,
    pub to_address: String,
    /// Fee paid, in the native currency (0 until mined).
    #[schema(format = "decimal")]
    pub fee: String,
    pub nonce: u64,
}
