//! A request's answer rebuilt after the gateway stopped while serving it (killed, crashed, its machine gone):
//! before its first send, a route keeps with the request's Idempotency-Key what it needs besides its
//! transactions' receipts to answer (its [`Recipe`]); a retry of the key then gets, once the transactions are
//! final, the answer the route would have given, built by the same function from the receipts the chain has.

use alloy::primitives::B256;
use chains::tx::inquiry::{self, Fate};
use chains::tx::{Outcome, SentTx, TxKind, TxStatus};
use serde::Deserialize;

use super::chain::{ApproveRecipe, SendRecipe, WrapRecipe};
use super::sending::reverted;
use super::trading::amm::AmmRecipe;
use super::trading::positions::PositionRecipe;
use super::trading::swap::SwapRecipe;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A route's recipe as kept, by its route's name.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "route", rename_all = "camelCase")]
enum Kept {
    Wrap(WrapRecipe),
    Approve(ApproveRecipe),
    Send(SendRecipe),
    Swap(Box<SwapRecipe>),
    Position(Box<PositionRecipe>),
    PairShare(AmmRecipe),
}

impl Kept {
    /// The route's answer to transactions that all ended (mined, or cancelled in their place), as JSON.
    async fn answer(&self, state: &AppState, results: &[(SentTx, Outcome)]) -> AppResult<serde_json::Value> {
        let json = match self {
            Kept::Wrap(recipe) => serde_json::to_value(recipe.answer(results)),
            Kept::Approve(recipe) => serde_json::to_value(recipe.answer(results)),
            Kept::Send(recipe) => serde_json::to_value(recipe.answer(results)),
            Kept::Swap(recipe) => serde_json::to_value(recipe.answer(state, results).await?),
            Kept::Position(recipe) => serde_json::to_value(recipe.answer(state, results).await?),
            Kept::PairShare(recipe) => serde_json::to_value(recipe.answer(results)?),
        };
        json.map_err(AppError::internal)
    }
}

/// What became of a request nobody answered.
#[derive(Debug)]
pub enum Recovered {
    /// Every transaction it sent ended: the route's answer.
    Answer(serde_json::Value),
    /// A transaction it sent is not final yet: its hash, for the client to poll.
    Pending(B256),
    /// No transaction of it reached a node: it may run afresh.
    Nothing,
    /// It sent, and its route kept no recipe: what it sent is all there is to tell.
    Untold,
}

/// What became of the request with Idempotency-Key `key` (as the ledger scopes it), as the chain has it now.
/// A transaction mined and reverted is the route's refusal ([`AppError::Failed`]); one that will never be mined
/// is [`AppError::Dropped`].
pub async fn recover(state: &AppState, key: &str) -> AppResult<Recovered> {
    let storage = state.storage();
    let sent: Vec<_> = storage
        .transactions_of_request(key)
        .await
        .map_err(crate::storage::StorageError::from)?
        .into_iter()
        .filter(|tx| tx.kind == TxKind::Call && !matches!(tx.status, TxStatus::Abandoned | TxStatus::Rejected))
        .collect();
    if sent.is_empty() {
        return Ok(Recovered::Nothing);
    }
    let Some(recipe) = storage.recipe(key).await? else { return Ok(Recovered::Untold) };
    let recipe: Kept = serde_json::from_str(&recipe).map_err(AppError::internal)?;
    let config = state.config();
    let mut results = Vec::with_capacity(sent.len());
    for tx in sent {
        let network = state.ethereum().network(&config, &tx.network)?;
        let mut sent = SentTx { hash: tx.hash, nonce: tx.nonce, sender: tx.sender };
        let (receipt, cancelled) = match inquiry::fate(state.ethereum().sender.ledger(), &network, tx.hash).await? {
            Fate::Mined { receipt, .. } if !network.buried(receipt.block_number.unwrap_or_default()).await? => {
                return Ok(Recovered::Pending(tx.hash));
            }
            Fate::Mined { receipt, .. } => (receipt, false),
            Fate::Replaced { by, receipt } => (receipt, by.kind == TxKind::Cancel),
            // Mined as recorded, its receipt not served now: asked again, it will be.
            Fate::InPool { .. } | Fate::Recorded(_) | Fate::Unreceipted(_) => return Ok(Recovered::Pending(tx.hash)),
            // Not seen by this node now; the ledger still expects it.
            Fate::Gone(row) if matches!(row.status, TxStatus::Signed | TxStatus::Pending) => {
                return Ok(Recovered::Pending(tx.hash));
            }
            Fate::Gone(_) | Fate::Unknown => return Err(AppError::Dropped { hash: tx.hash }),
        };
        if cancelled {
            results.push((sent, Outcome::Cancelled(receipt)));
            continue;
        }
        sent.hash = receipt.transaction_hash;
        if !receipt.status() {
            let call = chains::tx::call::decode(&tx.raw)?.call;
            return Err(reverted(&network, &sent, &call, &receipt).await);
        }
        results.push((sent, Outcome::Mined(receipt)));
    }
    recipe.answer(state, &results).await.map(Recovered::Answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::sending::Recipe;
    use serde_json::json;

    /// A recipe as `keep` writes it, read back as `recovery` reads it.
    fn kept<R: Recipe + serde::de::DeserializeOwned>(fields: serde_json::Value) -> Kept {
        let recipe: R = serde_json::from_value(fields).unwrap();
        let mut written = serde_json::to_value(&recipe).unwrap();
        written["route"] = R::ROUTE.into();
        serde_json::from_value(written).unwrap()
    }

    #[test]
    fn each_routes_recipe_is_read_back_as_that_route() {
        let wrap = json!({"amount": "1", "wrapped_address": "0x0", "native_token": "ETH", "wrapped_token": "WETH"});
        assert!(matches!(kept::<WrapRecipe>(wrap), Kept::Wrap(_)));
        let approve = json!({"token_address": "0x0", "spender": "0x1", "amount": "2"});
        assert!(matches!(kept::<ApproveRecipe>(approve), Kept::Approve(_)));
        let send = json!({"amount": "3", "token": "USDC", "to_address": "0x2"});
        assert!(matches!(kept::<SendRecipe>(send), Kept::Send(_)));
        let token =
            json!({"address": "0x0000000000000000000000000000000000000001", "symbol": "A", "name": "A", "decimals": 6});
        let swap = json!({"network": "devnet", "connector": "uniswap", "family": "V3",
                          "owner": "0x0000000000000000000000000000000000000002", "side": "SELL",
                          "base": token, "quote": token, "legs": [], "slippage_pct": 1.0});
        assert!(matches!(kept::<SwapRecipe>(swap.clone()), Kept::Swap(_)));
        let position = json!({"network": "devnet", "connector": "uniswap", "family": "V3",
                              "pool": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640",
                              "base_is_token0": true, "base": swap["base"], "quote": swap["quote"],
                              "position": null, "change": "Deposit"});
        assert!(matches!(kept::<PositionRecipe>(position), Kept::Position(_)));
        let amm = json!({"pair": "0x0000000000000000000000000000000000000003", "base": swap["base"],
                         "quote": swap["quote"], "owner": "0x0000000000000000000000000000000000000002", "removing": true});
        assert!(matches!(kept::<AmmRecipe>(amm), Kept::PairShare(_)));
    }
}
