//! The routes' bodies as the OpenAPI document describes them: what a request carries and what its answer holds.
//! Plain data, shared by the use cases that fill them (`crate::app`) and the routes that serve them
//! (`crate::http`).

pub mod chain;
pub mod clob;
pub mod liquidity;
pub mod swap;

use alloy::primitives::U256;
use alloy::rpc::types::TransactionReceipt;
use chains::amount::NATIVE_DECIMALS;
use chains::tx::{Outcome, SentTx};
use serde::Serialize;
use utoipa::ToSchema;

use crate::request::Human;

/// 1 confirmed, 0 pending, -1 reverted or cancelled; the receipt when what was asked for was mined.
pub fn status_of(outcome: &Outcome) -> (i8, Option<&TransactionReceipt>) {
    match outcome {
        Outcome::Mined(receipt) => (if receipt.status() { 1 } else { -1 }, Some(receipt)),
        // A cancel was mined instead: what was asked for did not happen, and moved nothing.
        Outcome::Cancelled(_) => (-1, None),
        Outcome::Pending => (0, None),
    }
}

/// A transaction's answer to the client: hash, status and what it did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TxResponse<T> {
    #[schema(example = "0x5f0c8a1c9a3d3f1b0a6f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566")]
    pub signature: String,
    /// 1 confirmed, 0 pending, -1 failed.
    #[schema(example = 1)]
    pub status: i8,
    pub data: Option<T>,
}

impl<T> TxResponse<T> {
    pub fn new(sent: &SentTx, outcome: &Outcome, data: Option<T>) -> Self {
        TxResponse { signature: sent.hash.to_string(), status: status_of(outcome).0, data }
    }
}

/// The gas fee a mined transaction paid, in the native currency.
pub fn fee_of(outcome: &Outcome) -> Human {
    let fee = match outcome {
        Outcome::Mined(receipt) | Outcome::Cancelled(receipt) => receipt.fee_wei,
        Outcome::Pending => U256::ZERO,
    };
    Human(chains::amount::format_units(fee, NATIVE_DECIMALS))
}

/// A signed human amount: "+" is implied, "-" shown.
pub fn signed(amount: U256, decimals: u8, negative: bool) -> Human {
    let text = chains::amount::format_units(amount, decimals);
    Human(if negative && !amount.is_zero() { format!("-{text}") } else { text })
}
