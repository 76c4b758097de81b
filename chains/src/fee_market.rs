//! The fees the market calls for now, as the network's config and its node say: what a send prices under the caps
//! ([`crate::gas`]), what `estimate-gas` reports, and what quotes count an order's gas at.

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider;

use crate::error::ChainError;
use crate::gas::{Fees, MarketFees, capped, gwei_to_wei};
use crate::network::Network;

/// The fees the configuration and the node call for now, before caps.
pub async fn market_fees(network: &Network) -> Result<MarketFees, ChainError> {
    let gas = &network.settings().gas;
    let rules = gas.rules;
    if let Some(price) = gas.gas_price_gwei.filter(|_| rules.min_tip == 0) {
        return Ok(MarketFees::Legacy { gas_price: gwei_to_wei(price) });
    }
    let provider = network.provider();
    // A legacy price on a chain with a tip floor: its tip is what is left over the base fee (Bor wants base fee
    // plus 25 gwei, networks.md §8). BSC's base fee is always 0, so its node price needs only the floor.
    if rules.legacy && gas.gas_price_gwei.is_none() {
        let gas_price = provider.get_gas_price().await.map_err(|e| network.rpc_error(e))?;
        return Ok(MarketFees::Legacy { gas_price: gas_price.max(rules.min_tip) });
    }
    let base_fee = async {
        if let Some(gwei) = gas.base_fee_gwei {
            return Ok(Some(gwei_to_wei(gwei)));
        }
        // The latest block tells whether the chain has EIP-1559 at all; the fee history gives the next block's
        // base fee, which is what inclusion needs (a base fee can move 12.5 % a block on Ethereum).
        let (latest, history) = tokio::join!(
            provider.get_block_by_number(BlockNumberOrTag::Latest),
            provider.get_fee_history(1, BlockNumberOrTag::Latest, &[])
        );
        let latest = latest
            .map_err(|e| network.rpc_error(e))?
            .ok_or_else(|| ChainError::Node("the node has no latest block".into()))?
            .header
            .base_fee_per_gas
            .map(u128::from);
        let next = history.ok().and_then(|history| history.next_block_base_fee());
        Ok::<_, ChainError>(latest.map(|latest| latest.max(next.unwrap_or_default())))
    };
    // Nodes' suggestions under a chain's floor have been seen (Polygon): the floor wins.
    let priority_fee = async {
        match gas.priority_fee_gwei {
            _ if !rules.tip_collected => Ok::<_, ChainError>(0),
            Some(gwei) => Ok(gwei_to_wei(gwei).max(rules.min_tip)),
            None => {
                let suggested = provider.get_max_priority_fee_per_gas().await.map_err(|e| network.rpc_error(e))?;
                Ok(suggested.max(rules.min_tip))
            }
        }
    };
    if let Some(price) = gas.gas_price_gwei {
        let floor = base_fee.await?.unwrap_or_default().saturating_add(rules.min_tip);
        return Ok(MarketFees::Legacy { gas_price: gwei_to_wei(price).max(floor) });
    }
    // Asked together; on a chain without EIP-1559 the priority fee is not used.
    let (base_fee, priority) = tokio::join!(base_fee, priority_fee);
    let Some(base_fee) = base_fee? else {
        // A chain without EIP-1559: the node's gas price.
        let gas_price = provider.get_gas_price().await.map_err(|e| network.rpc_error(e))?;
        return Ok(MarketFees::Legacy { gas_price: gas_price.max(rules.min_tip) });
    };
    let max_base_fee = (base_fee as f64 * gas.base_fee_multiplier).ceil() as u128;
    Ok(MarketFees::Eip1559 { base_fee, max_base_fee, tip: priority? })
}

/// What a transaction would offer per gas now (the market's fees under the network's per-gas caps), and what
/// it would pay per gas if included now (base fee plus tip, or the legacy price): the price to report.
pub async fn current_fees(network: &Network) -> Result<(Fees, u128), ChainError> {
    let market = market_fees(network).await?;
    let fees = capped(&market, &network.settings().fee_caps);
    let paid = match (market, fees) {
        (MarketFees::Eip1559 { base_fee, .. }, Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas }) => {
            base_fee.saturating_add(max_priority_fee_per_gas).min(max_fee_per_gas)
        }
        _ => fees.max_price(),
    };
    Ok((fees, paid))
}

/// What a transaction pays per gas now (base fee plus tip, or the gas price), read once per block: what
/// quotes price an order's gas at.
pub async fn price_per_gas(network: &Network) -> Result<u128, ChainError> {
    let block = network.latest_block().await?;
    if let Some(price) = network.quote_gas_price(block) {
        return Ok(price);
    }
    let price = market_fees(network).await?.needed();
    network.remember_quote_gas_price(block, price);
    Ok(price)
}
