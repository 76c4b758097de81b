//! The use cases' one way to send a transaction and wait for it: what a client is answered is what the chain
//! did. Mined and succeeded (or cancelled in its place, which the caller reports): the outcome. Mined and
//! reverted: why, as far as replaying it tells. Not mined in time: the hash, which the ledger keeps tracking.

use alloy::signers::local::PrivateKeySigner;
use chains::network::Network;
use chains::tx::inquiry::replayed;
use chains::tx::revert::RevertKind;
use chains::tx::{Call, Mined, Outcome, SentTx};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What a route needs, besides its transactions' outcomes, to build its answer: kept with the request's
/// Idempotency-Key before anything is sent, so that a retry after the gateway stopped mid-request gets the
/// route's own answer ([`crate::app::recovery`]).
pub trait Recipe: serde::Serialize {
    /// The route's name in what is kept (a variant of `recovery::Kept`).
    const ROUTE: &'static str;
}

/// Keeps `recipe` with the request being served, before it sends anything; a request without an
/// Idempotency-Key keeps nothing, since nothing can ask for its answer again.
pub async fn keep<R: Recipe>(state: &AppState, recipe: &R) -> AppResult<()> {
    let Some(key) = chains::tx::current_request_key() else { return Ok(()) };
    let mut kept = serde_json::to_value(recipe).map_err(AppError::internal)?;
    kept["route"] = R::ROUTE.into();
    Ok(state.storage().keep_recipe(&key, &kept.to_string()).await?)
}

pub async fn send_and_settle(
    state: &AppState,
    network: &std::sync::Arc<Network>,
    signer: &PrivateKeySigner,
    call: &Call,
    label: &str,
) -> AppResult<(SentTx, Outcome)> {
    send_checked(state, network, signer, call, label, std::future::ready(Ok(()))).await
}

/// Sends `call` once `checks` pass (the wallet's funds and allowances): they run while the call is simulated and
/// priced, and the wallet's lock taken, so they add no time of their own. A failed check is the answer, clearer
/// than the simulation's revert would be, and nothing is sent. Checks ask the node, never the database: on
/// PostgreSQL the lock holds a pooled connection meanwhile, and sends waiting on a second one could starve the pool.
pub async fn send_checked(
    state: &AppState,
    network: &std::sync::Arc<Network>,
    signer: &PrivateKeySigner,
    call: &Call,
    label: &str,
    checks: impl std::future::Future<Output = AppResult<()>>,
) -> AppResult<(SentTx, Outcome)> {
    let sender = &state.ethereum().sender;
    let mut refusal = None;
    let ready = async {
        match tokio::join!(checks, sender.prepare(network, signer.address(), call)) {
            (Ok(()), Ok(prepared)) => Some(prepared),
            (Err(error), _) => {
                refusal = Some(error);
                None
            }
            (_, Err(error)) => {
                refusal = Some(error.into());
                None
            }
        }
    };
    let sent = Box::pin(sender.send_when_ready(network, signer, call, label, ready)).await?;
    let (sent, outcome) = match sent {
        Some(sent) => sent,
        None => return Err(refusal.expect("not ready means refused")),
    };
    match &outcome {
        Outcome::Pending => {
            Err(AppError::TimedOut { hash: sent.hash, waited_ms: network.settings().tx_timeout.as_millis() as u64 })
        }
        Outcome::Mined(mined) if !mined.status() => Err(reverted(network, &sent, call, mined).await),
        Outcome::Mined(_) | Outcome::Cancelled(_) => Ok((sent, outcome)),
    }
}

/// The refusal of a transaction that was mined and reverted: why, as far as replaying its call on the state its
/// block left tells.
pub async fn reverted(network: &Network, sent: &SentTx, call: &Call, mined: &Mined) -> AppError {
    let block = mined.block_number.unwrap_or_default();
    let reason = replayed(network, sent.sender, call, block).await;
    let kind = reason.as_deref().map_or(RevertKind::Other, RevertKind::of);
    let reason = reason.unwrap_or_else(|| "its call succeeds when replayed on its block's state".into());
    AppError::Failed { hash: sent.hash, reason, kind }
}
