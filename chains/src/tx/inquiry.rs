//! What became of a transaction: its receipt recorded and what it settles at its nonce, the transactions that stand
//! for it (what it replaced, what replaced it), a wait for whichever of them is mined, and the one answer a poll
//! gives ([`fate`]). The send pipeline, the tracker and `poll` all ask here.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;

use super::call::Call;
use super::ledger::{Ledger, LedgerTx};
use super::lifecycle::{Event, TxKind, TxStatus, count_transaction};
use super::receipt::{Mined, Outcome};
use crate::error::ChainError;
use crate::network::Network;

/// How often a waiting request looks in the ledger for a replacement of what it waits for.
const REPLACEMENT_LOOKUP: Duration = Duration::from_millis(500);

/// Which relatives of a transaction stand for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lineage {
    /// What replaced it, directly or not: what a poll of it reports as mined in its place.
    Replacements,
    /// What it replaced too: what a wait for it takes as its outcome.
    Whole,
}

/// `hash`, then (for [`Lineage::Whole`]) what it replaced, directly or not, then every transaction recorded as
/// replacing any of these.
pub async fn family<L: Ledger>(ledger: &L, hash: B256, lineage: Lineage) -> Result<Vec<LedgerTx>, ChainError> {
    let Some(row) = ledger.find(hash).await? else { return Ok(vec![]) };
    let mut family = vec![row];
    if lineage == Lineage::Whole {
        while let Some(replaced) = family.last().and_then(|row| row.replaces) {
            if family.iter().any(|known| known.hash == replaced) {
                break;
            }
            let Some(row) = ledger.find(replaced).await? else { break };
            family.push(row);
        }
    }
    let mut next = 0;
    while next < family.len() {
        for replacement in ledger.replacements(family[next].hash).await? {
            if family.iter().all(|known| known.hash != replacement.hash) {
                family.push(replacement);
            }
        }
        next += 1;
    }
    Ok(family)
}

/// The receipt a node answered a send with. `recorded`: the send recorded it already, and settled everything
/// else at its nonce (a send at the next nonce replaces nothing), so a wait need not look in the ledger again.
pub struct Answered {
    pub receipt: Box<Mined>,
    pub recorded: bool,
}

/// Records a receipt and settles what else was pending at its nonce: what it replaced (directly or not) is
/// `replaced`, anything else there is `dropped`. Returns the ledger's row of the mined transaction, if it has one.
pub async fn record_receipt<L: Ledger>(
    ledger: &L,
    network: &Network,
    receipt: &Mined,
) -> Result<Option<LedgerTx>, ChainError> {
    let (Some(inclusion), Some(event)) = (receipt.inclusion(), receipt.event()) else { return Ok(None) };
    network.saw_block_hash(inclusion.block_number, inclusion.block_hash);
    let hash = receipt.transaction_hash;
    let at_nonce = ledger.same_nonce(hash).await?;
    let Some(row) = at_nonce.iter().find(|row| row.hash == hash).cloned() else { return Ok(None) };
    let to = event.transition().to;
    if row.status != to || row.inclusion != Some(inclusion) {
        ledger.apply(hash, event).await?;
        if !row.status.is_mined() {
            count_transaction(to);
        }
    }
    let mut ancestors = HashSet::new();
    let mut replaced = row.replaces;
    while let Some(ancestor) = replaced.filter(|hash| ancestors.insert(*hash)) {
        if ledger.apply(ancestor, Event::Superseded).await? {
            count_transaction(TxStatus::Replaced);
        }
        replaced = ledger.find(ancestor).await?.and_then(|row| row.replaces);
    }
    for other in at_nonce.iter().filter(|other| other.hash != hash && other.status == TxStatus::Pending) {
        if ledger.apply(other.hash, Event::Lost).await? {
            count_transaction(TxStatus::Dropped);
        }
    }
    Ok(Some(row))
}

/// Waits up to `timeout` for `hash`, or another transaction at its nonce recorded as standing for it (what it
/// replaced, what replaced it), to be mined, and records the receipt. A cancel mined in place of `hash` is
/// `Cancelled`. Once a transaction is sent, nothing here is an error but a node unreachable to the end. `receipt`:
/// `hash`'s, when the node answered its post with it.
pub async fn wait<L: Ledger>(
    ledger: &L,
    network: &Network,
    hash: B256,
    timeout: Duration,
    mut receipt: Option<Answered>,
) -> Result<Outcome, ChainError> {
    let deadline = Instant::now() + timeout;
    let mut watched = vec![hash];
    let mut looked_up = Instant::now();
    // A local node mines within a millisecond or two; a public chain takes seconds. Start by asking often.
    let mut pause = Duration::from_millis(1);
    loop {
        for &candidate in &watched {
            let (answered, recorded) = match receipt.take() {
                Some(Answered { receipt, recorded }) => (Ok(Some(*receipt)), recorded),
                None => match network.provider().get_transaction_receipt(candidate).await {
                    Ok(Some(receipt)) => (Ok(Some(Mined::of(network, receipt).await)), false),
                    Ok(None) => (Ok(None), false),
                    Err(error) => (Err(error), false),
                },
            };
            match answered {
                Ok(Some(receipt)) => {
                    let mined = match recorded {
                        true => {
                            if let Some(inclusion) = receipt.inclusion() {
                                network.saw_block_hash(inclusion.block_number, inclusion.block_hash);
                            }
                            None
                        }
                        false => record_receipt(ledger, network, &receipt).await.unwrap_or_else(|error| {
                            tracing::error!(hash = %candidate, %error, "a receipt could not be recorded; the tracker will");
                            None
                        }),
                    };
                    // Not yet under enough blocks: waited for like a pending one (a reorg may still take it).
                    if !network.buried(receipt.block_number.unwrap_or_default()).await.unwrap_or(false) {
                        break;
                    }
                    let cancelled = candidate != hash && mined.is_some_and(|row| row.kind == TxKind::Cancel);
                    return Ok(match cancelled {
                        true => Outcome::Cancelled(Box::new(receipt)),
                        false => Outcome::Mined(Box::new(receipt)),
                    });
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(hash = %candidate, %error, "receipt query failed; retrying"),
            }
        }
        if Instant::now() >= deadline {
            return Ok(Outcome::Pending);
        }
        if looked_up.elapsed() >= REPLACEMENT_LOOKUP {
            looked_up = Instant::now();
            match family(ledger, hash, Lineage::Whole).await {
                Ok(family) if !family.is_empty() => watched = family.iter().map(|row| row.hash).collect(),
                Ok(_) => {}
                Err(error) => tracing::warn!(%hash, %error, "replacements could not be looked up; retrying"),
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(network.receipt_poll());
    }
}

/// What became of a transaction, as the chain has it now (the ledger follows on the way).
#[derive(Debug, Clone)]
pub enum Fate {
    /// Mined: its receipt, and the ledger's status of it (none when the gateway did not send it).
    Mined { receipt: Box<Mined>, status: Option<TxStatus> },
    /// Not mined, but a transaction recorded as replacing it was (a speed-up, or a cancel by its kind).
    Replaced { by: Box<LedgerTx>, receipt: Box<Mined> },
    /// A node holds it, not mined yet; `recorded`: whether the gateway sent it.
    InPool { recorded: bool },
    /// No node holds it and the gateway never recorded it.
    Unknown,
    /// Recorded mined from its receipt, in a block the node has not replaced; the node serves no receipt for it
    /// now (it lags behind that block, or indexes receipts late).
    Recorded(Box<LedgerTx>),
    /// No node holds it; the ledger's row says what became of it.
    Gone(Box<LedgerTx>),
    /// Sent by the gateway and in a block, as the node's answer for the transaction says, but not yet recorded
    /// mined: the node serves no receipt for it yet (it lags behind that block, or indexes receipts late).
    Unreceipted(Box<LedgerTx>),
}

/// The answer to "what became of `hash`": its receipt, else that of what replaced it, else whether a node holds
/// it, else what the ledger recorded. What it learns is recorded: a receipt, a transaction found again in the pool.
pub async fn fate<L: Ledger>(ledger: &L, network: &Network, hash: B256) -> Result<Fate, ChainError> {
    let provider = network.provider();
    let rpc = |e| network.rpc_error(e);
    if let Some(receipt) = provider.get_transaction_receipt(hash).await.map_err(rpc)? {
        let receipt = Mined::of(network, receipt).await;
        record_receipt(ledger, network, &receipt).await?;
        let status = ledger.find(hash).await?.map(|row| row.status);
        return Ok(Fate::Mined { receipt: Box::new(receipt), status });
    }
    let replacements = family(ledger, hash, Lineage::Replacements).await?;
    for replacement in replacements.iter().skip(1) {
        if let Some(receipt) = provider.get_transaction_receipt(replacement.hash).await.map_err(rpc)? {
            let receipt = Mined::of(network, receipt).await;
            record_receipt(ledger, network, &receipt).await?;
            return Ok(Fate::Replaced { by: Box::new(replacement.clone()), receipt: Box::new(receipt) });
        }
    }
    let held = held(network, hash).await?;
    let Some(row) = replacements.into_iter().next() else {
        return Ok(if held == Held::Unknown { Fate::Unknown } else { Fate::InPool { recorded: false } });
    };
    if held == Held::InPool {
        // The node has it: pending, whatever the ledger thought (the chain is the truth); recorded mined in a
        // block the chain dropped since (a reorg), it is back in the pool.
        if !ledger.apply(hash, Event::Resurfaced).await? {
            ledger.apply(hash, Event::Reorged { in_pool: true }).await?;
        }
        return Ok(Fate::InPool { recorded: true });
    }
    let mut row = ledger.find(row.hash).await?.unwrap_or(row);
    if held == Held::Mined && !row.status.is_mined() {
        return Ok(Fate::Unreceipted(Box::new(row)));
    }
    // Recorded mined, and no receipt now: if the chain has another block at its height, it was reorganised out,
    // and the ledger follows. (A node that lags lacks the block, or keeps it: the row stands.)
    if let Some(inclusion) = row.inclusion.filter(|_| matches!(row.status, TxStatus::Confirmed | TxStatus::Failed)) {
        let block = provider.get_block_by_number(inclusion.block_number.into()).await.map_err(rpc)?;
        if block.is_none_or(|block| block.header.hash == inclusion.block_hash) {
            return Ok(Fate::Recorded(Box::new(row)));
        }
        if ledger.apply(row.hash, Event::Reorged { in_pool: false }).await? {
            count_transaction(Event::Reorged { in_pool: false }.transition().to);
            row = ledger.find(row.hash).await?.unwrap_or(row);
        }
    }
    Ok(Fate::Gone(Box::new(row)))
}

/// Where a node has a transaction, as the transaction itself says. A node serves a mined transaction before its
/// receipt (it indexes receipts late, or a load balancer's node behind answers the receipt), so a missing receipt
/// alone never means "not mined".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// In a block, its receipt maybe not served yet.
    Mined,
    /// In the node's pool.
    InPool,
    /// Not known to the node.
    Unknown,
}

pub async fn held(network: &Network, hash: B256) -> Result<Held, ChainError> {
    let held = network.provider().get_transaction_by_hash(hash).await.map_err(|e| network.rpc_error(e))?;
    Ok(match held {
        Some(tx) if tx.block_number.is_some() => Held::Mined,
        Some(_) => Held::InPool,
        None => Held::Unknown,
    })
}

/// Why a mined transaction reverted, as far as replaying its call on the state its block left tells: the state
/// before it is not kept by every node, and what moved the market against it was most likely mined before it in
/// the same block. `None` when the replay does not revert (the cause was undone later in the block).
pub async fn replayed(network: &Network, from: Address, call: &Call, block: u64) -> Option<String> {
    let request = call.request(from);
    match network.provider().call(request).block(block.into()).await {
        Ok(_) => None,
        Err(error) => {
            let payload = error.as_error_resp()?;
            let data: Option<Bytes> = payload.as_revert_data();
            Some(
                data.and_then(|data| super::revert::reason(&data))
                    .unwrap_or_else(|| crate::rpc::node_text(&payload.message)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use alloy::primitives::{Address, Bloom, Bytes};

    use super::*;
    use crate::gas::{ChainRules, FeeCaps};
    use crate::network::{GasSettings, NetworkSettings};
    use crate::tx::ledger::{LedgerError, SenderSession};
    use crate::tx::lifecycle::InclusionChange;

    /// A ledger in memory that moves statuses by the lifecycle's table, as the database does.
    #[derive(Default)]
    struct MemoryLedger(Mutex<BTreeMap<B256, LedgerTx>>);

    impl MemoryLedger {
        fn with(rows: Vec<LedgerTx>) -> Self {
            MemoryLedger(Mutex::new(rows.into_iter().map(|row| (row.hash, row)).collect()))
        }

        fn status(&self, hash: B256) -> TxStatus {
            self.0.lock().unwrap()[&hash].status
        }

        fn rows(&self, keep: impl Fn(&LedgerTx) -> bool) -> Vec<LedgerTx> {
            let mut rows: Vec<LedgerTx> = self.0.lock().unwrap().values().filter(|row| keep(row)).cloned().collect();
            rows.sort_by_key(|row| row.recorded_at);
            rows
        }
    }

    impl SenderSession for MemoryLedger {
        async fn unsettled(&mut self, _: &str, _: u64, _: Address, _: u64) -> Result<Vec<LedgerTx>, LedgerError> {
            Ok(vec![])
        }
        async fn at_nonce(&mut self, _: &str, _: u64, _: Address, _: u64) -> Result<Vec<LedgerTx>, LedgerError> {
            Ok(vec![])
        }
        async fn record(&mut self, tx: &LedgerTx) -> Result<(), LedgerError> {
            self.0.lock().unwrap().insert(tx.hash, tx.clone());
            Ok(())
        }
        async fn apply(&mut self, hash: B256, event: Event) -> Result<bool, LedgerError> {
            Ledger::apply(&*self, hash, event).await
        }
        async fn take_back(&mut self, hash: B256) -> Result<(), LedgerError> {
            let mut rows = self.0.lock().unwrap();
            if rows.get(&hash).is_some_and(|row| row.status == TxStatus::Signed) {
                rows.remove(&hash);
            }
            Ok(())
        }
        async fn release(self) {}
    }

    impl Ledger for MemoryLedger {
        type Session = MemoryLedger;

        async fn lock_sender(&self, _: u64, _: Address) -> Result<MemoryLedger, LedgerError> {
            Ok(MemoryLedger::default())
        }
        async fn apply(&self, hash: B256, event: Event) -> Result<bool, LedgerError> {
            let change = event.transition();
            let mut rows = self.0.lock().unwrap();
            let Some(row) = rows.get_mut(&hash).filter(|row| change.from.contains(&row.status)) else {
                return Ok(false);
            };
            row.status = change.to;
            match change.inclusion {
                InclusionChange::Keep => {}
                InclusionChange::Set(inclusion) => row.inclusion = Some(inclusion),
                InclusionChange::Clear => row.inclusion = None,
            }
            Ok(true)
        }
        async fn find(&self, hash: B256) -> Result<Option<LedgerTx>, LedgerError> {
            Ok(self.0.lock().unwrap().get(&hash).cloned())
        }
        async fn replacements(&self, hash: B256) -> Result<Vec<LedgerTx>, LedgerError> {
            let mut rows = self.rows(|row| row.replaces == Some(hash));
            rows.reverse();
            Ok(rows)
        }
        async fn same_nonce(&self, hash: B256) -> Result<Vec<LedgerTx>, LedgerError> {
            let Some(of) = self.find(hash).await? else { return Ok(vec![]) };
            Ok(self.rows(|row| row.sender == of.sender && row.nonce == of.nonce))
        }
        async fn pending(&self, _: &str, _: u64, _: u32) -> Result<Vec<LedgerTx>, LedgerError> {
            Ok(self.rows(|row| row.status == TxStatus::Pending))
        }
        async fn closed_since(&self, _: &str, _: u64, _: i64, _: u32) -> Result<Vec<LedgerTx>, LedgerError> {
            Ok(vec![])
        }
        async fn unsent_senders(&self, _: &str, _: u64) -> Result<Vec<Address>, LedgerError> {
            Ok(vec![])
        }
        async fn mined_blocks(&self, _: &str, _: u64, _: Option<u64>, _: u32) -> Result<Vec<(u64, B256)>, LedgerError> {
            Ok(vec![])
        }
        async fn mined_since(&self, _: &str, _: u64, _: Option<u64>) -> Result<Vec<LedgerTx>, LedgerError> {
            Ok(vec![])
        }
    }

    fn row(byte: u8, kind: TxKind, replaces: Option<u8>) -> LedgerTx {
        LedgerTx {
            hash: B256::repeat_byte(byte),
            chain_id: 31337,
            network: "devnet".into(),
            sender: Address::repeat_byte(1),
            nonce: 4,
            raw: Bytes::new(),
            status: TxStatus::Pending,
            kind,
            label: "swap".into(),
            inclusion: None,
            replaces: replaces.map(B256::repeat_byte),
            request_key: None,
            recorded_at: i64::from(byte),
        }
    }

    /// A network no call goes to: recording a receipt asks the node nothing.
    fn offline() -> Network {
        Network::connect(NetworkSettings {
            name: "devnet".into(),
            chain_id: 31337,
            node_urls: vec!["http://127.0.0.1:9".into()],
            native_symbol: "ETH".into(),
            gas: GasSettings {
                base_fee_gwei: None,
                base_fee_multiplier: 2.0,
                priority_fee_gwei: None,
                gas_price_gwei: None,
                rules: ChainRules::PLAIN,
            },
            tx_timeout: Duration::from_secs(1),
            fee_caps: FeeCaps::default_for(31337),
            replace_after: None,
            drop_after: Duration::from_secs(60),
            confirmations: 1,
        })
        .unwrap()
    }

    fn mined(hash: B256, succeeded: bool) -> Mined {
        let receipt = serde_json::from_value(serde_json::json!({
            "transactionHash": hash, "transactionIndex": "0x0", "blockHash": B256::repeat_byte(0xbb),
            "blockNumber": "0x7", "from": Address::repeat_byte(1), "to": Address::ZERO, "cumulativeGasUsed": "0x0",
            "gasUsed": "0x5208", "effectiveGasPrice": "0x1", "contractAddress": null, "logs": [],
            "logsBloom": Bloom::ZERO, "type": "0x2", "status": if succeeded { "0x1" } else { "0x0" }
        }))
        .unwrap();
        Mined { receipt, fee_wei: alloy::primitives::U256::from(21_000) }
    }

    #[tokio::test]
    async fn a_mined_replacement_settles_what_it_replaced_and_drops_the_rest_at_its_nonce() {
        let (original, speed_up, other) = (B256::repeat_byte(1), B256::repeat_byte(2), B256::repeat_byte(3));
        let ledger = MemoryLedger::with(vec![
            row(1, TxKind::Call, None),
            row(2, TxKind::SpeedUp, Some(1)),
            row(3, TxKind::Call, None),
        ]);
        let recorded = record_receipt(&ledger, &offline(), &mined(speed_up, true)).await.unwrap().unwrap();
        assert_eq!(recorded.hash, speed_up);
        assert_eq!(
            [original, speed_up, other].map(|hash| ledger.status(hash)),
            [TxStatus::Replaced, TxStatus::Confirmed, TxStatus::Dropped]
        );
        assert_eq!(ledger.find(speed_up).await.unwrap().unwrap().inclusion.unwrap().block_number, 7);
        // A late loss changes nothing of what a receipt settled.
        assert!(!Ledger::apply(&ledger, speed_up, Event::Lost).await.unwrap());
        assert!(record_receipt(&ledger, &offline(), &mined(B256::repeat_byte(9), true)).await.unwrap().is_none());
    }

    /// The one write after a send: mined, when the node answered the post with the receipt; else pending, for the
    /// tracker to follow.
    #[tokio::test]
    async fn a_send_is_recorded_mined_when_its_receipt_came_with_it_and_pending_when_not() {
        let sender = super::super::TxSender::new(MemoryLedger::default());
        let (answered, accepted) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let signed = |byte| LedgerTx { status: TxStatus::Signed, ..row(byte, TxKind::Call, None) };
        let mut session = MemoryLedger::with(vec![signed(1), signed(2)]);
        sender.settle_sent(&mut session, answered, Some(&mined(answered, true)), vec![]).await;
        sender.settle_sent(&mut session, accepted, None, vec![]).await;
        assert_eq!([answered, accepted].map(|hash| session.status(hash)), [TxStatus::Confirmed, TxStatus::Pending]);
        assert_eq!(session.find(answered).await.unwrap().unwrap().inclusion.unwrap().block_number, 7);
    }

    #[tokio::test]
    async fn a_transaction_stands_for_its_replacements_and_a_wait_for_one_for_the_whole_line() {
        let ledger = MemoryLedger::with(vec![
            row(1, TxKind::Call, None),
            row(2, TxKind::SpeedUp, Some(1)),
            row(3, TxKind::Cancel, Some(2)),
        ]);
        let hashes = |rows: Vec<LedgerTx>| rows.iter().map(|row| row.hash.0[0]).collect::<Vec<_>>();
        let original = B256::repeat_byte(1);
        assert_eq!(hashes(family(&ledger, original, Lineage::Replacements).await.unwrap()), vec![1, 2, 3]);
        let speed_up = B256::repeat_byte(2);
        assert_eq!(hashes(family(&ledger, speed_up, Lineage::Replacements).await.unwrap()), vec![2, 3]);
        assert_eq!(hashes(family(&ledger, speed_up, Lineage::Whole).await.unwrap()), vec![2, 1, 3]);
        assert!(family(&ledger, B256::repeat_byte(7), Lineage::Whole).await.unwrap().is_empty());
    }
}
