//! The one place that sends transactions: simulate, price under the network's caps, then under the wallet's
//! lock choose the nonce, sign, record in the ledger and send; and wait for the receipt, following a speed-up or
//! a cancel to whichever transaction at that nonce is mined.
//!
//! Nothing is ever broadcast again later: a transaction is sent once, when it is asked for, or replaced (with
//! higher fees, at the same nonce) when someone asks for that. The nonce comes from the node's pending count and
//! the ledger's transactions the node still knows ([`TxSender::next_nonce`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, Transaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::RpcError;

use crate::commitment::Commitment;
use crate::error::ChainError;
use crate::gas::{self, Fees};
use crate::ledger::{Inclusion, Ledger, LedgerTx, SenderSession, TxStatus};
use crate::network::Network;
use crate::refusal::{Refusal, classify};

/// The label of a cancel: a 0-value transfer to the sender itself, replacing what was pending at its nonce.
pub const CANCEL_LABEL: &str = "cancel";
/// How often a waiting request looks in the ledger for a replacement of what it waits for.
const REPLACEMENT_LOOKUP: Duration = Duration::from_millis(500);

/// What to send: a contract call (or a plain transfer when `data` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub to: Address,
    pub data: Bytes,
    pub value: U256,
}

impl Call {
    pub fn new(to: Address, data: impl Into<Bytes>) -> Self {
        Call { to, data: data.into(), value: U256::ZERO }
    }

    pub fn with_value(mut self, value: U256) -> Self {
        self.value = value;
        self
    }

    fn request(&self, from: Address) -> TransactionRequest {
        TransactionRequest::default().from(from).to(self.to).with_input(self.data.clone()).with_value(self.value)
    }
}

/// A transaction a node accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentTx {
    pub hash: B256,
    pub nonce: u64,
    pub sender: Address,
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

/// How to replace a pending transaction at its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement<'a> {
    /// This transaction's call again, with higher fees.
    SpeedUp(&'a LedgerTx),
    /// A 0-value transfer to the sender with higher fees, so the pending call is never executed.
    Cancel,
}

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
}

impl std::ops::Deref for Mined {
    type Target = TransactionReceipt;

    fn deref(&self) -> &TransactionReceipt {
        &self.receipt
    }
}

/// A signed transaction as recorded, decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub call: Call,
    pub gas_limit: u64,
    pub fees: Fees,
}

/// Decodes a recorded transaction's call, gas limit and fees.
pub fn decode(raw: &[u8]) -> Result<Decoded, ChainError> {
    let envelope = TxEnvelope::decode_2718(&mut &raw[..])
        .map_err(|e| ChainError::Ledger(format!("a recorded transaction does not decode: {e}")))?;
    let fees = match &envelope {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) => {
            Fees::Legacy { gas_price: envelope.gas_price().unwrap_or_default() }
        }
        _ => Fees::Eip1559 {
            max_fee_per_gas: envelope.max_fee_per_gas(),
            max_priority_fee_per_gas: envelope.max_priority_fee_per_gas().unwrap_or_default(),
        },
    };
    let to = envelope.to().ok_or_else(|| ChainError::Ledger("a recorded transaction creates a contract".into()))?;
    Ok(Decoded {
        call: Call { to, data: envelope.input().clone(), value: envelope.value() },
        gas_limit: envelope.gas_limit(),
        fees,
    })
}

/// One lock per (chain id, sender): sends from one wallet take their nonces one at a time.
type SenderLocks = Mutex<HashMap<(u64, Address), Arc<tokio::sync::Mutex<()>>>>;

/// A wallet's lock held: this process's and, through the ledger, every instance's sharing the database.
struct WalletLock<S> {
    _local: tokio::sync::OwnedMutexGuard<()>,
    session: S,
}

pub struct TxSender<L: Ledger> {
    ledger: L,
    sender_locks: SenderLocks,
    contended_locks: AtomicU64,
}

/// What a nonce choice found: the nonce, and the recorded transactions it takes over (gone from the node, so
/// sending at their nonce drops them for good).
struct NonceChoice {
    nonce: u64,
    superseded: Vec<B256>,
}

impl<L: Ledger> TxSender<L> {
    pub fn new(ledger: L) -> Self {
        TxSender { ledger, sender_locks: Mutex::default(), contended_locks: AtomicU64::new(0) }
    }

    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// How many sends had to wait for another send from the same wallet.
    pub fn contended_locks(&self) -> u64 {
        self.contended_locks.load(Ordering::Relaxed)
    }

    /// Runs the call against the latest state and estimates its gas; a revert is an error and nothing is sent.
    pub async fn simulate(&self, network: &Network, from: Address, call: &Call) -> Result<u64, ChainError> {
        let request = call.request(from);
        let provider = network.provider();
        // Both at once: the call's error carries the clearer revert reason, so it is looked at first.
        let (called, estimate) = tokio::join!(provider.call(request.clone()), provider.estimate_gas(request));
        called.map_err(|e| revert_or_rpc(network, e))?;
        let estimate = estimate.map_err(|e| revert_or_rpc(network, e))?;
        // Estimates can fall short when state moves between estimate and inclusion; unused gas is not charged.
        Ok(estimate + estimate / 4)
    }

    /// Simulates, prices under the caps, then signs, records and sends; returns once a node has accepted the
    /// transaction. A send refused by a cap or a revert signs nothing.
    pub async fn send(
        self: &Arc<Self>,
        network: &Arc<Network>,
        signer: &PrivateKeySigner,
        call: &Call,
        label: &str,
    ) -> Result<SentTx, ChainError> {
        let from = signer.address();
        let (gas_limit, market, l1_fee) = tokio::try_join!(
            self.simulate(network, from, call),
            gas::market_fees(network),
            crate::l1_fee::bound(network, call.data.len())
        )?;
        let fees =
            gas::offer(&market, gas_limit, &network.settings().fee_caps.after_l1_fee(l1_fee.unwrap_or_default())?)?;
        let job = Job {
            call: call.clone(),
            gas_limit,
            pricing: Pricing::Offer(fees),
            label: label.to_string(),
            request_key: current_request_key(),
        };
        self.run_locked(network, signer, Slot::Next, job).await
    }

    /// Sends and waits for the receipt (or the network's timeout).
    pub async fn send_and_wait(
        self: &Arc<Self>,
        network: &Arc<Network>,
        signer: &PrivateKeySigner,
        call: &Call,
        label: &str,
    ) -> Result<(SentTx, Outcome), ChainError> {
        let sent = self.send(network, signer, call, label).await?;
        self.wait_for(network, sent, network.settings().tx_timeout).await
    }

    /// Waits for `sent` (or a replacement of it) to be mined; the answer names the transaction that was.
    pub async fn wait_for(
        &self,
        network: &Network,
        mut sent: SentTx,
        timeout: Duration,
    ) -> Result<(SentTx, Outcome), ChainError> {
        let outcome = self.wait(network, sent.hash, timeout).await?;
        if let Outcome::Mined(receipt) | Outcome::Cancelled(receipt) = &outcome {
            sent.hash = receipt.transaction_hash;
        }
        Ok((sent, outcome))
    }

    /// Replaces the pending transaction at `nonce` of `signer`'s wallet: a speed-up re-signs a transaction's call,
    /// a cancel sends 0 to the wallet itself; either with fees at least 12.5 % over every transaction pending at
    /// that nonce, under the caps. With `only_over`, only if that is still the newest transaction pending there
    /// (the tracker of another instance may have replaced it meanwhile). Returns the replacement, once a node
    /// accepted it.
    pub async fn replace(
        self: &Arc<Self>,
        network: &Arc<Network>,
        signer: &PrivateKeySigner,
        nonce: u64,
        how: Replacement<'_>,
        only_over: Option<B256>,
    ) -> Result<SentTx, ChainError> {
        let from = signer.address();
        let (call, label, gas_limit) = match how {
            Replacement::SpeedUp(original) => {
                let decoded = decode(&original.raw)?;
                // The call must still succeed: a swap past its deadline or its slippage is cancelled, not sped up.
                self.simulate(network, from, &decoded.call).await?;
                (decoded.call, original.label.clone(), decoded.gas_limit)
            }
            Replacement::Cancel => {
                // A transfer's gas is 21,000 on Ethereum, more where the limit carries an L1 share (Arbitrum).
                let cancel = Call::new(from, Bytes::new());
                let gas_limit = self.simulate(network, from, &cancel).await?;
                (cancel, CANCEL_LABEL.to_string(), gas_limit)
            }
        };
        let (market, l1_fee) =
            tokio::try_join!(gas::market_fees(network), crate::l1_fee::bound(network, call.data.len()))?;
        let caps = network.settings().fee_caps.after_l1_fee(l1_fee.unwrap_or_default())?;
        let pricing = Pricing::Replace { market, caps, only_over };
        let job = Job { call, gas_limit, pricing, label, request_key: current_request_key() };
        self.run_locked(network, signer, Slot::Exactly(nonce), job).await
    }

    /// Settles what a send that never finished left `signed` (the gateway stopped between signing and sending,
    /// or lost the node while sending): `pending` if the node has it, `abandoned` if not. Nothing is sent.
    pub async fn settle_unsent(&self, network: &Network, from: Address) -> Result<(), ChainError> {
        let mut lock = self.lock(network, from).await?;
        let settled = self.next_nonce(&mut lock.session, network, from).await.map(|_| ());
        lock.session.release().await;
        settled
    }

    async fn lock(&self, network: &Network, from: Address) -> Result<WalletLock<L::Session>, ChainError> {
        let local =
            self.sender_locks.lock().expect("sender lock map").entry((network.chain_id(), from)).or_default().clone();
        let local = match local.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                self.contended_locks.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("gateway_nonce_lock_waits_total", "network" => network.name().to_string())
                    .increment(1);
                local.lock_owned().await
            }
        };
        let session = self.ledger.lock_sender(network.chain_id(), from).await.map_err(ChainError::Ledger)?;
        Ok(WalletLock { _local: local, session })
    }

    /// Runs a send in a task of its own: it takes the wallet's lock there, and from then on runs to its end even
    /// if the request that asked for it goes away, so a transaction is never left half-recorded by a client hanging
    /// up, and a lock is never left half-taken. A request that went away or withdrew ([`Commitment`]) while waiting
    /// for the lock signs nothing; once it has the lock, the request is committed to the send.
    async fn run_locked(
        self: &Arc<Self>,
        network: &Arc<Network>,
        signer: &PrivateKeySigner,
        slot: Slot,
        job: Job,
    ) -> Result<SentTx, ChainError> {
        let asking = Arc::new(());
        let still_asked = Arc::downgrade(&asking);
        let commitment = Commitment::current();
        let (this, network, signer) = (self.clone(), network.clone(), signer.clone());
        let task = tokio::spawn(async move {
            let mut lock = this.lock(&network, signer.address()).await?;
            let asked = still_asked.upgrade().is_some() && commitment.is_none_or(|request| request.commit());
            let result = match asked {
                true => this.send_locked(&mut lock.session, &network, &signer, slot, &job).await,
                false => Err(ChainError::Withdrawn),
            };
            lock.session.release().await;
            result
        });
        let result = task.await.map_err(|e| ChainError::Ledger(format!("the send task failed: {e}")))?;
        drop(asking);
        result
    }

    async fn send_locked(
        &self,
        session: &mut L::Session,
        network: &Network,
        signer: &PrivateKeySigner,
        slot: Slot,
        job: &Job,
    ) -> Result<SentTx, ChainError> {
        let from = signer.address();
        let provider = network.provider();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (choice, fees, replaces) = match (slot, &job.pricing) {
                (Slot::Next, Pricing::Offer(fees)) => (self.next_nonce(session, network, from).await?, *fees, None),
                (Slot::Exactly(nonce), Pricing::Replace { market, caps, only_over }) => {
                    let over = (nonce, *only_over);
                    let (fees, replaces) =
                        self.replacing(session, network, from, over, (market, caps), job.gas_limit).await?;
                    (NonceChoice { nonce, superseded: vec![] }, fees, Some(replaces))
                }
                (Slot::Exactly(nonce), Pricing::Offer(fees)) => {
                    (NonceChoice { nonce, superseded: vec![] }, *fees, None)
                }
                (Slot::Next, Pricing::Replace { .. }) => unreachable!("a replacement names its nonce"),
            };
            let nonce = choice.nonce;
            let (hash, raw) = sign(signer, network.chain_id(), nonce, job.gas_limit, fees, &job.call)?;
            let entry = LedgerTx {
                hash,
                chain_id: network.chain_id(),
                network: network.name().to_string(),
                sender: from,
                nonce,
                raw: raw.clone(),
                status: TxStatus::Signed,
                label: job.label.clone(),
                inclusion: None,
                replaces,
                request_key: job.request_key.clone(),
                recorded_at: now_ms(),
            };
            session.record(&entry).await.map_err(ChainError::Ledger)?;
            failpoint("abort-after-sign");
            let sent = SentTx { hash, nonce, sender: from };
            let refusal = match provider.send_raw_transaction(&raw).await {
                Ok(_) => None,
                Err(RpcError::ErrorResp(payload)) => Some(payload.message.to_string()),
                Err(error) => {
                    // It may or may not have reached a node; the row stays `signed` and the next send from this
                    // wallet settles it (found on the node: pending; not: abandoned). It is never sent again.
                    return Err(ChainError::Unreachable {
                        network: network.name().to_string(),
                        detail: format!(
                            "transaction {hash} is signed and recorded but may not have reached a node ({}); it is \
                             not sent again: poll it",
                            network.rpc_error(error)
                        ),
                    });
                }
            };
            let refusal = match refusal.map(|message| (classify(&message), message)) {
                // The node may refuse bytes it already took: an earlier post that timed out got through and the
                // transport posted them again ("nonce too low" once mined). If it knows the hash, it is this
                // transaction, sent; signing the call again at the next nonce would do it twice.
                Some((Refusal::AlreadyKnown, _)) | None => None,
                Some(refused) => match provider.get_transaction_by_hash(hash).await {
                    Ok(Some(_)) => None,
                    Ok(None) => Some(refused),
                    Err(error) => {
                        return Err(ChainError::Unreachable {
                            network: network.name().to_string(),
                            detail: format!(
                                "transaction {hash} was refused ({}) and the node cannot say whether an earlier \
                                 attempt reached it ({}); it is not sent again: poll it",
                                refused.1,
                                network.rpc_error(error)
                            ),
                        });
                    }
                },
            };
            match refusal {
                None => {
                    // Sent: from here the answer is the hash whatever the ledger says, or a client would send it
                    // again. A row left `signed` is settled (pending, the node has it) by the next send.
                    if let Err(error) = self.mark(session, hash, TxStatus::Pending, &[TxStatus::Signed]).await {
                        tracing::error!(%hash, %error, "a sent transaction could not be marked pending");
                    }
                    // The same call at the same nonce and fees signs to the same bytes: then it is that transaction.
                    for old in choice.superseded.into_iter().filter(|old| *old != hash) {
                        if let Err(error) = self.mark(session, old, TxStatus::Dropped, &[TxStatus::Pending]).await {
                            tracing::error!(hash = %old, %error, "a transaction whose nonce was taken could not be marked dropped");
                        }
                    }
                    tracing::info!(%hash, nonce, label = %job.label, network = network.name(), "transaction sent");
                    return Ok(sent);
                }
                Some((refusal, message)) => {
                    self.mark(session, hash, TxStatus::Rejected, &[TxStatus::Signed]).await?;
                    let retry = matches!(refusal, Refusal::NonceTooLow | Refusal::ReplacementUnderpriced)
                        && slot == Slot::Next
                        && attempts < 3;
                    if retry {
                        tracing::warn!(%hash, nonce, reason = %message, "nonce out of step with the node; choosing again");
                        continue;
                    }
                    return Err(ChainError::Rejected(message));
                }
            }
        }
    }

    /// The fees a replacement at `nonce` needs (over every transaction pending there) and the newest of those,
    /// which it replaces (and must be `only_over`, if given).
    async fn replacing(
        &self,
        session: &mut L::Session,
        network: &Network,
        from: Address,
        (nonce, only_over): (u64, Option<B256>),
        (market, caps): (&gas::MarketFees, &gas::FeeCaps),
        gas_limit: u64,
    ) -> Result<(Fees, B256), ChainError> {
        let rows =
            session.at_nonce(network.name(), network.chain_id(), from, nonce).await.map_err(ChainError::Ledger)?;
        let pending: Vec<LedgerTx> = rows.into_iter().filter(|row| row.status == TxStatus::Pending).collect();
        let Some(newest) = pending.iter().max_by_key(|row| row.recorded_at) else {
            return Err(ChainError::NothingToReplace(format!(
                "no transaction of {from} is pending at nonce {nonce} on {}",
                network.name()
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

    /// The sender's next nonce: the node's pending count, past any recorded transaction the node still holds
    /// above it. Recorded transactions are settled on the way: a `signed` one (left by a send that never
    /// finished) is `pending` if the node has it and `abandoned` if not; a `pending` one the node no longer
    /// knows leaves its nonce free, and is dropped once another transaction takes that nonce.
    async fn next_nonce(
        &self,
        session: &mut L::Session,
        network: &Network,
        from: Address,
    ) -> Result<NonceChoice, ChainError> {
        let provider = network.provider();
        let pending = provider.get_transaction_count(from).pending().await.map_err(|e| network.rpc_error(e))?;
        let rows =
            session.unsettled(network.name(), network.chain_id(), from, pending).await.map_err(ChainError::Ledger)?;
        let mut held = BTreeSet::new();
        let mut gone = Vec::new();
        for row in rows {
            let known = provider.get_transaction_by_hash(row.hash).await.map_err(|e| network.rpc_error(e))?.is_some();
            match (row.status, known) {
                (TxStatus::Signed, true) => {
                    self.mark(session, row.hash, TxStatus::Pending, &[TxStatus::Signed]).await?;
                    if row.nonce >= pending {
                        held.insert(row.nonce);
                    }
                }
                (TxStatus::Signed, false) => {
                    tracing::warn!(hash = %row.hash, nonce = row.nonce, "a transaction signed but never sent is abandoned; it will not be sent");
                    self.mark(session, row.hash, TxStatus::Abandoned, &[TxStatus::Signed]).await?;
                }
                (_, true) => {
                    held.insert(row.nonce);
                }
                (_, false) => gone.push(row),
            }
        }
        let mut nonce = pending;
        while held.contains(&nonce) {
            nonce += 1;
        }
        let superseded = gone.iter().filter(|row| row.nonce == nonce).map(|row| row.hash).collect();
        Ok(NonceChoice { nonce, superseded })
    }

    async fn mark(
        &self,
        session: &mut L::Session,
        hash: B256,
        to: TxStatus,
        from: &[TxStatus],
    ) -> Result<(), ChainError> {
        if session.transition(hash, to, from).await.map_err(ChainError::Ledger)? {
            count_transaction(to);
        }
        Ok(())
    }

    /// Waits up to `timeout` for `hash`, or another transaction at its nonce recorded as standing for it (what it
    /// replaced, what replaced it), to be mined, and records the receipt. A cancel mined in place of `hash` is
    /// `Cancelled`. Once a transaction is sent, nothing here is an error but a node unreachable to the end.
    pub async fn wait(&self, network: &Network, hash: B256, timeout: Duration) -> Result<Outcome, ChainError> {
        let deadline = Instant::now() + timeout;
        let mut watched = vec![hash];
        let mut looked_up = Instant::now();
        // A local node mines within a millisecond or two; a public chain takes seconds. Start by asking often.
        let mut pause = Duration::from_millis(1);
        loop {
            for &candidate in &watched {
                match network.provider().get_transaction_receipt(candidate).await {
                    Ok(Some(receipt)) => {
                        let receipt = Mined::of(network, receipt).await;
                        let mined = match self.record_receipt(network, &receipt).await {
                            Ok(row) => row,
                            Err(error) => {
                                tracing::error!(hash = %candidate, %error, "a receipt could not be recorded; the tracker will");
                                None
                            }
                        };
                        let cancelled = candidate != hash && mined.is_some_and(|row| row.label == CANCEL_LABEL);
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
                match self.family(hash).await {
                    Ok(family) => watched = family,
                    Err(error) => tracing::warn!(%hash, %error, "replacements could not be looked up; retrying"),
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(network.receipt_poll());
        }
    }

    /// `hash` with what it replaced, directly or not, and every transaction recorded as replacing any of these.
    async fn family(&self, hash: B256) -> Result<Vec<B256>, ChainError> {
        let mut root = hash;
        let mut family = vec![hash];
        while let Some(replaced) =
            self.ledger.find(root).await.map_err(ChainError::Ledger)?.and_then(|row| row.replaces)
        {
            if family.contains(&replaced) {
                break;
            }
            family.push(replaced);
            root = replaced;
        }
        let mut next = 0;
        while next < family.len() {
            for replacement in self.ledger.replacements(family[next]).await.map_err(ChainError::Ledger)? {
                if !family.contains(&replacement.hash) {
                    family.push(replacement.hash);
                }
            }
            next += 1;
        }
        Ok(family)
    }

    /// Records a receipt and settles what else was pending at its nonce: what it replaced (directly or not) is
    /// `replaced`, anything else there is `dropped`. Returns the ledger's row of the mined transaction, if it has one.
    pub async fn record_receipt(&self, network: &Network, receipt: &Mined) -> Result<Option<LedgerTx>, ChainError> {
        let Some(inclusion) = receipt.inclusion() else { return Ok(None) };
        network.saw_block(inclusion.block_number);
        let status = if receipt.status() { TxStatus::Confirmed } else { TxStatus::Failed };
        let hash = receipt.transaction_hash;
        let ledger_error = ChainError::Ledger;
        let at_nonce = self.ledger.same_nonce(hash).await.map_err(ledger_error)?;
        let Some(row) = at_nonce.iter().find(|row| row.hash == hash).cloned() else { return Ok(None) };
        if row.status != status || row.inclusion != Some(inclusion) {
            self.ledger.settle(hash, status, inclusion).await.map_err(ledger_error)?;
            if !row.status.is_mined() {
                count_transaction(status);
            }
        }
        let mut ancestors = HashSet::new();
        let mut replaced = row.replaces;
        while let Some(ancestor) = replaced.filter(|hash| ancestors.insert(*hash)) {
            let from = [TxStatus::Signed, TxStatus::Pending, TxStatus::Dropped];
            if self.ledger.transition(ancestor, TxStatus::Replaced, &from).await.map_err(ledger_error)? {
                count_transaction(TxStatus::Replaced);
            }
            replaced = self.ledger.find(ancestor).await.map_err(ledger_error)?.and_then(|row| row.replaces);
        }
        for other in at_nonce.iter().filter(|other| other.hash != hash && other.status == TxStatus::Pending) {
            if self
                .ledger
                .transition(other.hash, TxStatus::Dropped, &[TxStatus::Pending])
                .await
                .map_err(ledger_error)?
            {
                count_transaction(TxStatus::Dropped);
            }
        }
        Ok(Some(row))
    }
}

/// Which nonce a send takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The wallet's next one.
    Next,
    /// This one, replacing what is pending there.
    Exactly(u64),
}

/// What a locked send signs.
struct Job {
    call: Call,
    gas_limit: u64,
    pricing: Pricing,
    label: String,
    request_key: Option<String>,
}

tokio::task_local! {
    /// The Idempotency-Key of the request being served, which every transaction it sends is recorded with.
    static REQUEST_KEY: String;
}

/// Runs `work` on behalf of the request with Idempotency-Key `key`: every transaction it sends is recorded with
/// the key, so a retry can be told what the first attempt sent.
pub async fn on_behalf_of<F: std::future::Future>(key: String, work: F) -> F::Output {
    REQUEST_KEY.scope(key, work).await
}

fn current_request_key() -> Option<String> {
    REQUEST_KEY.try_with(Clone::clone).ok()
}

/// How a locked send sets its fees.
enum Pricing {
    /// As priced before the lock was taken.
    Offer(Fees),
    /// Over what is pending at its nonce, from the market's fees, under `caps` (the network's, less the L1 data
    /// fee); only over `only_over` when given.
    Replace { market: gas::MarketFees, caps: gas::FeeCaps, only_over: Option<B256> },
}

pub fn count_transaction(status: TxStatus) {
    let outcome = match status {
        TxStatus::Signed => return,
        TxStatus::Pending => "sent",
        other => other.as_str(),
    };
    metrics::counter!("gateway_transactions_total", "outcome" => outcome).increment(1);
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Fault injection for the crash tests: with `GATEWAY_FAILPOINT=<name>` the process dies at the point so named,
/// as a crash or `kill -9` would. Unset (always, outside those tests) it does nothing.
fn failpoint(name: &str) {
    static SET: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if SET.get_or_init(|| std::env::var("GATEWAY_FAILPOINT").ok()).as_deref() == Some(name) {
        eprintln!("GATEWAY_FAILPOINT={name}: aborting");
        std::process::abort();
    }
}

fn sign(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    gas_limit: u64,
    fees: Fees,
    call: &Call,
) -> Result<(B256, Bytes), ChainError> {
    let signing_error = |e: alloy::signers::Error| ChainError::Keystore(format!("signing failed: {e}"));
    let envelope: TxEnvelope = match fees {
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => {
            let mut tx = TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: TxKind::Call(call.to),
                value: call.value,
                access_list: Default::default(),
                input: call.data.clone(),
            };
            let signature = signer.sign_transaction_sync(&mut tx).map_err(signing_error)?;
            tx.into_signed(signature).into()
        }
        Fees::Legacy { gas_price } => {
            let mut tx = TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit,
                to: TxKind::Call(call.to),
                value: call.value,
                input: call.data.clone(),
            };
            let signature = signer.sign_transaction_sync(&mut tx).map_err(signing_error)?;
            tx.into_signed(signature).into()
        }
    };
    Ok((*envelope.tx_hash(), envelope.encoded_2718().into()))
}

fn revert_or_rpc(network: &Network, error: RpcError<alloy::transports::TransportErrorKind>) -> ChainError {
    match error {
        RpcError::ErrorResp(payload) => ChainError::Reverted { reason: revert_reason(&payload) },
        other => network.rpc_error(other),
    }
}

/// The revert's reason string, a panic's description, a custom error's selector, or the node's message.
pub fn revert_reason(payload: &ErrorPayload) -> String {
    if let Some(data) = payload.as_revert_data() {
        if let Some(reason) = alloy::sol_types::decode_revert_reason(&data) {
            return reason;
        }
        if data.len() >= 4 {
            return format!("custom error 0x{} ({})", alloy::hex::encode(&data[..4]), payload.message);
        }
    }
    payload.message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_transaction_decodes_to_its_call_gas_and_fees() {
        let signer = PrivateKeySigner::random();
        let call = Call::new(Address::repeat_byte(7), vec![1, 2, 3]).with_value(U256::from(5));
        for fees in [Fees::Eip1559 { max_fee_per_gas: 30, max_priority_fee_per_gas: 2 }, Fees::Legacy { gas_price: 40 }]
        {
            let (_, raw) = sign(&signer, 31337, 9, 50_000, fees, &call).unwrap();
            let decoded = decode(&raw).unwrap();
            assert_eq!(decoded.call, call);
            assert_eq!(decoded.gas_limit, 50_000);
            assert_eq!(decoded.fees, fees);
        }
    }
}
