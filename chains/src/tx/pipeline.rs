//! The one place that sends transactions, as a pipeline of small steps: simulate, price under the network's caps,
//! then under the wallet's lock choose the nonce, sign, record in the ledger, broadcast, and classify what the node
//! said; and wait for the receipt, following a speed-up or a cancel to whichever transaction at that nonce is
//! mined. The steps that do not depend on each other overlap: the lock, the nonce and (for a call of a shape sent
//! before) the signing and the ledger's write run while the call is simulated, the write while the node is also
//! asked for the nonce; what is written is sent only once both agree, and taken back otherwise ([`ahead`]).
//!
//! Nothing is ever broadcast again later: a transaction is sent once, when it is asked for, or replaced (with
//! higher fees, at the same nonce) when someone asks for that. The nonce comes from the node's pending count and
//! the ledger's transactions the node still knows ([`nonce::choose`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;

use super::broadcast::{Broadcast, broadcast};
use super::call::{Call, SentTx, decode, sign};
use super::commitment::Commitment;
use super::inquiry;
use super::inquiry::Answered;
use super::ledger::{Ledger, LedgerTx, SenderSession, now_ms};
use super::lifecycle::{Event, TxKind, TxStatus, count_transaction};
use super::nonce::{self, NonceChoice};
use super::prepare::{self, Prepared};
use super::receipt::{Mined, Outcome};
use super::refusal::Refusal;
use super::request::current_request_key;
use super::simulation::{self, GasLimits};
use crate::error::ChainError;
use crate::fee_market::read_market_fees;
use crate::gas::{FeeCaps, Fees, MarketFees};
use crate::network::Network;

mod ahead;

/// The label of a cancel, as logs and metrics show it.
pub const CANCEL_LABEL: &str = "cancel";

/// How to replace a pending transaction at its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement<'a> {
    /// This transaction's call again, with higher fees.
    SpeedUp(&'a LedgerTx),
    /// A 0-value transfer to the sender with higher fees, so the pending call is never executed.
    Cancel,
}

/// One lock per (chain id, sender): sends from one wallet take their nonces one at a time. Each holds the nonce
/// after the last one this process sent from the wallet, a guess at the next ([`ahead`]).
type SenderLocks = Mutex<HashMap<(u64, Address), Arc<tokio::sync::Mutex<Option<u64>>>>>;

/// A wallet's lock held: this process's and, through the ledger, every instance's sharing the database.
struct WalletLock<S> {
    after_last_sent: tokio::sync::OwnedMutexGuard<Option<u64>>,
    session: S,
}

pub struct TxSender<L: Ledger> {
    ledger: L,
    gas_limits: GasLimits,
    sender_locks: SenderLocks,
    contended_locks: AtomicU64,
}

/// Where a locked send goes and how it is priced: at the wallet's next nonce, as priced before the lock was taken;
/// or at a given nonce over what is pending there, from the market's fees under `caps` (the network's, less the L1
/// data fee), only over `only_over` when given.
#[derive(Debug, Clone, Copy)]
enum Placement {
    Next(Fees),
    Replace { nonce: u64, market: MarketFees, caps: FeeCaps, only_over: Option<B256> },
}

/// What a locked send is to sign: known, or a call at the next nonce still being prepared.
enum Plan {
    Known(Box<Job>),
    WhenPrepared(Preparing),
}

/// A call at the next nonce whose gas limit and fees are still being prepared while the lock is taken and the
/// nonce chosen (`None` from `prepared`: not to be sent).
struct Preparing {
    call: Call,
    label: String,
    request_key: Option<String>,
    prepared: tokio::sync::oneshot::Receiver<Option<Prepared>>,
}

/// A transaction signed and recorded, not sent yet: its hash and its bytes.
type Written = (B256, Bytes);

/// What a locked send signs.
struct Job {
    call: Call,
    gas_limit: u64,
    placement: Placement,
    kind: TxKind,
    label: String,
    request_key: Option<String>,
    /// Whether the sender waits for the receipt: then a node that can answers the post with it.
    wait: bool,
}

/// What a send does after its broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Sent,
    /// The nonce was out of step with the node: choose again.
    Retry,
    Rejected(String),
    /// The nodes refuse for too many requests: not taken, nothing to choose again.
    Limited,
}

/// Sends at the next nonce choose again this many times when the node finds the nonce out of step.
const ATTEMPTS: u32 = 3;

/// Whether a broadcast's answer ends the send: a refusal of the nonce is retried at the next nonce (a replacement
/// names its nonce, so it is not).
fn verdict(broadcast: &Broadcast, placement: &Placement, attempt: u32) -> Verdict {
    match broadcast {
        Broadcast::Taken(_) => Verdict::Sent,
        Broadcast::Refused(Refusal::RateLimited, _) => Verdict::Limited,
        Broadcast::Refused(refusal, message) => {
            let out_of_step = matches!(*refusal, Refusal::NonceTooLow | Refusal::ReplacementUnderpriced);
            match out_of_step && matches!(placement, Placement::Next(_)) && attempt < ATTEMPTS {
                true => Verdict::Retry,
                false => Verdict::Rejected(message.clone()),
            }
        }
    }
}

impl<L: Ledger> TxSender<L> {
    pub fn new(ledger: L) -> Self {
        TxSender {
            ledger,
            gas_limits: GasLimits::default(),
            sender_locks: Mutex::default(),
            contended_locks: AtomicU64::new(0),
        }
    }

    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// How many sends had to wait for another send from the same wallet.
    pub fn contended_locks(&self) -> u64 {
        self.contended_locks.load(Ordering::Relaxed)
    }

    /// Runs the call against the latest state and returns the gas limit to sign it with ([`simulation`]); a revert
    /// is an error and nothing is sent.
    pub async fn simulate(&self, network: &Network, from: Address, call: &Call) -> Result<u64, ChainError> {
        simulation::simulate(&self.gas_limits, network, from, call).await
    }

    /// Simulates and prices under the caps: what [`TxSender::send_when_ready`] signs with. A revert or a cap in
    /// the way is an error, and nothing is sent.
    pub async fn prepare(&self, network: &Network, from: Address, call: &Call) -> Result<Prepared, ChainError> {
        prepare::prepare(&self.gas_limits, network, from, call).await
    }

    /// Sends `call` once `ready` gives its gas limit and fees ([`TxSender::prepare`], and whatever else must hold
    /// first), then waits for the receipt (or the network's timeout). Meanwhile the wallet's lock is taken and the
    /// nonce chosen, so those round trips cost no time of their own. `ready` giving `None` sends nothing (and
    /// answers `None`): the caller knows why.
    pub async fn send_when_ready(
        self: &Arc<Self>,
        network: &Arc<Network>,
        signer: &PrivateKeySigner,
        call: &Call,
        label: &str,
        ready: impl std::future::Future<Output = Option<Prepared>>,
    ) -> Result<Option<(SentTx, Outcome)>, ChainError> {
        crate::fee_market::read_ahead(network);
        let (prepared_tx, prepared) = tokio::sync::oneshot::channel();
        let plan = Plan::WhenPrepared(Preparing {
            call: call.clone(),
            label: label.to_string(),
            request_key: current_request_key(),
            prepared,
        });
        // On the heap: what it awaits (simulation, fee reads, a caller's checks) makes a deep future.
        let ready = Box::pin(ready);
        let give = async {
            // The send's task first: it takes the lock and starts reading the ledger (the write ahead's way, the
            // longer one) before the preparation's node calls are made.
            tokio::task::yield_now().await;
            let _ = prepared_tx.send(ready.await);
        };
        let (sent, ()) = tokio::join!(self.run_locked(network, signer, plan), give);
        match sent? {
            Some((sent, receipt)) => {
                Ok(Some(self.wait_with(network, sent, network.settings().tx_timeout, receipt).await?))
            }
            None => Ok(None),
        }
    }

    /// Prepares and sends, then waits for the receipt (or the network's timeout).
    pub async fn send_and_wait(
        self: &Arc<Self>,
        network: &Arc<Network>,
        signer: &PrivateKeySigner,
        call: &Call,
        label: &str,
    ) -> Result<(SentTx, Outcome), ChainError> {
        let mut refusal = None;
        let ready =
            async { self.prepare(network, signer.address(), call).await.map_err(|error| refusal = Some(error)).ok() };
        let sent = self.send_when_ready(network, signer, call, label, ready).await?;
        sent.ok_or_else(|| refusal.expect("not ready means refused"))
    }

    /// Waits for `sent` (or a replacement of it) to be mined; the answer names the transaction that was.
    pub async fn wait_for(
        &self,
        network: &Network,
        sent: SentTx,
        timeout: Duration,
    ) -> Result<(SentTx, Outcome), ChainError> {
        self.wait_with(network, sent, timeout, None).await
    }

    /// [`TxSender::wait_for`], starting from `sent`'s receipt when the node answered its post with it.
    async fn wait_with(
        &self,
        network: &Network,
        mut sent: SentTx,
        timeout: Duration,
        receipt: Option<Answered>,
    ) -> Result<(SentTx, Outcome), ChainError> {
        let outcome = inquiry::wait(&self.ledger, network, sent.hash, timeout, receipt).await?;
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
        let (call, kind, label, gas_limit) = match how {
            Replacement::SpeedUp(original) => {
                let decoded = decode(&original.raw)?;
                // The call must still succeed: a swap past its deadline or its slippage is cancelled, not sped up.
                self.simulate(network, from, &decoded.call).await?;
                (decoded.call, original.kind, original.label.clone(), decoded.gas_limit)
            }
            Replacement::Cancel => {
                // A transfer's gas is 21,000 on Ethereum, more where the limit carries an L1 share (Arbitrum).
                let cancel = Call::cancel(from);
                let gas_limit = self.simulate(network, from, &cancel).await?;
                (cancel, TxKind::Cancel, CANCEL_LABEL.to_string(), gas_limit)
            }
        };
        // A speed-up of a call is a speed-up; of a cancel, still a cancel.
        let kind = if kind == TxKind::Call { TxKind::SpeedUp } else { kind };
        let (market, caps) = prepare::market_and_caps(network, &call, read_market_fees(network)).await?;
        let placement = Placement::Replace { nonce, market, caps, only_over };
        let job = Job { call, gas_limit, placement, kind, label, request_key: current_request_key(), wait: false };
        let sent = self.run_locked(network, signer, Plan::Known(Box::new(job))).await?;
        Ok(sent.expect("a known job is sent or refused").0)
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
        let session = self.ledger.lock_sender(network.chain_id(), from).await?;
        Ok(WalletLock { after_last_sent: local, session })
    }

    /// Runs a send in a task of its own: it takes the wallet's lock there, and from then on runs to its end even
    /// if the request that asked for it goes away, so a transaction is never left half-recorded by a client hanging
    /// up, and a lock is never left half-taken. A request that went away or withdrew ([`Commitment`]) while waiting
    /// for the lock, or for its call to be prepared, sends nothing (what was written ahead is taken back); once it
    /// has both, the request is committed to the send. `None`: the call was not to be sent after all.
    async fn run_locked(
        self: &Arc<Self>,
        network: &Arc<Network>,
        signer: &PrivateKeySigner,
        plan: Plan,
    ) -> Result<Option<(SentTx, Option<Answered>)>, ChainError> {
        let asking = Arc::new(());
        let still_asked = Arc::downgrade(&asking);
        let commitment = Commitment::current();
        let (this, network, signer) = (self.clone(), network.clone(), signer.clone());
        let task = tokio::spawn(async move {
            let mut lock = this.lock(&network, signer.address()).await?;
            let WalletLock { after_last_sent, session } = &mut lock;
            let result = async {
                let (job, chosen, written) = match plan {
                    Plan::Known(job) => (*job, None, None),
                    Plan::WhenPrepared(preparing) => {
                        match this.when_prepared(session, &network, &signer, preparing, **after_last_sent).await? {
                            Some((job, chosen, written)) => (job, Some(chosen), written),
                            None => return Ok(None),
                        }
                    }
                };
                match still_asked.upgrade().is_some() && commitment.is_none_or(|request| request.commit()) {
                    true => {
                        let sent = this.send_locked(session, &network, &signer, &job, chosen, written).await?;
                        if let Placement::Next(_) = job.placement {
                            **after_last_sent = Some(sent.0.nonce + 1);
                        }
                        Ok(Some(sent))
                    }
                    false => {
                        if let Some((hash, _)) = written {
                            this.take_back(session, hash).await;
                        }
                        Err(ChainError::Withdrawn)
                    }
                }
            }
            .await;
            lock.session.release().await;
            result
        });
        let result = task.await.map_err(|e| ChainError::Interrupted(format!("the send task failed: {e}")))?;
        drop(asking);
        result
    }

    /// Under the wallet's lock: place (nonce and fees), sign, record, broadcast, and act on what the node said.
    /// `written`: the job already signed and recorded at the `chosen` nonce.
    async fn send_locked(
        &self,
        session: &mut L::Session,
        network: &Network,
        signer: &PrivateKeySigner,
        job: &Job,
        mut chosen: Option<NonceChoice>,
        mut written: Option<Written>,
    ) -> Result<(SentTx, Option<Answered>), ChainError> {
        let from = signer.address();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (choice, fees, replaces) = match (chosen.take(), job.placement) {
                (Some(choice), Placement::Next(fees)) => (choice, fees, None),
                _ => self.place(session, network, from, job).await?,
            };
            let (hash, raw) = match written.take() {
                Some(written) => written,
                None => self.write_ahead(session, network, signer, job, (choice.nonce, fees, replaces)).await?,
            };
            failpoint("abort-after-sign");
            let broadcast = broadcast(network, (hash, &raw), (from, choice.nonce), job.wait).await?;
            match verdict(&broadcast, &job.placement, attempt) {
                Verdict::Sent => {
                    let Broadcast::Taken(receipt) = broadcast else { unreachable!("sent means taken") };
                    let receipt = match receipt {
                        Some(receipt) => Some(Box::new(Mined::of(network, *receipt).await)),
                        None => None,
                    };
                    let settled = self.settle_sent(session, hash, receipt.as_deref(), choice.superseded).await;
                    tracing::info!(%hash, nonce = choice.nonce, label = %job.label, network = network.name(), "transaction sent");
                    let recorded = settled && matches!(job.placement, Placement::Next(_));
                    let answered = receipt.map(|receipt| Answered { receipt, recorded });
                    return Ok((SentTx { hash, nonce: choice.nonce, sender: from }, answered));
                }
                Verdict::Retry => {
                    self.mark(session, hash, Event::Refused).await?;
                    tracing::warn!(%hash, nonce = choice.nonce, "nonce out of step with the node; choosing again");
                }
                Verdict::Rejected(message) => {
                    self.mark(session, hash, Event::Refused).await?;
                    return Err(ChainError::Rejected(message));
                }
                Verdict::Limited => {
                    self.mark(session, hash, Event::Refused).await?;
                    return Err(ChainError::RateLimited { network: network.name().to_string() });
                }
            }
        }
    }

    /// Signs `job` at `nonce` with `fees`, replacing `replaces`, and records it: in the ledger before any node may
    /// have it.
    async fn write_ahead(
        &self,
        session: &mut L::Session,
        network: &Network,
        signer: &PrivateKeySigner,
        job: &Job,
        at: (u64, Fees, Option<B256>),
    ) -> Result<Written, ChainError> {
        let signed = sign(signer, network.chain_id(), at.0, job.gas_limit, at.1, &job.call)?;
        self.record(session, network, signer.address(), job, at, signed).await
    }

    /// Records `signed`, `job` signed at `nonce` with `fees`, replacing `replaces`.
    async fn record(
        &self,
        session: &mut L::Session,
        network: &Network,
        sender: Address,
        job: &Job,
        (nonce, _, replaces): (u64, Fees, Option<B256>),
        (hash, raw): Written,
    ) -> Result<Written, ChainError> {
        session
            .record(&LedgerTx {
                hash,
                chain_id: network.chain_id(),
                network: network.name().to_string(),
                sender,
                nonce,
                raw: raw.clone(),
                status: TxStatus::Signed,
                kind: job.kind,
                label: job.label.clone(),
                inclusion: None,
                replaces,
                request_key: job.request_key.clone(),
                recorded_at: now_ms(),
            })
            .await?;
        Ok((hash, raw))
    }

    /// Takes back a transaction written ahead of a send that is not made after all. If that fails, the next send
    /// from the wallet finds it signed, unknown to the node, and abandons it.
    async fn take_back(&self, session: &mut L::Session, hash: B256) {
        if let Err(error) = session.take_back(hash).await {
            tracing::warn!(%hash, %error, "a transaction written ahead of a send not made could not be taken back");
        }
    }

    /// The nonce a send takes, the fees it offers, and what it replaces.
    async fn place(
        &self,
        session: &mut L::Session,
        network: &Network,
        from: Address,
        job: &Job,
    ) -> Result<(NonceChoice, Fees, Option<B256>), ChainError> {
        match job.placement {
            Placement::Next(fees) => Ok((self.next_nonce(session, network, from).await?, fees, None)),
            Placement::Replace { nonce, market, caps, only_over } => {
                let rows = session.at_nonce(network.name(), network.chain_id(), from, nonce).await?;
                let (fees, replaces) = nonce::replacement_fees(
                    &rows,
                    (from, nonce, only_over),
                    (&market, &caps),
                    job.gas_limit,
                    network.name(),
                )?;
                let choice = NonceChoice { nonce, settled: vec![], superseded: vec![] };
                Ok((choice, fees, Some(replaces)))
            }
        }
    }

    /// Sent: from here the answer is the hash whatever the ledger says, or a client would send it again. A row
    /// left `signed` is settled (pending, the node has it) by the next send. Marked pending, or mined when the node
    /// answered with the receipt: one write either way, still under the wallet's lock, so the row never waits on
    /// whoever waits for the receipt (a client that went away leaves it recorded; the tracker follows a pending row).
    /// Whether it and what it supersedes were all recorded.
    pub(super) async fn settle_sent(
        &self,
        session: &mut L::Session,
        hash: B256,
        receipt: Option<&Mined>,
        superseded: Vec<B256>,
    ) -> bool {
        let event = receipt.and_then(Mined::event).unwrap_or(Event::Accepted);
        let mut recorded = true;
        if let Err(error) = self.mark(session, hash, event).await {
            tracing::error!(%hash, %error, "a sent transaction could not be recorded as sent");
            recorded = false;
        }
        // The same call at the same nonce and fees signs to the same bytes: then it is that transaction.
        for old in superseded.into_iter().filter(|old| *old != hash) {
            if let Err(error) = self.mark(session, old, Event::Lost).await {
                tracing::error!(hash = %old, %error, "a transaction whose nonce was taken could not be marked dropped");
                recorded = false;
            }
        }
        recorded
    }

    /// The sender's next nonce ([`nonce::choose`] on the node's pending count and the sender's unsettled rows),
    /// with what it settles on the way recorded.
    async fn next_nonce(
        &self,
        session: &mut L::Session,
        network: &Network,
        from: Address,
    ) -> Result<NonceChoice, ChainError> {
        let pending = network.pending_nonce(from).await?;
        let rows = session.unsettled(network.name(), network.chain_id(), from, pending).await?;
        self.choose_nonce(session, network, pending, rows).await
    }

    /// [`TxSender::next_nonce`] from the node's pending count and the sender's unsettled rows, read at that count
    /// or a lower one.
    async fn choose_nonce(
        &self,
        session: &mut L::Session,
        network: &Network,
        pending: u64,
        rows: Vec<LedgerTx>,
    ) -> Result<NonceChoice, ChainError> {
        let provider = network.provider();
        let mut known = Vec::with_capacity(rows.len());
        // Read at a lower count, the rows hold pending ones this count covers: mined, their receipts not recorded yet.
        for row in rows.into_iter().filter(|row| row.status == TxStatus::Signed || row.nonce >= pending) {
            let held = provider.get_transaction_by_hash(row.hash).await.map_err(|e| network.rpc_error(e))?.is_some();
            known.push((row, held));
        }
        let choice = nonce::choose(pending, &known);
        for (hash, event) in &choice.settled {
            if *event == Event::NeverSent {
                tracing::warn!(%hash, "a transaction signed but never sent is abandoned; it will not be sent");
            }
            self.mark(session, *hash, *event).await?;
        }
        Ok(choice)
    }

    async fn mark(&self, session: &mut L::Session, hash: B256, event: Event) -> Result<(), ChainError> {
        if session.apply(hash, event).await? {
            count_transaction(event.transition().to);
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_nonce_is_chosen_again_a_few_times_for_a_new_send_and_never_for_a_replacement() {
        let next = Placement::Next(Fees::Legacy { gas_price: 1 });
        let replace = Placement::Replace {
            nonce: 3,
            market: MarketFees::Legacy { gas_price: 1 },
            caps: FeeCaps::default_for(31337),
            only_over: None,
        };
        let too_low = || Broadcast::Refused(Refusal::NonceTooLow, "nonce too low".into());
        assert_eq!(verdict(&Broadcast::Taken(None), &next, 1), Verdict::Sent);
        assert_eq!(verdict(&too_low(), &next, 1), Verdict::Retry);
        assert_eq!(verdict(&too_low(), &next, ATTEMPTS), Verdict::Rejected("nonce too low".into()));
        assert_eq!(verdict(&too_low(), &replace, 1), Verdict::Rejected("nonce too low".into()));
        let funds = Broadcast::Refused(Refusal::Other, "insufficient funds".into());
        assert_eq!(verdict(&funds, &next, 1), Verdict::Rejected("insufficient funds".into()));
    }
}
