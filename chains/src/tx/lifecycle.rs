//! A transaction's life in the ledger as one state machine: its statuses, what can happen to it ([`Event`]), and
//! the one table of which status each event moves it from and to ([`Event::transition`]). Nothing else decides a
//! status: the ledger applies events, never a status of the caller's choosing, so a late or repeated update never
//! overwrites a truer one (a receipt always wins).

use alloy::primitives::{B256, U256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxStatus {
    /// Signed and recorded; no node has accepted it yet. Seen by the next send from the wallet (which holds the
    /// wallet's lock, so no send is in flight), it is either found on the node (`Pending`) or `Abandoned`.
    Signed,
    /// Accepted by a node, no receipt yet.
    Pending,
    Confirmed,
    /// Mined and reverted.
    Failed,
    /// Was accepted by a node, which no longer knows it, and its nonce was taken by another transaction or the
    /// network's `dropAfterSeconds` passed (or the chain it was mined on was reset). Never sent again.
    Dropped,
    /// Signed but never broadcast (the gateway stopped between signing and sending); never sent later. Its
    /// nonce is free again.
    Abandoned,
    /// The node refused it when it was sent (funds, fees, nonce); its nonce is free again.
    Rejected,
    /// A replacement at the same nonce (speed-up or cancel) was mined instead.
    Replaced,
}

use TxStatus::{Abandoned, Confirmed, Dropped, Failed, Pending, Rejected, Replaced, Signed};

impl TxStatus {
    pub const ALL: [TxStatus; 8] = [Signed, Pending, Confirmed, Failed, Dropped, Abandoned, Rejected, Replaced];

    /// The name stored in the ledger and shown in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Signed => "signed",
            Pending => "pending",
            Confirmed => "confirmed",
            Failed => "failed",
            Dropped => "dropped",
            Abandoned => "abandoned",
            Rejected => "rejected",
            Replaced => "replaced",
        }
    }

    pub fn parse(text: &str) -> Option<TxStatus> {
        TxStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Mined, with a receipt.
    pub fn is_mined(self) -> bool {
        matches!(self, Confirmed | Failed)
    }

    /// Whether some event moves a transaction from this status to `to`.
    pub fn may_become(self, to: TxStatus) -> bool {
        Event::EVERY.iter().any(|event| {
            let change = event.transition();
            change.to == to && change.from.contains(&self)
        })
    }
}

/// What a transaction is, stored with it: a call asked for, or a replacement of what was pending at its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// A transaction a request asked for.
    Call,
    /// The call of a pending transaction again, with higher fees.
    SpeedUp,
    /// A 0-value transfer to the sender itself, so the call pending at its nonce is never executed.
    Cancel,
}

impl TxKind {
    pub const ALL: [TxKind; 3] = [TxKind::Call, TxKind::SpeedUp, TxKind::Cancel];

    /// The name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Call => "call",
            TxKind::SpeedUp => "speed-up",
            TxKind::Cancel => "cancel",
        }
    }

    pub fn parse(text: &str) -> Option<TxKind> {
        TxKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Where a mined transaction is and what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inclusion {
    pub block_number: u64,
    pub block_hash: B256,
    /// Gas used × effective gas price (plus an L1 data fee where the chain charges one).
    pub fee_wei: U256,
}

/// What was learned of a transaction, by the send that made it, the tracker, a wait or a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A node took it: sent now, or found on a node after a send a crash cut short.
    Accepted,
    /// The node refused it when it was sent.
    Refused,
    /// Signed and recorded, and no node has it: a send a crash cut short. It will never be sent.
    NeverSent,
    /// Another transaction took its nonce, or the node lost it for longer than the network waits.
    Lost,
    /// A transaction recorded as replacing it (directly or not) was mined.
    Superseded,
    /// Found in a node's pool after it was given up for lost or unsent.
    Resurfaced,
    /// Its receipt: the chain's word, which overrides any status.
    Mined { succeeded: bool, inclusion: Inclusion },
    /// The block it was recorded mined in is not the chain's any more (a reset, a reorg): pending again if a
    /// node still has it, dropped if not.
    Reorged { in_pool: bool },
    /// The same signed bytes recorded again (a retry after a refusal): the same transaction, signed again.
    SignedAgain,
}

/// What an event does to the ledger: the status it moves a transaction to, the statuses it moves it from (in
/// any other, nothing happens), and what becomes of where it was mined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: TxStatus,
    pub from: &'static [TxStatus],
    pub inclusion: InclusionChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InclusionChange {
    Keep,
    Set(Inclusion),
    Clear,
}

impl Event {
    /// One of each kind of event (the mined and reorged ones in each form), for reading the table whole.
    const EVERY: [Event; 11] = [
        Event::Accepted,
        Event::Refused,
        Event::NeverSent,
        Event::Lost,
        Event::Superseded,
        Event::Resurfaced,
        Event::Mined { succeeded: true, inclusion: NOWHERE },
        Event::Mined { succeeded: false, inclusion: NOWHERE },
        Event::Reorged { in_pool: true },
        Event::Reorged { in_pool: false },
        Event::SignedAgain,
    ];

    /// The transition table.
    pub fn transition(self) -> Transition {
        let keep = |to, from| Transition { to, from, inclusion: InclusionChange::Keep };
        match self {
            Event::Accepted => keep(Pending, &[Signed]),
            Event::Refused => keep(Rejected, &[Signed]),
            Event::NeverSent => keep(Abandoned, &[Signed]),
            Event::Lost => keep(Dropped, &[Pending]),
            Event::Superseded => keep(Replaced, &[Signed, Pending, Dropped]),
            Event::Resurfaced => keep(Pending, &[Signed, Dropped, Abandoned]),
            Event::Mined { succeeded, inclusion } => Transition {
                to: if succeeded { Confirmed } else { Failed },
                from: &TxStatus::ALL,
                inclusion: InclusionChange::Set(inclusion),
            },
            Event::Reorged { in_pool } => Transition {
                to: if in_pool { Pending } else { Dropped },
                from: &[Confirmed, Failed],
                inclusion: InclusionChange::Clear,
            },
            Event::SignedAgain => keep(Signed, &[Rejected, Abandoned, Dropped]),
        }
    }
}

/// A stand-in inclusion for reading the table: where a mined transaction is does not change where it may go.
const NOWHERE: Inclusion = Inclusion { block_number: 0, block_hash: B256::ZERO, fee_wei: U256::ZERO };

/// Counts a transaction reaching `status` (the first time it does).
pub fn count_transaction(status: TxStatus) {
    let outcome = match status {
        Signed => return,
        Pending => "sent",
        other => other.as_str(),
    };
    metrics::counter!("gateway_transactions_total", "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_wins_from_anywhere_and_only_a_reorg_unsettles_what_was_mined() {
        for status in TxStatus::ALL {
            assert!(status.may_become(Confirmed) && status.may_become(Failed), "{status:?}");
        }
        for mined in [Confirmed, Failed] {
            let reachable: Vec<TxStatus> = TxStatus::ALL.into_iter().filter(|to| mined.may_become(*to)).collect();
            assert_eq!(reachable, vec![Pending, Confirmed, Failed, Dropped], "{mined:?}");
            assert_eq!(Event::Reorged { in_pool: false }.transition().inclusion, InclusionChange::Clear);
        }
        // Losing a transaction never undoes a receipt recorded meanwhile.
        assert!(!Event::Lost.transition().from.contains(&Confirmed));
        assert!(!Event::Superseded.transition().from.contains(&Failed));
    }

    #[test]
    fn a_signed_transaction_is_sent_refused_or_abandoned_and_nothing_is_ever_signed_twice_but_its_own_bytes() {
        let from_signed: Vec<TxStatus> = TxStatus::ALL.into_iter().filter(|to| Signed.may_become(*to)).collect();
        assert_eq!(from_signed, vec![Pending, Confirmed, Failed, Abandoned, Rejected, Replaced]);
        let to_signed: Vec<TxStatus> = TxStatus::ALL.into_iter().filter(|from| from.may_become(Signed)).collect();
        assert_eq!(to_signed, vec![Dropped, Abandoned, Rejected], "only the same bytes recorded again");
        assert!(!Pending.may_become(Signed) && !Confirmed.may_become(Signed));
    }

    #[test]
    fn what_was_given_up_comes_back_only_when_a_node_has_it() {
        for given_up in [Dropped, Abandoned] {
            assert!(given_up.may_become(Pending), "{given_up:?}");
        }
        assert!(!Rejected.may_become(Pending), "a refused transaction is in no node");
        assert!(!Replaced.may_become(Pending) && !Replaced.may_become(Dropped));
        assert_eq!(Event::Accepted.transition().from, &[Signed]);
    }

    #[test]
    fn statuses_and_kinds_read_back_from_their_stored_names() {
        for status in TxStatus::ALL {
            assert_eq!(TxStatus::parse(status.as_str()), Some(status));
        }
        for kind in TxKind::ALL {
            assert_eq!(TxKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TxStatus::parse("sent"), None);
    }
}
