//! Which nonce a send takes, decided from what the node and the ledger say: the node's pending count, past any
//! recorded transaction the node still holds above it; and what a replacement at a nonce must offer. Both are
//! pure, so the choices are tested without a node.

use std::collections::BTreeSet;

use alloy::primitives::{Address, B256};

use super::call::decode;
use super::ledger::LedgerTx;
use super::lifecycle::{Event, TxStatus};
use crate::error::ChainError;
use crate::gas::{self, FeeCaps, Fees, MarketFees};

/// What a nonce choice found: the nonce, what it settled of the recorded transactions on the way, and the
/// recorded transactions it takes over (gone from the node, so sending at their nonce drops them for good).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceChoice {
    pub nonce: u64,
    pub settled: Vec<(B256, Event)>,
    pub superseded: Vec<B256>,
}

/// The next nonce from the node's pending count and the sender's unsettled rows, each with whether the node knows
/// it. A `signed` row (left by a send that never finished) is `pending` if the node has it and abandoned if not;
/// a `pending` one the node no longer knows leaves its nonce free, and is dropped once another transaction takes
/// that nonce.
pub fn choose(pending_count: u64, rows: &[(LedgerTx, bool)]) -> NonceChoice {
    let mut held = BTreeSet::new();
    let mut gone = Vec::new();
    let mut settled = Vec::new();
    for (row, known) in rows {
        match (row.status, known) {
            (TxStatus::Signed, true) => {
                settled.push((row.hash, Event::Accepted));
                if row.nonce >= pending_count {
                    held.insert(row.nonce);
                }
            }
            (TxStatus::Signed, false) => settled.push((row.hash, Event::NeverSent)),
            (_, true) => {
                held.insert(row.nonce);
            }
            (_, false) => gone.push(row),
        }
    }
    let mut nonce = pending_count;
    while held.contains(&nonce) {
        nonce += 1;
    }
    let superseded = gone.iter().filter(|row| row.nonce == nonce).map(|row| row.hash).collect();
    NonceChoice { nonce, settled, superseded }
}

/// What a replacement at `nonce` replaces and the fees it needs: the newest transaction pending there (which must
/// be `only_over`, when given), with fees at least 12.5 % over every one pending there, under `caps`.
pub fn replacement_fees(
    rows: &[LedgerTx],
    (from, nonce, only_over): (Address, u64, Option<B256>),
    (market, caps): (&MarketFees, &FeeCaps),
    gas_limit: u64,
    network: &str,
) -> Result<(Fees, B256), ChainError> {
    let pending: Vec<&LedgerTx> = rows.iter().filter(|row| row.status == TxStatus::Pending).collect();
    let Some(newest) = pending.iter().max_by_key(|row| row.recorded_at) else {
        return Err(ChainError::NothingToReplace(format!(
            "no transaction of {from} is pending at nonce {nonce} on {network}"
        )));
    };
    if only_over.is_some_and(|expected| expected != newest.hash) {
        return Err(ChainError::NothingToReplace(format!(
            "{} was replaced already, by {}",
            only_over.unwrap_or_default(),
            newest.hash
        )));
    }
    let mut highest = decode(&newest.raw)?.fees;
    for row in &pending {
        let fees = decode(&row.raw)?.fees;
        if fees.max_price() > highest.max_price() {
            highest = fees;
        }
    }
    Ok((gas::replacement(highest, market, gas_limit, caps)?, newest.hash))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Bytes, U256};
    use alloy::signers::local::PrivateKeySigner;

    use super::super::call::{Call, sign};
    use super::super::lifecycle::TxKind;
    use super::*;

    fn row(byte: u8, nonce: u64, status: TxStatus) -> LedgerTx {
        LedgerTx {
            hash: B256::repeat_byte(byte),
            chain_id: 31337,
            network: "devnet".into(),
            sender: Address::repeat_byte(1),
            nonce,
            raw: Bytes::new(),
            status,
            kind: TxKind::Call,
            label: "swap".into(),
            inclusion: None,
            replaces: None,
            request_key: None,
            recorded_at: i64::from(byte),
        }
    }

    #[test]
    fn the_next_nonce_is_the_nodes_count_past_what_it_still_holds_of_ours() {
        let choice = choose(5, &[(row(1, 5, TxStatus::Pending), true), (row(2, 6, TxStatus::Pending), true)]);
        assert_eq!((choice.nonce, choice.superseded.len()), (7, 0));
        // A gap: what the node holds above a free nonce does not push the choice past it.
        let choice = choose(5, &[(row(1, 6, TxStatus::Pending), true)]);
        assert_eq!(choice.nonce, 5);
        assert_eq!(choose(3, &[]).nonce, 3);
    }

    #[test]
    fn a_send_a_crash_cut_short_is_pending_if_the_node_has_it_and_abandoned_if_not() {
        let choice = choose(4, &[(row(1, 4, TxStatus::Signed), true), (row(2, 5, TxStatus::Signed), false)]);
        assert_eq!(
            choice.settled,
            vec![(B256::repeat_byte(1), Event::Accepted), (B256::repeat_byte(2), Event::NeverSent)]
        );
        assert_eq!(choice.nonce, 5, "the accepted one holds 4; the abandoned one's 5 is free again");
    }

    #[test]
    fn a_pending_transaction_the_node_lost_is_superseded_only_by_a_send_at_its_nonce() {
        let lost = (row(1, 4, TxStatus::Pending), false);
        let choice = choose(4, std::slice::from_ref(&lost));
        assert_eq!((choice.nonce, choice.superseded), (4, vec![B256::repeat_byte(1)]));
        let choice = choose(3, &[lost]);
        assert_eq!((choice.nonce, choice.superseded.len()), (3, 0), "nonce 3 takes nothing over");
    }

    #[test]
    fn a_replacement_outbids_everything_pending_at_its_nonce_and_replaces_the_newest() {
        let signer = PrivateKeySigner::random();
        let signed = |byte: u8, max_fee: u128| {
            let fees = Fees::Eip1559 { max_fee_per_gas: max_fee, max_priority_fee_per_gas: 1_000_000_000 };
            let (_, raw) = sign(&signer, 31337, 4, 21_000, fees, &Call::cancel(signer.address())).unwrap();
            LedgerTx { raw, ..row(byte, 4, TxStatus::Pending) }
        };
        let rows = [signed(1, 40_000_000_000), signed(2, 20_000_000_000), row(3, 4, TxStatus::Rejected)];
        let market = MarketFees::Eip1559 { base_fee: 1, max_base_fee: 2, tip: 1 };
        let caps = FeeCaps {
            gas_price_cap: 500_000_000_000,
            max_priority_fee: 50_000_000_000,
            max_tx_fee: U256::MAX,
            l1_reserved: U256::ZERO,
        };
        let from = Address::repeat_byte(1);
        let (fees, replaces) = replacement_fees(&rows, (from, 4, None), (&market, &caps), 21_000, "devnet").unwrap();
        assert_eq!(replaces, B256::repeat_byte(2), "the newest pending one");
        assert_eq!(fees.max_price(), 45_000_000_000, "12.5 % over the highest offer there");
        let error = replacement_fees(&rows, (from, 4, Some(B256::repeat_byte(1))), (&market, &caps), 21_000, "devnet");
        assert!(matches!(error, Err(ChainError::NothingToReplace(_))), "replaced already");
        let error = replacement_fees(&rows[2..], (from, 4, None), (&market, &caps), 21_000, "devnet");
        assert!(error.unwrap_err().to_string().contains("no transaction of"));
    }
}
