//! A call run before it is signed: it must succeed on the latest state, with the gas limit it will be signed
//! with. A node's gas estimate runs the call many times over (a search for the least gas that works); a call of
//! the same shape as one sent before is instead run once, at the limit that one was signed with, and succeeding
//! there is what the estimate would have established. Anything else (a first call, a call that fails at the
//! remembered limit, a chain whose gas carries a moving L1 share) is estimated as before.

use std::collections::HashMap;
use std::sync::Mutex;

use alloy::network::TransactionBuilder;
use alloy::primitives::Address;
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::transports::RpcError;

use super::call::Call;
use crate::error::ChainError;
use crate::network::Network;

/// What a call's gas need goes by: the network (its [`Network::instance`]), the contract, the function and the
/// length of the arguments (a route of more hops, a multicall of more steps, is longer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CallShape {
    network: u64,
    to: Address,
    selector: [u8; 4],
    length: usize,
}

impl CallShape {
    fn of(network: u64, call: &Call) -> CallShape {
        let mut selector = [0; 4];
        let prefix = call.data.len().min(4);
        selector[..prefix].copy_from_slice(&call.data[..prefix]);
        CallShape { network, to: call.to, selector, length: call.data.len() }
    }
}

/// The gas limit each shape of call was last signed with. Bounded: past [`REMEMBERED`] shapes it starts over.
#[derive(Debug, Default)]
pub struct GasLimits(Mutex<HashMap<CallShape, u64>>);

/// Shapes of call remembered at most (a few per router and function in practice).
const REMEMBERED: usize = 1024;

impl GasLimits {
    /// The limit a call of this shape was last signed with on `network`, where a remembered limit holds (not
    /// where gas carries a moving L1 share).
    pub(super) fn recall_on(&self, network: &Network, call: &Call) -> Option<u64> {
        self.recall(network.instance(), call).filter(|_| !network.settings().gas.rules.l1_in_gas)
    }

    fn recall(&self, network: u64, call: &Call) -> Option<u64> {
        self.0.lock().expect("gas limits").get(&CallShape::of(network, call)).copied()
    }

    fn remember(&self, network: u64, call: &Call, limit: u64) {
        let mut limits = self.0.lock().expect("gas limits");
        if limits.len() >= REMEMBERED {
            limits.clear();
        }
        limits.insert(CallShape::of(network, call), limit);
    }
}

/// Runs the call against the latest state and returns the gas limit to sign it with; a revert is an error and
/// nothing is sent. Never against an older state a lagging node calls its latest.
pub async fn simulate(limits: &GasLimits, network: &Network, from: Address, call: &Call) -> Result<u64, ChainError> {
    let request = call.request(from);
    if let Some(limit) = limits.recall_on(network, call) {
        let (called, _) = network
            .call_latest(&request.clone().with_gas_limit(limit), false)
            .await
            .map_err(|e| network.rpc_error(e))?;
        if called.is_ok() {
            return Ok(limit);
        }
        // Out of gas at that limit, or a revert: the estimate below tells which, and why.
    }
    // Both at once: the call's error carries the clearer revert reason, so it is looked at first.
    let (called, estimate) = network.call_latest(&request, true).await.map_err(|e| network.rpc_error(e))?;
    called.map_err(|e| revert_or_rpc(network, e))?;
    let estimate = estimate.expect("estimated as asked").map_err(|e| revert_or_rpc(network, e))?;
    // Estimates can fall short when state moves between estimate and inclusion; unused gas is not charged.
    let limit = estimate + estimate / 4;
    limits.remember(network.instance(), call, limit);
    Ok(limit)
}

fn revert_or_rpc(network: &Network, error: RpcError<alloy::transports::TransportErrorKind>) -> ChainError {
    match error {
        RpcError::ErrorResp(payload) if !crate::rpc::is_rate_limit(&payload) => {
            ChainError::Reverted { reason: revert_reason(&payload) }
        }
        other => network.rpc_error(other),
    }
}

/// The revert's reason string, a panic's description, a custom error (named where known), or the node's message.
pub fn revert_reason(payload: &ErrorPayload) -> String {
    payload
        .as_revert_data()
        .and_then(|data| super::revert::reason(&data))
        .unwrap_or_else(|| crate::rpc::node_text(&payload.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gas_limit_is_recalled_only_for_a_call_of_the_same_shape_on_the_same_network() {
        let limits = GasLimits::default();
        let router = Address::repeat_byte(1);
        let swap = Call::new(router, vec![0x5a, 0xe4, 0x01, 0xdc, 0, 0, 0, 1]);
        limits.remember(7, &swap, 150_000);
        let same_shape_other_amount = Call::new(router, vec![0x5a, 0xe4, 0x01, 0xdc, 0, 0, 0, 9]);
        assert_eq!(limits.recall(7, &same_shape_other_amount), Some(150_000));
        assert_eq!(limits.recall(8, &swap), None, "another network");
        assert_eq!(limits.recall(7, &Call::new(Address::repeat_byte(2), swap.data.clone())), None, "another contract");
        assert_eq!(limits.recall(7, &Call::new(router, vec![0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1])), None);
        assert_eq!(limits.recall(7, &Call::new(router, vec![0x5a, 0xe4, 0x01, 0xdc, 0, 0, 0, 1, 2])), None);
        assert_eq!(limits.recall(7, &Call::cancel(router)), None, "a plain transfer has a shape of its own");
        limits.remember(7, &same_shape_other_amount, 180_000);
        assert_eq!(limits.recall(7, &swap), Some(180_000), "the last limit signed stands");
    }

    #[test]
    fn remembered_shapes_are_bounded() {
        let limits = GasLimits::default();
        for n in 0..=REMEMBERED {
            limits.remember(1, &Call::new(Address::ZERO, vec![0; n]), 21_000);
        }
        assert!(limits.0.lock().unwrap().len() <= REMEMBERED);
        assert_eq!(limits.recall(1, &Call::new(Address::ZERO, vec![0; REMEMBERED])), Some(21_000));
    }
}
