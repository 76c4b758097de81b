//! A call made ready to sign: simulated for the gas limit it is signed with, and priced under the network's caps
//! at the market's fees of the latest block.

use alloy::primitives::Address;

use super::call::Call;
use super::simulation::{self, GasLimits};
use crate::error::ChainError;
use crate::fee_market::market_fees;
use crate::gas::{self, FeeCaps, Fees, MarketFees};
use crate::network::Network;

/// A call simulated and priced: the gas limit and fees it is signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    pub gas_limit: u64,
    pub fees: Fees,
}

/// Simulates and prices under the caps. A revert or a cap in the way is an error.
pub async fn prepare(
    limits: &GasLimits,
    network: &Network,
    from: Address,
    call: &Call,
) -> Result<Prepared, ChainError> {
    let (gas_limit, (market, caps)) = tokio::try_join!(
        simulation::simulate(limits, network, from, call),
        market_and_caps(network, call, market_fees(network))
    )?;
    Ok(Prepared { gas_limit, fees: gas::offer(&market, gas_limit, &caps)? })
}

/// What [`prepare`] gives for a call of a shape sent before if the call succeeds at the gas limit that one was
/// signed with, known before the simulation tells whether it does. `None` for any other call, or one a cap refuses
/// (preparing it tells why).
pub async fn recalled(limits: &GasLimits, network: &Network, call: &Call) -> Option<Prepared> {
    let gas_limit = limits.recall_on(network, call)?;
    let (market, caps) = market_and_caps(network, call, market_fees(network)).await.ok()?;
    Some(Prepared { gas_limit, fees: gas::offer(&market, gas_limit, &caps).ok()? })
}

/// The market's fees, as `market` reads them, and the network's caps less the L1 data fee `call` adds.
pub async fn market_and_caps(
    network: &Network,
    call: &Call,
    market: impl std::future::Future<Output = Result<MarketFees, ChainError>>,
) -> Result<(MarketFees, FeeCaps), ChainError> {
    let (market, l1_fee) = tokio::try_join!(market, crate::l1_fee::bound(network, call.data.len()))?;
    Ok((market, network.settings().fee_caps.after_l1_fee(l1_fee.unwrap_or_default())?))
}
