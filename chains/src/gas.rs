//! Fees for the next transaction: EIP-1559 (base fee × multiplier + priority fee) or a legacy gas price.

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider;

use crate::error::ChainError;
use crate::network::Network;

pub const GWEI: f64 = 1e9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fees {
    Eip1559 { base_fee: u128, max_fee_per_gas: u128, max_priority_fee_per_gas: u128 },
    Legacy { gas_price: u128 },
}

impl Fees {
    /// The most one unit of gas may cost.
    pub fn max_price(&self) -> u128 {
        match self {
            Fees::Eip1559 { max_fee_per_gas, .. } => *max_fee_per_gas,
            Fees::Legacy { gas_price } => *gas_price,
        }
    }
}

fn gwei_to_wei(gwei: f64) -> u128 {
    (gwei * GWEI).round() as u128
}

/// The fees the configuration and the node call for now.
pub async fn current_fees(network: &Network) -> Result<Fees, ChainError> {
    let gas = &network.settings().gas;
    if let Some(price) = gas.gas_price_gwei {
        return Ok(Fees::Legacy { gas_price: gwei_to_wei(price) });
    }
    let provider = network.provider();
    let latest_base_fee = async {
        match gas.base_fee_gwei {
            Some(gwei) => Ok(Some(gwei_to_wei(gwei))),
            None => provider
                .get_block_by_number(BlockNumberOrTag::Latest)
                .await
                .map_err(|e| network.rpc_error(e))?
                .map(|block| block.header.base_fee_per_gas.map(u128::from))
                .ok_or_else(|| ChainError::Node("the node has no latest block".into())),
        }
    };
    let priority_fee = async {
        match gas.priority_fee_gwei {
            Some(gwei) => Ok(gwei_to_wei(gwei)),
            None => provider.get_max_priority_fee_per_gas().await.map_err(|e| network.rpc_error(e)),
        }
    };
    // Asked together; on a chain without EIP-1559 the priority fee is not used.
    let (base_fee, priority) = tokio::join!(latest_base_fee, priority_fee);
    let Some(base_fee) = base_fee? else {
        // A chain without EIP-1559: the node's gas price.
        let gas_price = provider.get_gas_price().await.map_err(|e| network.rpc_error(e))?;
        return Ok(Fees::Legacy { gas_price });
    };
    let priority = priority?;
    let max_fee = (base_fee as f64 * gas.base_fee_multiplier).ceil() as u128 + priority;
    Ok(Fees::Eip1559 { base_fee, max_fee_per_gas: max_fee, max_priority_fee_per_gas: priority })
}
