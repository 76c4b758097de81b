//! The fees the market calls for now, as the network's config and its node say: what a send prices under the caps
//! ([`crate::gas`]), what `estimate-gas` reports, and what quotes count an order's gas at.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{U64, U128};
use alloy::providers::Provider;
use alloy::rpc::client::BatchRequest;
use alloy::rpc::types::FeeHistory;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::error::ChainError;
use crate::gas::{Fees, MarketFees, capped, gwei_to_wei};
use crate::network::Network;

/// How long after a send the market's fees are read as each block comes: a bot trading sends again within it.
/// On a network whose blocks come faster than the poller looks (every second for a remote node), a read a poll.
const READ_AHEAD_FOR: Duration = Duration::from_secs(60);

/// The fees the configuration and the node call for in the latest block, before caps: read once a block (the
/// block poller's latest), however many sends and quotes ask meanwhile. A base fee moves only with a block, and a
/// node suggests a tip from recent blocks, so a second read in the same block would tell nothing new; it would
/// only put another request to the node in the way of a send.
pub async fn market_fees(network: &Network) -> Result<MarketFees, ChainError> {
    network.once_a_block(&network.market_fees, || read_in_block(network)).await
}

/// Keeps the market's fees read for the next [`READ_AHEAD_FOR`]: now, without waiting, and again as soon as each
/// new block is seen. A send then finds its block's fees read, or being read since the block was seen, instead of
/// reading them on its own way to the node (measured: the read was what the write-ahead record waited on). One
/// reader a network; a call while it runs only extends its time.
pub fn read_ahead(network: &Arc<Network>) {
    let until = Instant::now() + READ_AHEAD_FOR;
    if network.fees_read_ahead.lock().expect("fee reader").replace(until).is_some() {
        return;
    }
    let network = network.clone();
    tokio::spawn(async move {
        // A read that fails is asked again by the send, which tells why.
        let _ = market_fees(&network).await;
        follow_blocks(Arc::downgrade(&network)).await;
    });
}

/// Reads the market's fees in each new block while a send asked for them lately; ends with the network (a config
/// change drops it), when no send asked for [`READ_AHEAD_FOR`], or when blocks are not followed (the node could
/// not tell its latest: the next send starts over).
async fn follow_blocks(network: Weak<Network>) {
    let mut blocks = network.upgrade().and_then(|network| network.blocks());
    loop {
        let new_block = match blocks.as_mut() {
            Some(blocks) => blocks.changed().await.is_ok(),
            None => false,
        };
        let Some(network) = network.upgrade() else { return };
        {
            let mut until = network.fees_read_ahead.lock().expect("fee reader");
            if !new_block || until.is_none_or(|until| Instant::now() > until) {
                *until = None;
                return;
            }
        }
        let _ = market_fees(&network).await;
    }
}

/// The fees the configuration and the node call for now, before caps, read afresh: what a replacement outbids
/// (the market moving is why one is sent, and a test node moves it without a block).
pub async fn read_market_fees(network: &Network) -> Result<MarketFees, ChainError> {
    read_in_block(network).await.map(|(fees, _)| fees)
}

/// [`read_market_fees`], and the block they are of when the node told it.
async fn read_in_block(network: &Network) -> Result<(MarketFees, Option<u64>), ChainError> {
    let gas = &network.settings().gas;
    let rules = gas.rules;
    if let Some(price) = gas.gas_price_gwei.filter(|_| rules.min_tip == 0) {
        return Ok((MarketFees::Legacy { gas_price: gwei_to_wei(price) }, None));
    }
    let provider = network.provider();
    // A legacy price on a chain with a tip floor: its tip is what is left over the base fee (Bor wants base fee
    // plus 25 gwei, networks.md §8). BSC's base fee is always 0, so its node price needs only the floor.
    if rules.legacy && gas.gas_price_gwei.is_none() {
        let gas_price = provider.get_gas_price().await.map_err(|e| network.rpc_error(e))?;
        return Ok((MarketFees::Legacy { gas_price: gas_price.max(rules.min_tip) }, None));
    }
    let node_tip = rules.tip_collected && gas.priority_fee_gwei.is_none() && gas.gas_price_gwei.is_none();
    let asked = ask_node(network, gas.base_fee_gwei.is_none(), node_tip).await?;
    let base_fee = match gas.base_fee_gwei {
        Some(gwei) => Some(gwei_to_wei(gwei)),
        None => asked.base_fee,
    };
    if let Some(price) = gas.gas_price_gwei {
        let floor = base_fee.unwrap_or_default().saturating_add(rules.min_tip);
        return Ok((MarketFees::Legacy { gas_price: gwei_to_wei(price).max(floor) }, asked.block));
    }
    let Some(base_fee) = base_fee else {
        // A chain without EIP-1559: the node's gas price.
        let gas_price = provider.get_gas_price().await.map_err(|e| network.rpc_error(e))?;
        return Ok((MarketFees::Legacy { gas_price: gas_price.max(rules.min_tip) }, None));
    };
    let tip = match gas.priority_fee_gwei {
        _ if !rules.tip_collected => 0,
        Some(gwei) => gwei_to_wei(gwei).max(rules.min_tip),
        // Nodes' suggestions under a chain's floor have been seen (Polygon): the floor wins.
        None => asked.tip?.max(rules.min_tip),
    };
    let max_base_fee = (base_fee as f64 * gas.base_fee_multiplier).ceil() as u128;
    Ok((MarketFees::Eip1559 { base_fee, max_base_fee, tip }, asked.block))
}

/// What the node said of the fees.
struct Asked {
    /// The base fee inclusion needs: the latest block's, or the next block's from the fee history when higher (a
    /// base fee can move 12.5 % a block on Ethereum). `None` on a chain without EIP-1559, or when not asked.
    base_fee: Option<u128>,
    /// The node's suggested tip (0 when not asked); its failure matters only where it is used (a chain without
    /// EIP-1559 uses none).
    tip: Result<u128, ChainError>,
    /// The latest block's number, when it was asked for.
    block: Option<u64>,
}

/// Asks the node, in one request, for what the config does not fix: the latest block (whether the chain has
/// EIP-1559 at all) and its fee history when `base_fee`, the suggested tip when `tip`.
async fn ask_node(network: &Network, base_fee: bool, tip: bool) -> Result<Asked, ChainError> {
    let rpc = |e| network.rpc_error(e);
    if !base_fee && !tip {
        return Ok(Asked { base_fee: None, tip: Ok(0), block: None });
    }
    let mut batch = BatchRequest::new(network.provider().client());
    let mut blocks = None;
    if base_fee {
        let latest = batch
            .add_call::<_, Option<alloy::rpc::types::Block>>("eth_getBlockByNumber", &(BlockNumberOrTag::Latest, false))
            .map_err(rpc)?;
        let history = batch
            .add_call::<_, FeeHistory>("eth_feeHistory", &(U64::from(1), BlockNumberOrTag::Latest, [0f64; 0]))
            .map_err(rpc)?;
        blocks = Some((latest, history));
    }
    let suggested = match tip {
        true => Some(batch.add_call::<_, U128>("eth_maxPriorityFeePerGas", &[(); 0]).map_err(rpc)?),
        false => None,
    };
    batch.send().await.map_err(rpc)?;
    let (base_fee, block) = match blocks {
        Some((latest, history)) => {
            let latest =
                latest.await.map_err(rpc)?.ok_or_else(|| ChainError::Node("the node has no latest block".into()))?;
            let next = history.await.ok().and_then(|history| history.next_block_base_fee());
            let base_fee =
                latest.header.base_fee_per_gas.map(|latest| u128::from(latest).max(next.unwrap_or_default()));
            (base_fee, Some(latest.header.number))
        }
        None => (None, None),
    };
    let tip = match suggested {
        Some(suggested) => suggested.await.map(|tip| tip.to::<u128>()).map_err(rpc),
        None => Ok(0),
    };
    Ok(Asked { base_fee, tip, block })
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

/// What a transaction pays per gas now (base fee plus tip, or the gas price): what quotes price an order's gas at.
pub async fn price_per_gas(network: &Network) -> Result<u128, ChainError> {
    Ok(market_fees(network).await?.needed())
}
