//! Fees for the next transaction: EIP-1559 (base fee × multiplier + priority fee) or a legacy gas price, always
//! under the network's caps, and the bumped fees a replacement at the same nonce needs; each chain's rules. What
//! the market asks now is read from the node by [`crate::fee_market`].

use alloy::primitives::U256;

use crate::amount::NATIVE_DECIMALS;
use crate::error::ChainError;

pub const GWEI: f64 = 1e9;

/// What a transaction offers per unit of gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fees {
    Eip1559 { max_fee_per_gas: u128, max_priority_fee_per_gas: u128 },
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

    /// The tip per gas (the whole price for a legacy transaction).
    pub fn tip(&self) -> u128 {
        match self {
            Fees::Eip1559 { max_priority_fee_per_gas, .. } => *max_priority_fee_per_gas,
            Fees::Legacy { gas_price } => *gas_price,
        }
    }
}

/// The L1 fee parameters of one L2 block (L1Block: `basefee`, `blobBaseFee`, `baseFeeScalar`,
/// `blobBaseFeeScalar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1FeeParams {
    pub base_fee: U256,
    pub blob_base_fee: U256,
    pub base_fee_scalar: u32,
    pub blob_base_fee_scalar: u32,
}

/// The fees the market calls for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketFees {
    Eip1559 {
        /// The latest block's base fee (or the configured one).
        base_fee: u128,
        /// The base fee with the config's headroom (`baseFeeMultiplier`) for blocks to come.
        max_base_fee: u128,
        tip: u128,
    },
    Legacy {
        gas_price: u128,
    },
}

impl MarketFees {
    /// The least a transaction must offer per gas to be included now: base fee plus tip, or the gas price.
    pub fn needed(&self) -> u128 {
        match *self {
            MarketFees::Eip1559 { base_fee, tip, .. } => base_fee.saturating_add(tip),
            MarketFees::Legacy { gas_price } => gas_price,
        }
    }

    /// What the config and the node suggest offering, before caps.
    pub fn suggested(&self) -> Fees {
        match *self {
            MarketFees::Eip1559 { max_base_fee, tip, .. } => {
                Fees::Eip1559 { max_fee_per_gas: max_base_fee.saturating_add(tip), max_priority_fee_per_gas: tip }
            }
            MarketFees::Legacy { gas_price } => Fees::Legacy { gas_price },
        }
    }
}

/// How a chain prices transactions beyond plain EIP-1559, by chain id (facts and sources in the reference's
/// networks.md §8); a network's YAML overrides each (`minPriorityFee`, `transactionType`, `l1DataFee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainRules {
    /// The least tip per gas its nodes accept, in wei; for a legacy chain, the least gas price.
    pub min_tip: u128,
    /// Sent as legacy (type 0) transactions at the node's gas price.
    pub legacy: bool,
    /// Whether a tip is ever collected; where it is not, none is offered.
    pub tip_collected: bool,
    /// An L1 data fee is charged on top of gas, priced by the OP-stack GasPriceOracle predeploy.
    pub l1_data_fee: bool,
    /// The gas a transaction needs includes its share of the L1 cost, which moves with L1 prices: a gas limit
    /// is estimated for each transaction, never carried over from an earlier one.
    pub l1_in_gas: bool,
}

impl ChainRules {
    pub const PLAIN: ChainRules =
        ChainRules { min_tip: 0, legacy: false, tip_collected: true, l1_data_fee: false, l1_in_gas: false };

    pub fn for_chain(chain_id: u64) -> ChainRules {
        let plain = ChainRules::PLAIN;
        match chain_id {
            // Polygon PoS and Amoy: Bor nodes refuse a tip under 25 gwei ("transaction gas price below minimum:
            // gas tip cap …, minimum needed 25000000000"): PIP-35, bor PR #1290 (mainnet, 2024-07), erigon #11294.
            137 | 80002 => ChainRules { min_tip: 25_000_000_000, ..plain },
            // BNB Smart Chain: the base fee is always 0, so the price is all tip; validators take 0.05 gwei at
            // least (2025; bsc-erigon #773, BEP-226); Gateway and most wallets send legacy there.
            56 => ChainRules { min_tip: 50_000_000, legacy: true, ..plain },
            // Arbitrum One and Sepolia: a first-come first-served sequencer; the tip is never collected
            // (arbitrum-docs, gas-and-fees), and the L1 share is inside the gas estimate.
            42161 | 421614 => ChainRules { tip_collected: false, l1_in_gas: true, ..plain },
            // Robinhood Chain and its testnet: Arbitrum Orbit (Nitro) chains (docs.robinhood.com/chain/connecting,
            // differences-from-ethereum; l2beat), so the same first-come first-served sequencer and the L1 share
            // inside the gas estimate (docs.robinhood.com/chain/gas-and-fees).
            4663 | 46630 => ChainRules { tip_collected: false, l1_in_gas: true, ..plain },
            // OP stack (Optimism, Base, Unichain, and their Sepolia networks): an L1 data fee on top of gas, from
            // the GasPriceOracle predeploy (OP specs, predeploys.md, fjord/predeploys.md). Celo is OP stack too,
            // but its L1 fee is configured to be always zero (Celo docs, transaction fees): plain.
            10 | 8453 | 130 | 11155420 | 84532 | 1301 => ChainRules { l1_data_fee: true, ..plain },
            _ => plain,
        }
    }
}

/// The most the gateway ever pays on a network. Every transaction it signs is under all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeCaps {
    /// Per gas, base fee plus tip (or the legacy gas price), in wei. Config `gasPriceCap` (gwei).
    pub gas_price_cap: u128,
    /// The tip per gas, in wei. Config `maxPriorityFee` (gwei).
    pub max_priority_fee: u128,
    /// One transaction at its gas limit, in wei of the native currency. Config `maxTxFee`, less `l1_reserved`.
    pub max_tx_fee: U256,
    /// What of `maxTxFee` is kept for an OP-stack chain's L1 data fee (at most), on top of gas.
    pub l1_reserved: U256,
}

impl FeeCaps {
    /// The caps left for gas once `l1_fee` (an OP-stack chain's L1 data fee, at most) is paid out of `maxTxFee`.
    pub fn after_l1_fee(&self, l1_fee: U256) -> Result<FeeCaps, ChainError> {
        if l1_fee.is_zero() {
            return Ok(*self);
        }
        if l1_fee >= self.max_tx_fee {
            return Err(ChainError::FeeCap(format!(
                "this transaction's L1 data fee may reach {}, over maxTxFee {} on its own",
                native(l1_fee),
                native(self.max_tx_fee)
            )));
        }
        Ok(FeeCaps { max_tx_fee: self.max_tx_fee - l1_fee, l1_reserved: l1_fee, ..*self })
    }

    /// `maxTxFee` as configured, and what of it the L1 data fee takes, for refusals.
    fn tx_cap_text(&self) -> String {
        match self.l1_reserved.is_zero() {
            true => format!("maxTxFee {}", native(self.max_tx_fee)),
            false => format!(
                "maxTxFee {} less up to {} of L1 data fee",
                native(self.max_tx_fee + self.l1_reserved),
                native(self.l1_reserved)
            ),
        }
    }

    /// Caps for a network whose config names none: a few times the fees each chain has seen at its busiest, so
    /// a spike or a faulty node is stopped while ordinary congestion is not. (gwei per gas, tip in gwei, and the
    /// native currency per transaction.)
    pub fn default_for(chain_id: u64) -> FeeCaps {
        let (gas_price_cap, max_priority_fee, max_tx_fee) = match chain_id {
            // Ethereum: base fees reached a few hundred gwei in 2021-2023 peaks; a 250k-gas swap at 200 gwei is 0.05 ETH.
            1 => (200.0, 10.0, 0.1),
            // Sepolia: test ether, spikes of thousands of gwei have happened.
            11155111 => (2000.0, 50.0, 1.0),
            // Arbitrum One: base fee floor 0.01 gwei, the tip is never collected (networks.md §8); gas limits
            // include the L1 share, several million gas.
            42161 => (10.0, 1.0, 0.02),
            // Robinhood Chain: an Arbitrum Orbit chain, priced as Arbitrum One is (its own base fee floor is not
            // published).
            4663 | 46630 => (10.0, 1.0, 0.02),
            // OP-stack L2s (Base, Optimism, Unichain): base fees of a few thousandths of a gwei.
            8453 | 10 | 130 => (10.0, 1.0, 0.02),
            // Polygon PoS: 25 gwei minimum tip enforced by Bor (networks.md §8), base fee spikes to thousands of gwei.
            137 => (3000.0, 500.0, 5.0),
            // BNB Smart Chain: gas price 0.05-1 gwei (networks.md §8).
            56 => (20.0, 10.0, 0.02),
            // Avalanche C-chain: base fee floor was 25 gwei before ACP-125, 1 gwei after.
            43114 => (500.0, 50.0, 0.5),
            // Celo: base fee floor 25 gwei.
            42220 => (500.0, 50.0, 1.0),
            // Anything else (a devnet, a fork, a chain added by the user).
            _ => (500.0, 50.0, 1.0),
        };
        FeeCaps {
            gas_price_cap: gwei_to_wei(gas_price_cap),
            max_priority_fee: gwei_to_wei(max_priority_fee),
            max_tx_fee: native_to_wei(max_tx_fee),
            l1_reserved: U256::ZERO,
        }
    }
}

pub fn gwei_to_wei(gwei: f64) -> u128 {
    (gwei * GWEI).round() as u128
}

/// A native-currency amount (as config writes it) in wei.
pub fn native_to_wei(amount: f64) -> U256 {
    U256::from((amount * 1e18).round() as u128)
}

/// The market's fees under the per-gas caps (the tip cut to `maxPriorityFee`, the max fee to `gasPriceCap`):
/// what `estimate-gas` reports. Whether they are enough to be included is [`offer`]'s question.
pub fn capped(market: &MarketFees, caps: &FeeCaps) -> Fees {
    match *market {
        MarketFees::Eip1559 { max_base_fee, tip, .. } => {
            let tip = tip.min(caps.max_priority_fee).min(caps.gas_price_cap);
            Fees::Eip1559 {
                max_fee_per_gas: max_base_fee.saturating_add(tip).min(caps.gas_price_cap).max(tip),
                max_priority_fee_per_gas: tip,
            }
        }
        MarketFees::Legacy { gas_price } => Fees::Legacy { gas_price: gas_price.min(caps.gas_price_cap) },
    }
}

/// The fees a new transaction of `gas_limit` offers: the market's, under every cap. Refused when what inclusion
/// needs now (with the tip cut to its cap) is over a cap: nothing is signed then.
pub fn offer(market: &MarketFees, gas_limit: u64, caps: &FeeCaps) -> Result<Fees, ChainError> {
    let needed = match *market {
        MarketFees::Eip1559 { base_fee, tip, .. } => base_fee.saturating_add(tip.min(caps.max_priority_fee)),
        MarketFees::Legacy { gas_price } => gas_price,
    };
    if needed > caps.gas_price_cap {
        return Err(ChainError::FeeCap(format!(
            "the network needs {} gwei per gas now (base fee plus tip), over gasPriceCap {} gwei",
            gwei(needed),
            gwei(caps.gas_price_cap)
        )));
    }
    let per_gas_by_tx_cap = per_gas_under(caps.max_tx_fee, gas_limit);
    if needed > per_gas_by_tx_cap {
        return Err(ChainError::FeeCap(format!(
            "at its gas limit of {gas_limit} and {} gwei per gas this transaction may cost {}, over {}",
            gwei(needed),
            native(U256::from(needed) * U256::from(gas_limit)),
            caps.tx_cap_text()
        )));
    }
    // Where the market allows, the offer stays a replacement's bump (12.5 %) under gasPriceCap, so a stuck
    // transaction can still be sped up or cancelled within the cap.
    let room = caps.gas_price_cap / 9 * 8;
    let ceiling = if needed <= room { room } else { caps.gas_price_cap };
    Ok(match capped(market, caps) {
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => Fees::Eip1559 {
            max_fee_per_gas: max_fee_per_gas.min(ceiling).min(per_gas_by_tx_cap).max(max_priority_fee_per_gas),
            max_priority_fee_per_gas,
        },
        Fees::Legacy { gas_price } => Fees::Legacy { gas_price: gas_price.min(per_gas_by_tx_cap) },
    })
}

/// Fees for a transaction replacing `old` at the same nonce: at least 12.5 % over `old` on both the max fee and the
/// tip (nodes ask 10 %), and the market's where they are higher, under every cap. Refused when the least
/// acceptable bump is over a cap.
pub fn replacement(old: Fees, market: &MarketFees, gas_limit: u64, caps: &FeeCaps) -> Result<Fees, ChainError> {
    let bump = |value: u128| value.saturating_add(value.div_ceil(8)).max(value.saturating_add(1));
    let least = match old {
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => Fees::Eip1559 {
            max_fee_per_gas: bump(max_fee_per_gas),
            max_priority_fee_per_gas: bump(max_priority_fee_per_gas),
        },
        Fees::Legacy { gas_price } => Fees::Legacy { gas_price: bump(gas_price) },
    };
    let per_gas_by_tx_cap = per_gas_under(caps.max_tx_fee, gas_limit);
    let over = |what: &str, needed: u128, cap: String| {
        Err(ChainError::FeeCap(format!(
            "a replacement must offer at least {} gwei {what} (12.5 % over the transaction it replaces), over {cap}",
            gwei(needed)
        )))
    };
    if least.max_price() > caps.gas_price_cap {
        return over("per gas", least.max_price(), format!("gasPriceCap {} gwei", gwei(caps.gas_price_cap)));
    }
    if matches!(least, Fees::Eip1559 { .. }) && least.tip() > caps.max_priority_fee {
        return over("as tip", least.tip(), format!("maxPriorityFee {} gwei", gwei(caps.max_priority_fee)));
    }
    if least.max_price() > per_gas_by_tx_cap {
        return over("per gas", least.max_price(), format!("{} at its gas limit of {gas_limit}", caps.tx_cap_text()));
    }
    let ceiling = caps.gas_price_cap.min(per_gas_by_tx_cap);
    let market = capped(market, caps);
    Ok(match least {
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => {
            let tip = max_priority_fee_per_gas.max(market.tip().min(caps.max_priority_fee).min(ceiling));
            Fees::Eip1559 {
                max_fee_per_gas: max_fee_per_gas.max(market.max_price()).min(ceiling).max(max_fee_per_gas).max(tip),
                max_priority_fee_per_gas: tip,
            }
        }
        Fees::Legacy { gas_price } => {
            Fees::Legacy { gas_price: gas_price.max(market.max_price()).min(ceiling).max(gas_price) }
        }
    })
}

/// Whether fees offered earlier are below what inclusion needs now.
pub fn below_market(offered: Fees, market: &MarketFees) -> bool {
    let tip_short = match (offered, market) {
        (Fees::Eip1559 { max_priority_fee_per_gas, .. }, MarketFees::Eip1559 { tip, .. }) => {
            max_priority_fee_per_gas < *tip
        }
        _ => false,
    };
    offered.max_price() < market.needed() || tip_short
}

fn per_gas_under(max_tx_fee: U256, gas_limit: u64) -> u128 {
    let per_gas = max_tx_fee / U256::from(gas_limit.max(1));
    u128::try_from(per_gas).unwrap_or(u128::MAX)
}

fn gwei(wei: u128) -> String {
    crate::amount::format_units(U256::from(wei), 9)
}

fn native(wei: U256) -> String {
    crate::amount::format_units(wei, NATIVE_DECIMALS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u128 = 1_000_000_000;

    fn caps(gas_price_cap: u128, max_priority_fee: u128, max_tx_fee: u128) -> FeeCaps {
        FeeCaps { gas_price_cap, max_priority_fee, max_tx_fee: U256::from(max_tx_fee), l1_reserved: U256::ZERO }
    }

    fn market(base: u128, tip: u128) -> MarketFees {
        MarketFees::Eip1559 { base_fee: base, max_base_fee: base * 12 / 10, tip }
    }

    fn market_2x(base: u128, tip: u128) -> MarketFees {
        MarketFees::Eip1559 { base_fee: base, max_base_fee: base * 2, tip }
    }

    #[test]
    fn an_offer_is_the_market_under_the_caps() {
        let offered = offer(&market(10 * G, 2 * G), 100_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap();
        assert_eq!(offered, Fees::Eip1559 { max_fee_per_gas: 14 * G, max_priority_fee_per_gas: 2 * G });
        // The node suggests a tip over the cap: it is cut to the cap, not refused.
        let offered = offer(&market(10 * G, 50 * G), 100_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap();
        assert_eq!(offered, Fees::Eip1559 { max_fee_per_gas: 17 * G, max_priority_fee_per_gas: 5 * G });
        // base × multiplier over the cap while base + tip is under: the max fee is the cap.
        let offered = offer(&market(90 * G, 2 * G), 100_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap();
        assert_eq!(offered.max_price(), 100 * G);
    }

    #[test]
    fn an_offer_leaves_a_bumps_room_under_the_cap_when_the_market_allows() {
        // 2 × 50 + 1 = 101 over a 100 gwei cap: offered 88.9 gwei, so a 12.5 % bump still fits.
        let offered = offer(&market_2x(50 * G, G), 21_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap();
        assert_eq!(offered.max_price(), 100 * G / 9 * 8);
        let old = offered;
        assert!(replacement(old, &market_2x(50 * G, G), 21_000, &caps(100 * G, 5 * G, u128::MAX)).is_ok());
    }

    #[test]
    fn a_base_fee_over_the_cap_is_refused_naming_it() {
        let error = offer(&market(120 * G, 2 * G), 100_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("gasPriceCap 100 gwei") && text.contains("122 gwei"), "{text}");
        assert!(matches!(error, ChainError::FeeCap(_)));
    }

    #[test]
    fn the_transaction_fee_cap_bounds_the_max_fee_and_refuses_what_cannot_fit() {
        // 0.001 ETH at 100k gas: 10 gwei per gas at most.
        let tx_cap = 1_000_000_000_000_000u128;
        let offered = offer(&market(5 * G, G), 100_000, &caps(100 * G, 5 * G, tx_cap)).unwrap();
        assert_eq!(offered.max_price(), 7 * G);
        let offered = offer(&market(8 * G, G), 100_000, &caps(100 * G, 5 * G, tx_cap)).unwrap();
        assert_eq!(offered.max_price(), 10 * G, "8 × 1.2 + 1 = 10.6 gwei, cut to what maxTxFee allows");
        let error = offer(&market(10 * G, G), 100_000, &caps(100 * G, 5 * G, tx_cap)).unwrap_err().to_string();
        assert!(error.contains("maxTxFee 0.001") && error.contains("0.0011"), "{error}");
        // A hostile node's gas estimate is stopped the same way.
        assert!(offer(&market(G, G), 30_000_000, &caps(100 * G, 5 * G, tx_cap)).is_err());
    }

    #[test]
    fn legacy_prices_are_capped_too() {
        let legacy = MarketFees::Legacy { gas_price: 3 * G };
        assert_eq!(offer(&legacy, 21_000, &caps(5 * G, G, u128::MAX)).unwrap(), Fees::Legacy { gas_price: 3 * G });
        assert!(offer(&legacy, 21_000, &caps(2 * G, G, u128::MAX)).is_err());
    }

    #[test]
    fn a_replacement_bumps_both_fees_by_an_eighth_or_follows_the_market() {
        let old = Fees::Eip1559 { max_fee_per_gas: 16 * G, max_priority_fee_per_gas: 2 * G };
        let quiet = market(G, G);
        let bumped = replacement(old, &quiet, 21_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap();
        assert_eq!(bumped, Fees::Eip1559 { max_fee_per_gas: 18 * G, max_priority_fee_per_gas: 2_250_000_000 });
        let busy = market(40 * G, 3 * G);
        let bumped = replacement(old, &busy, 21_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap();
        assert_eq!(bumped, Fees::Eip1559 { max_fee_per_gas: 51 * G, max_priority_fee_per_gas: 3 * G });
        // A zero tip still goes up.
        let zero = Fees::Eip1559 { max_fee_per_gas: 0, max_priority_fee_per_gas: 0 };
        assert_eq!(replacement(zero, &market(0, 0), 21_000, &caps(G, G, u128::MAX)).unwrap().tip(), 1);
    }

    #[test]
    fn a_replacement_the_caps_cannot_hold_is_refused() {
        let old = Fees::Eip1559 { max_fee_per_gas: 95 * G, max_priority_fee_per_gas: 2 * G };
        let error = replacement(old, &market(G, G), 21_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap_err();
        assert!(error.to_string().contains("gasPriceCap 100 gwei"), "{error}");
        let old = Fees::Eip1559 { max_fee_per_gas: 10 * G, max_priority_fee_per_gas: 5 * G };
        let error = replacement(old, &market(G, G), 21_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap_err();
        assert!(error.to_string().contains("maxPriorityFee 5 gwei"), "{error}");
        // The market above the cap: the bump is taken, the rest is cut at the cap.
        let old = Fees::Eip1559 { max_fee_per_gas: 50 * G, max_priority_fee_per_gas: G };
        let bumped = replacement(old, &market(200 * G, G), 21_000, &caps(100 * G, 5 * G, u128::MAX)).unwrap();
        assert_eq!(bumped.max_price(), 100 * G);
    }

    #[test]
    fn below_market_compares_with_what_inclusion_needs() {
        let offered = Fees::Eip1559 { max_fee_per_gas: 10 * G, max_priority_fee_per_gas: G };
        assert!(!below_market(offered, &market(5 * G, G)));
        assert!(below_market(offered, &market(10 * G, G)));
        assert!(below_market(offered, &market(5 * G, 2 * G)));
    }
}
