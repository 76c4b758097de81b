//! Many reads in one `eth_call`, through Multicall3 (at the same address on every network it is deployed to).

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolCall;

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
    let calls: Vec<IMulticall3::Call3> = calls
        .into_iter()
        .map(|(target, call_data)| IMulticall3::Call3 { target, allowFailure: true, callData: call_data })
        .collect();
    if let Some(block) = block {
        return aggregate(network, calls, Some(block)).await;
    }
    // At the node's latest, which says in the same call which block it is: a node behind the highest block seen
    // (behind a load balancer) is asked again, so no read goes back in time; the last answer stands after a few.
    let head = IMulticall3::Call3 {
        target: MULTICALL3,
        allowFailure: true,
        callData: IMulticall3::getBlockNumberCall {}.abi_encode().into(),
    };
    for _ in 0..crate::network::CURRENT_ASKS {
        let mut results = aggregate(network, [vec![head.clone()], calls.clone()].concat(), None).await?;
        let at = results.remove(0).and_then(|data| IMulticall3::getBlockNumberCall::abi_decode_returns(&data).ok());
        match at.map(|block| block.saturating_to::<u64>()) {
            // A Multicall3 that cannot say: its answer stands.
            None => return Ok(results),
            Some(at) if at >= network.known_block().unwrap_or_default() => {
                network.saw_block(at);
                return Ok(results);
            }
            Some(_) => {}
        }
    }
    // Every answer came from behind: asked at the highest block seen, which a node lacking it refuses (and the
    // transport asks again).
    let highest = network.latest_block().await?;
    aggregate(network, calls, Some(highest)).await
}

async fn aggregate(
    network: &Network,
    calls: Vec<IMulticall3::Call3>,
    block: Option<u64>,
) -> Result<Vec<Option<Bytes>>, ChainError> {
    let multicall = IMulticall3::new(MULTICALL3, network.provider());
    let mut request = multicall.aggregate3(calls);
    if let Some(block) = block {
        request = request.block(alloy::eips::BlockId::number(block));
    }
    let results = request.call().await.map_err(|e| match e {
        alloy::contract::Error::TransportError(e) => network.rpc_error(e),
        other => ChainError::Node(format!("Multicall3: {other}")),
    })?;
    Ok(results.into_iter().map(|r| r.success.then_some(r.returnData)).collect())
}
