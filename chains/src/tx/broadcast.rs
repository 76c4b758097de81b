//! Posting signed bytes to a node, and what it said: whether it holds the transaction (and, from a node that
//! answers a post once the transaction is mined, its receipt), or why it refused it.

use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U64};
use alloy::providers::Provider;
use alloy::rpc::client::BatchRequest;
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::rpc::types::{Transaction, TransactionReceipt};
use alloy::transports::{RpcError, TransportError, TransportErrorKind};

use super::refusal::{Refusal, classify};
use crate::error::ChainError;
use crate::network::{CURRENT_ASKS, Network};

/// What the node said to a broadcast.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Broadcast {
    /// It holds the transaction (taken now, or by an earlier post of the same bytes); with the receipt when the
    /// node answered once it was mined.
    Taken(Option<Box<TransactionReceipt>>),
    /// It refused the transaction, which it does not hold.
    Refused(Refusal, String),
}

/// How long a post that waits for its receipt is given, the wallet's lock held: a node that mines at once (a
/// local one, a chain of sub-second blocks) answers within it. Past it the node is taken to be waiting for a
/// block, and the transaction is settled and waited for as after a plain post.
const SYNC_GRACE: Duration = Duration::from_millis(25);

/// Posts the bytes with `eth_sendRawTransactionSync` (EIP-7966: anvil, geth from 1.16.6, erigon from 3.4), which
/// answers with the receipt once the transaction is mined: that receipt, if it came within [`SYNC_GRACE`].
/// Anything else (no block yet, a refusal, a node without the method) is left to the plain post that follows:
/// the same bytes again, which a node that took them answers as known, or refuses for the same reason.
async fn post_sync(network: &Network, raw: &Bytes) -> Option<TransactionReceipt> {
    match tokio::time::timeout(SYNC_GRACE, network.provider().send_raw_transaction_sync(raw)).await {
        Ok(Ok(receipt)) => Some(receipt),
        Ok(Err(error)) => {
            if lacks_method(&error) {
                tracing::info!(
                    network = network.name(),
                    "the node has no eth_sendRawTransactionSync; receipts are polled for"
                );
                network.lacks_sync_send();
            }
            None
        }
        Err(_) => None,
    }
}

/// Whether a node answered that it has no such method: JSON-RPC's "method not found", or a provider's refusal
/// of the request itself (an HTTP 4xx other than 429).
fn lacks_method(error: &RpcError<TransportErrorKind>) -> bool {
    match error {
        RpcError::ErrorResp(payload) => says_no_method(payload),
        RpcError::Transport(TransportErrorKind::HttpError(http)) => {
            (400..500).contains(&http.status) && http.status != 429
        }
        _ => false,
    }
}

fn says_no_method(payload: &ErrorPayload) -> bool {
    let message = payload.message.to_lowercase();
    payload.code == -32601
        || (message.contains("method")
            && ["not found", "does not exist", "not supported", "unsupported", "not available"]
                .iter()
                .any(|phrase| message.contains(phrase)))
}

/// Posts signed bytes and says whether the node holds them (with the receipt, when `wait` and the node answers
/// a post once it is mined: [`post_sync`]). A refusal is checked against the node: it may
/// refuse bytes it already took (an earlier post that timed out got through and the transport posted them again,
/// "nonce too low" once mined); if it knows the hash, it is this transaction, sent, and signing the call again at
/// the next nonce would do it twice. Where the node cannot be asked, the answer is an error that says the
/// transaction may have been sent: it stays `signed`, the next send from the wallet settles it, and it is never
/// sent again.
pub(super) async fn broadcast(
    network: &Network,
    (hash, raw): (B256, &Bytes),
    placed: (Address, u64),
    wait: bool,
) -> Result<Broadcast, ChainError> {
    if wait
        && network.offers_sync_send()
        && let Some(receipt) = post_sync(network, raw).await
    {
        return Ok(Broadcast::Taken(Some(Box::new(receipt))));
    }
    let provider = network.provider();
    let mut backoff = crate::rpc::RateLimitBackoff::default();
    // Refused for too many requests (the node did not take the bytes), or its answer lost on the way (a load
    // balancer's 502, a timeout): the node is asked whether it holds them, and if not the same bytes are posted
    // again (never a new signature or nonce), as patiently as a read.
    let message = loop {
        let error = match provider.send_raw_transaction(raw).await {
            Ok(_) => return Ok(Broadcast::Taken(None)),
            Err(RpcError::ErrorResp(payload)) if !crate::rpc::is_rate_limit(&payload) => {
                break crate::rpc::node_text(&payload.message);
            }
            Err(error) => error,
        };
        let limited = match &error {
            RpcError::ErrorResp(_) => true,
            other => crate::rpc::is_http_rate_limit(other),
        };
        match provider.get_transaction_by_hash(hash).await {
            Ok(Some(_)) => return Ok(Broadcast::Taken(None)),
            Ok(None) => {}
            Err(unanswered) if !limited => return Err(unsure(network, hash, unanswered)),
            Err(_) => {}
        }
        match backoff.next_pause() {
            Some(pause) => tokio::time::sleep(pause).await,
            None if limited => {
                return Ok(Broadcast::Refused(Refusal::RateLimited, crate::rpc::node_text(&error.to_string())));
            }
            None => return Err(unsure(network, hash, error)),
        }
    };
    let refusal = classify(&message);
    if refusal == Refusal::AlreadyKnown {
        return Ok(Broadcast::Taken(None));
    }
    let cannot_say = |detail: String| ChainError::Unreachable {
        network: network.name().to_string(),
        detail: format!(
            "transaction {hash} was refused ({message}) and the node cannot say whether an earlier attempt reached \
             it ({detail}); it is not sent again: poll it"
        ),
    };
    match holds(network, hash, placed).await {
        Ok(Some(true)) => Ok(Broadcast::Taken(None)),
        Ok(Some(false)) => Ok(Broadcast::Refused(refusal, message)),
        Ok(None) => Err(cannot_say("every node asked is behind the one that refused it".into())),
        Err(error) => Err(cannot_say(network.rpc_error(error).to_string())),
    }
}

/// Whether a node holds `hash`, placed at `(sender, nonce)`, after a refusal that may mean an earlier post of it
/// got through ("nonce too low" once it is mined, "replacement underpriced" while it is pending): asked together
/// with the sender's pending count, so the answer comes from a node that knows a transaction at that nonce. One
/// behind the others (a load balancer's lagging node) would take ours for another's, and the send would sign the
/// call again at the next nonce. Asked again while the node answering is behind; `None` if none caught up.
async fn holds(network: &Network, hash: B256, (sender, nonce): (Address, u64)) -> Result<Option<bool>, TransportError> {
    for _ in 0..CURRENT_ASKS {
        let mut batch = BatchRequest::new(network.provider().client());
        let count = batch.add_call::<_, U64>("eth_getTransactionCount", &(sender, "pending"))?;
        let found = batch.add_call::<_, Option<Transaction>>("eth_getTransactionByHash", &(hash,))?;
        batch.send().await?;
        let (count, found) = (count.await?.to::<u64>(), found.await?);
        if found.is_some() {
            return Ok(Some(true));
        }
        if count > nonce {
            return Ok(Some(false));
        }
    }
    Ok(None)
}

/// A send whose outcome the nodes cannot tell: the transaction stays `signed`, and is never sent again.
fn unsure(network: &Network, hash: B256, error: RpcError<alloy::transports::TransportErrorKind>) -> ChainError {
    ChainError::Unreachable {
        network: network.name().to_string(),
        detail: format!(
            "transaction {hash} is signed and recorded but may not have reached a node ({}); it is not sent again: \
             poll it",
            network.rpc_error(error)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::node_error as payload;

    #[test]
    fn a_node_without_the_sync_method_is_told_from_one_refusing_the_transaction() {
        assert!(lacks_method(&payload(-32601, "Method not found")));
        assert!(lacks_method(&payload(
            -32000,
            "the method eth_sendRawTransactionSync does not exist/is not available"
        )));
        assert!(lacks_method(&payload(-32600, "Unsupported method: eth_sendRawTransactionSync")));
        assert!(!lacks_method(&payload(-32000, "nonce too low")));
        assert!(!lacks_method(&payload(-32003, "insufficient funds for gas * price + value")));
        assert!(!lacks_method(&payload(4, "the transaction was added to the mempool but wasn't processed in time")));
    }
}
