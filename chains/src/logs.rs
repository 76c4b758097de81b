//! Log scans a provider accepts: providers cap `eth_getLogs` by block range or by result count, and refuse a
//! larger ask outright ("query exceeds max block range", "query returned more than 10000 results", -32005). A
//! scan asks for the whole range first and halves the range each time a node refuses it as too large.

use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::transports::{RpcError, TransportErrorKind};

use crate::error::ChainError;
use crate::network::Network;

/// Whether a node refused a log query for its size: in so many words, or EIP-1474's -32005 "limit exceeded"
/// when it is not a rate limit.
fn refused_as_too_large(error: &RpcError<TransportErrorKind>) -> bool {
    let RpcError::ErrorResp(payload) = error else { return false };
    let generic = payload.code == -32005 || payload.message.to_lowercase().contains("limit exceeded");
    crate::rpc::says_too_large(&payload.message) || (generic && !crate::rpc::is_rate_limit(payload))
}

/// The latest blocks a kept scan reads again: logs there may have been reorganised away since.
const REORG_MARGIN: u64 = 64;

/// The logs of `filter` over blocks `from..=to`, reading only what an earlier scan of the same filter on this
/// network did not (and its last [`REORG_MARGIN`] blocks again): a wallet's second look at its positions reads the
/// new blocks only.
pub async fn scan_incremental(network: &Network, filter: &Filter, from: u64, to: u64) -> Result<Vec<Log>, ChainError> {
    let key = serde_json::to_string(filter).map_err(|e| ChainError::Node(format!("a log filter: {e}")))?;
    let kept = network.scans.lock().expect("scans").get(&key).cloned();
    let (mut logs, start) = match kept {
        Some((scanned_to, logs)) if scanned_to >= from => {
            let start = scanned_to.saturating_sub(REORG_MARGIN).max(from);
            (logs.into_iter().filter(|log| log.block_number.is_some_and(|block| block < start)).collect(), start)
        }
        _ => (Vec::new(), from),
    };
    if start <= to {
        logs.extend(scan(network, filter, start, to).await?);
        network.scans.lock().expect("scans").insert(key, (to, logs.clone()));
    }
    logs.retain(|log| log.block_number.is_none_or(|block| block <= to));
    Ok(logs)
}

/// The logs of `filter` over blocks `from..=to`, in as few requests as the node accepts.
pub async fn scan(network: &Network, filter: &Filter, from: u64, to: u64) -> Result<Vec<Log>, ChainError> {
    let mut logs = Vec::new();
    let mut start = from;
    let mut span = to.saturating_sub(from).saturating_add(1);
    while start <= to {
        let end = start.saturating_add(span - 1).min(to);
        let asked = filter.clone().from_block(start).to_block(end);
        match logs_through(network, &asked, end).await {
            Ok(found) => {
                logs.extend(found);
                start = end + 1;
            }
            Err(error) if span > 1 && refused_as_too_large(&error) => span = span.div_ceil(2),
            Err(error) => return Err(network.rpc_error(error)),
        }
    }
    Ok(logs)
}

/// The logs a filter ending at block `end` finds, from a node whose head has reached `end`: a node behind the
/// others of a load balancer answers only up to its head, without saying so, so its head is asked in the same
/// request, and a short answer asked again.
async fn logs_through(network: &Network, filter: &Filter, end: u64) -> Result<Vec<Log>, RpcError<TransportErrorKind>> {
    let mut short = 0;
    for _ in 0..crate::network::CURRENT_ASKS {
        let mut batch = alloy::rpc::client::BatchRequest::new(network.provider().client());
        let head = batch.add_call::<_, alloy::primitives::U64>("eth_blockNumber", &[(); 0])?;
        let logs = batch.add_call::<_, Vec<Log>>("eth_getLogs", &(filter,))?;
        batch.send().await?;
        let (head, logs) = (head.await?.to::<u64>(), logs.await?);
        if head >= end {
            return Ok(logs);
        }
        short = head;
    }
    Err(RpcError::local_usage_str(&format!(
        "every node asked is behind block {end} (at {short}): the logs up to it cannot be read yet; try again"
    )))
}

#[cfg(test)]
mod tests {
    use alloy::rpc::json_rpc::ErrorPayload;

    use super::*;
    use crate::rpc::node_error as refusal;

    #[test]
    fn each_providers_refusal_for_size_is_told_from_other_errors() {
        for (code, message) in [
            (-32000, "query exceeds max block range 1000"),
            (-32005, "query returned more than 10000 results"),
            (-32602, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range"),
            (-32614, "eth_getLogs is limited to a 10,000 range"),
        ] {
            assert!(refused_as_too_large(&refusal(code, message)), "{message}");
        }
        assert!(!refused_as_too_large(&refusal(-32000, "header not found")));
        // -32005 is a rate limit too: the wording tells which, and the transport retries only the rate limit.
        assert!(!refused_as_too_large(&refusal(-32005, "rate limit exceeded: too many requests")));
        for (code, message, rate_limit) in [
            (-32005, "query returned more than 10000 results", false),
            (-32005, "query exceeds max block range 1000", false),
            (-32005, "rate limit exceeded: too many requests", true),
            (-32005, "Limit exceeded", true),
            (429, "Too Many Requests", true),
        ] {
            let payload = ErrorPayload { code, message: message.to_string().into(), data: None };
            assert_eq!(crate::rpc::is_rate_limit(&payload), rate_limit, "{message}");
        }
        let behind = |message: &str| ErrorPayload { code: -32000, message: message.to_string().into(), data: None };
        assert!(crate::rpc::is_behind(&behind("header not found")));
        assert!(crate::rpc::is_behind(&behind("BlockOutOfRangeError: block height is 238 but requested was 240")));
        assert!(!crate::rpc::is_behind(&behind("execution reverted")));
        assert!(!refused_as_too_large(&refusal(-32602, "invalid argument 0: hex string without 0x prefix")));
    }
}
