//! A request's answer rebuilt after the gateway stopped while serving it (killed, crashed, its machine gone):
//! before its first send, a route keeps with the request's Idempotency-Key what it needs besides its
//! transactions' receipts to answer (its [`Recipe`]); a retry of the key then gets, once the transactions are
//! final, the answer the route would have given, built by the same function from the receipts the chain has.

use alloy::primitives::B256;
use chains::tx::inquiry::{self, Fate};
use chains::tx::{Outcome, SentTx, TxKind, TxStatus};
use serde::{Deserialize, Serialize};

use super::chain::{ApproveRecipe, SendRecipe, WrapRecipe};
use super::sending::reverted;
use super::trading::swap::SwapRecipe;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What a route needs, besides its transactions' outcomes, to build its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "route", rename_all = "camelCase")]
pub enum Recipe {
    Wrap(WrapRecipe),
    Approve(ApproveRecipe),
    Send(SendRecipe),
    Swap(Box<SwapRecipe>),
}

impl Recipe {
    /// The route's answer to transactions that all ended (mined, or cancelled in their place), as JSON.
    async fn answer(&self, state: &AppState, results: &[(SentTx, Outcome)]) -> AppResult<serde_json::Value> {
        let json = match self {
            Recipe::Wrap(recipe) => serde_json::to_value(recipe.answer(results)),
            Recipe::Approve(recipe) => serde_json::to_value(recipe.answer(results)),
            Recipe::Send(recipe) => serde_json::to_value(recipe.answer(results)),
            Recipe::Swap(recipe) => serde_json::to_value(recipe.answer(state, results).await?),
        };
        json.map_err(AppError::internal)
    }
}

/// Keeps `recipe` with the request being served, before it sends anything; a request without an
/// Idempotency-Key keeps nothing, since nothing can ask for its answer again.
pub async fn keep(state: &AppState, recipe: Recipe) -> AppResult<()> {
    let Some(key) = chains::tx::current_request_key() else { return Ok(()) };
    let json = serde_json::to_string(&recipe).map_err(AppError::internal)?;
    Ok(state.storage().keep_recipe(&key, &json).await?)
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
    let recipe: Recipe = serde_json::from_str(&recipe).map_err(AppError::internal)?;
    let config = state.config();
    let mut results = Vec::with_capacity(sent.len());
    for tx in sent {
        let network = state.ethereum().network(&config, &tx.network)?;
        let mut sent = SentTx { hash: tx.hash, nonce: tx.nonce, sender: tx.sender };
        let (receipt, cancelled) = match inquiry::fate(state.ethereum().sender.ledger(), &network, tx.hash).await? {
            Fate::Mined { receipt, .. } => (receipt, false),
            Fate::Replaced { by, receipt } => (receipt, by.kind == TxKind::Cancel),
            Fate::InPool { .. } => return Ok(Recovered::Pending(tx.hash)),
            // Not seen by this node now; the ledger still expects it (or a node that lags lost sight of it).
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
