//! `/wallet`: the wallets the gateway signs with.

use alloy::signers::local::PrivateKeySigner;
use axum::extract::State;
use chains::wallet;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{Json, Query};
use crate::config::CHAIN;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::request::{check_chain, parse_address};
use crate::state::AppState;
use crate::storage::{StorageError, WalletRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_wallets))
        .routes(routes!(add_wallet))
        .routes(routes!(add_hardware_wallet))
        .routes(routes!(remove_wallet))
        .routes(routes!(set_default_wallet))
}

const TAG: &str = "wallet";

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Include hardware (address-only) wallets.
    show_hardware: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainWallets {
    #[schema(example = "ethereum")]
    chain: String,
    #[schema(example = json!(["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]))]
    wallet_addresses: Vec<String>,
    hardware_wallet_addresses: Vec<String>,
}

/// The wallets, per chain.
#[utoipa::path(get, path = "/wallet", tag = TAG, params(ListQuery), responses((status = 200, body = Vec<ChainWallets>)))]
async fn list_wallets(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<Vec<ChainWallets>>> {
    let rows = state.storage().wallets(CHAIN).await?;
    let (signing, hardware): (Vec<WalletRow>, Vec<WalletRow>) = rows.into_iter().partition(|w| w.keystore.is_some());
    Ok(axum::Json(vec![ChainWallets {
        chain: CHAIN.into(),
        wallet_addresses: signing.into_iter().map(|w| w.address).collect(),
        hardware_wallet_addresses: if query.show_hardware.unwrap_or(true) {
            hardware.into_iter().map(|w| w.address).collect()
        } else {
            vec![]
        },
    }]))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chain": "ethereum", "privateKey": "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", "setDefault": true}))]
pub struct AddRequest {
    chain: String,
    /// Hex, 0x optional. Stored only encrypted under the passphrase.
    private_key: String,
    set_default: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AddressResponse {
    #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    address: String,
}

/// Adds a wallet by private key. Adding one that is already there changes nothing and answers its address.
#[utoipa::path(post, path = "/wallet/add", tag = TAG, request_body = AddRequest, responses(
    (status = 200, body = AddressResponse), (status = 400, body = ErrorBody),
))]
async fn add_wallet(
    State(state): State<AppState>,
    Json(request): Json<AddRequest>,
) -> ApiResult<axum::Json<AddressResponse>> {
    check_chain(Some(&request.chain))?;
    let signer = wallet::parse_private_key(&request.private_key)
        .map_err(|_| ApiError::bad_request("privateKey", "must be 32 bytes of hex (64 hex digits, 0x optional)"))?;
    store_signer(&state, signer, request.set_default.unwrap_or(false)).await
}

async fn store_signer(
    state: &AppState,
    signer: PrivateKeySigner,
    set_default: bool,
) -> ApiResult<axum::Json<AddressResponse>> {
    let address = state.ethereum().add_signer(state.storage(), state.passphrase(), signer).await?;
    if set_default {
        make_default(state, &address).await?;
    }
    Ok(axum::Json(AddressResponse { address }))
}

/// Makes `address` ('' for none) the default wallet here, and on every instance sharing the database.
async fn make_default(state: &AppState, address: &str) -> ApiResult<()> {
    state.update_config(CHAIN, "defaultWallet", json!(address)).await?;
    state.storage().set_default_wallet(CHAIN, address).await?;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chain": "ethereum", "address": "0x90F79bf6EB2c4f870365E785982E1f101E93b906", "setDefault": false}))]
pub struct AddHardwareRequest {
    chain: String,
    address: String,
    set_default: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddHardwareResponse {
    address: String,
    message: String,
}

/// Registers an address whose key lives on a hardware device: readable (balances, positions), not signable here.
#[utoipa::path(post, path = "/wallet/add-hardware", tag = TAG, request_body = AddHardwareRequest, responses(
    (status = 200, body = AddHardwareResponse), (status = 400, body = ErrorBody),
))]
async fn add_hardware_wallet(
    State(state): State<AppState>,
    Json(request): Json<AddHardwareRequest>,
) -> ApiResult<axum::Json<AddHardwareResponse>> {
    check_chain(Some(&request.chain))?;
    let address = parse_address("address", &request.address)?.to_checksum(None);
    let row = WalletRow { chain: CHAIN.into(), address: address.clone(), keystore: None };
    match state.storage().insert_wallet(&row).await {
        Ok(()) => {}
        Err(StorageError::Duplicate(_)) => {
            // Re-added as it is ("ensure" scripts) is fine; a wallet whose key is kept here would go on signing here.
            let stored = state.storage().wallet(CHAIN, &address).await?;
            if stored.is_some_and(|stored| stored.keystore.is_some()) {
                return Err(ApiError::bad_request(
                    "address",
                    format!(
                        "{address} is a wallet whose key this gateway keeps, and signs for here; remove it first \
                         (DELETE /wallet/remove) to register it as a hardware wallet"
                    ),
                ));
            }
        }
        Err(other) => return Err(other.into()),
    }
    if request.set_default.unwrap_or(false) {
        make_default(&state, &address).await?;
    }
    Ok(axum::Json(AddHardwareResponse {
        message: format!(
            "hardware wallet {address} added: it can be read, and transactions for it must be signed on the device"
        ),
        address,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chain": "ethereum", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}))]
pub struct WalletRequest {
    chain: String,
    address: String,
}

#[derive(Serialize, ToSchema)]
pub struct MessageResponse {
    message: String,
}

/// Removes a wallet and its encrypted key.
#[utoipa::path(delete, path = "/wallet/remove", tag = TAG, request_body = WalletRequest, responses(
    (status = 200, body = MessageResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn remove_wallet(
    State(state): State<AppState>,
    Json(request): Json<WalletRequest>,
) -> ApiResult<axum::Json<MessageResponse>> {
    check_chain(Some(&request.chain))?;
    let address = parse_address("address", &request.address)?;
    let checksummed = address.to_checksum(None);
    if !state.ethereum().remove_wallet(state.storage(), address).await? {
        return Err(ApiError::not_found(format!("wallet {checksummed} is not known to this gateway")));
    }
    // The default here, or the one made through another instance that this one has not followed yet.
    let shared = state.storage().default_wallet(CHAIN).await?.unwrap_or_default();
    if [state.config().chain.default_wallet.as_str(), &shared].iter().any(|d| d.eq_ignore_ascii_case(&checksummed)) {
        make_default(&state, "").await?;
    }
    Ok(axum::Json(MessageResponse { message: format!("wallet {checksummed} removed") }))
}

#[derive(Serialize, ToSchema)]
pub struct SetDefaultResponse {
    message: String,
    chain: String,
    address: String,
}

/// Makes a known wallet the one used when a request names none (written to `chains/ethereum.yml`).
#[utoipa::path(post, path = "/wallet/setDefault", tag = TAG, request_body = WalletRequest, responses(
    (status = 200, body = SetDefaultResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
))]
async fn set_default_wallet(
    State(state): State<AppState>,
    Json(request): Json<WalletRequest>,
) -> ApiResult<axum::Json<SetDefaultResponse>> {
    check_chain(Some(&request.chain))?;
    let address = parse_address("address", &request.address)?.to_checksum(None);
    if !state.storage().wallets(CHAIN).await?.iter().any(|w| w.address == address) {
        return Err(ApiError::not_found(format!(
            "wallet {address} is not known to this gateway; add it with POST /wallet/add"
        )));
    }
    make_default(&state, &address).await?;
    Ok(axum::Json(SetDefaultResponse {
        message: format!("default wallet for {CHAIN} is now {address}"),
        chain: CHAIN.into(),
        address,
    }))
}
