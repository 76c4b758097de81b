//! Log scans a provider accepts: providers cap `eth_getLogs` by block range or by result count, and refuse a
//! larger ask outright ("query exceeds max block range", "query returned more than 10000 results", -32005). A
//! scan asks for the whole range first and halves the range each time a node refuses it as too large.

use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::transports::{RpcError, TransportErrorKind};

use crate::error::ChainError;
use crate::network::Network;

/// Lowercased wordings of a refusal for size: geth and erigon ("query exceeds max block range", "query returned
/// more than 10000 results"), Alchemy ("log response size exceeded", "block range"), Infura ("query returned more
/// than"), QuickNode ("eth_getLogs is limited to a 10,000 range"), and EIP-1474's -32005 "limit exceeded".
const TOO_LARGE: [&str; 6] =
    ["block range", "max block range", "more than", "response size", "is limited to", "limit exceeded"];

/// Whether a node refused a log query for its size.
fn refused_as_too_large(error: &RpcError<TransportErrorKind>) -> bool {
    let RpcError::ErrorResp(payload) = error else { return false };
    let message = payload.message.to_lowercase();
    payload.code == -32005 || TOO_LARGE.iter().any(|wording| message.contains(wording))
}

/// The logs of `filter` over blocks `from..=to`, in as few requests as the node accepts.
pub async fn scan(network: &Network, filter: &Filter, from: u64, to: u64) -> Result<Vec<Log>, ChainError> {
    let mut logs = Vec::new();
    let mut start = from;
    let mut span = to.saturating_sub(from).saturating_add(1);
    while start <= to {
        let end = start.saturating_add(span - 1).min(to);
        let asked = filter.clone().from_block(start).to_block(end);
        match network.provider().get_logs(&asked).await {
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

#[cfg(test)]
mod tests {
    use alloy::rpc::json_rpc::ErrorPayload;

    use super::*;

    fn refusal(code: i64, message: &str) -> RpcError<TransportErrorKind> {
        RpcError::ErrorResp(ErrorPayload { code, message: message.to_string().into(), data: None })
    }

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
        assert!(!refused_as_too_large(&refusal(-32602, "invalid argument 0: hex string without 0x prefix")));
    }
}
