//! Many reads in one `eth_call`, through Multicall3 (at the same address on every network it is deployed to).

use alloy::primitives::{Address, Bytes};

use crate::contracts::{IMulticall3, MULTICALL3};
use crate::error::ChainError;
use crate::network::Network;

/// One `eth_call` running every call through Multicall3 (at `block`, or the latest); each result is `None`
/// where that call failed.
pub async fn multicall(
    network: &Network,
    calls: Vec<(Address, Bytes)>,
    block: Option<u64>,
) -> Result<Vec<Option<Bytes>>, ChainError> {
    if calls.is_empty() {
        return Ok(vec![]);
    }
    let calls = calls
        .into_iter()
        .map(|(target, call_data)| IMulticall3::Call3 { target, allowFailure: true, callData: call_data })
        .collect();
    // At the highest block seen (never a node's "latest", which behind a load balancer may be older than what
    // an earlier answer or a receipt showed): a node that lacks it says so, and is asked again.
    let block = match block {
        Some(block) => block,
        None => network.latest_block().await?,
    };
    let multicall = IMulticall3::new(MULTICALL3, network.provider());
    let request = multicall.aggregate3(calls).block(alloy::eips::BlockId::number(block));
    let results = request.call().await.map_err(|e| match e {
        alloy::contract::Error::TransportError(e) => network.rpc_error(e),
        other => ChainError::Node(format!("Multicall3: {other}")),
    })?;
    Ok(results.into_iter().map(|r| r.success.then_some(r.returnData)).collect())
}
