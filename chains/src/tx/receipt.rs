//! A mined transaction's receipt with the whole fee it paid, and where a transaction stands after waiting for it.

use alloy::primitives::U256;
use alloy::rpc::types::TransactionReceipt;

use super::lifecycle::{Event, Inclusion};
use crate::network::Network;

/// A mined transaction's receipt and the whole fee it paid: gas used × effective gas price, plus the L1 data fee
/// where the chain charges one (OP stack).
#[derive(Debug, Clone)]
pub struct Mined {
    pub receipt: TransactionReceipt,
    pub fee_wei: U256,
}

impl Mined {
    pub async fn of(network: &Network, receipt: TransactionReceipt) -> Mined {
        let gas = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        let l1 = match network.settings().gas.rules.l1_data_fee {
            false => U256::ZERO,
            true => crate::l1_fee::paid(network, &receipt).await.unwrap_or_else(|error| {
                let hash = receipt.transaction_hash;
                tracing::warn!(%hash, %error, "the L1 data fee could not be read; the fee is reported without it");
                U256::ZERO
            }),
        };
        Mined { fee_wei: gas + l1, receipt }
    }

    /// Where it was mined.
    pub fn inclusion(&self) -> Option<Inclusion> {
        Some(Inclusion {
            block_number: self.receipt.block_number?,
            block_hash: self.receipt.block_hash?,
            fee_wei: self.fee_wei,
        })
    }

    /// What the receipt tells the ledger, when it says where the transaction was mined.
    pub fn event(&self) -> Option<Event> {
        Some(Event::Mined { succeeded: self.receipt.status(), inclusion: self.inclusion()? })
    }
}

impl std::ops::Deref for Mined {
    type Target = TransactionReceipt;

    fn deref(&self) -> &TransactionReceipt {
        &self.receipt
    }
}

/// Where a sent transaction stands after waiting for it.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Mined: this transaction's receipt, or that of the replacement mined in its place.
    Mined(Box<Mined>),
    /// A cancel was mined in its place: what was asked for did not happen.
    Cancelled(Box<Mined>),
    /// No receipt within the timeout; the transaction is in the ledger, which the tracker keeps following.
    Pending,
}
