//! The one place that sends transactions: simulate, price, take the sender's nonce, sign, record in the
//! ledger, send, and track to a receipt.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::RpcError;

use crate::error::ChainError;
use crate::gas::{Fees, current_fees};
use crate::ledger::{Ledger, LedgerTx, SenderLock, TxStatus};
use crate::network::Network;

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
    Mined(Box<TransactionReceipt>),
    /// No receipt within the timeout; the transaction is still in the ledger and may yet be mined.
    Pending,
}

/// What a mined transaction cost: gas used × effective gas price.
pub fn fee_wei(receipt: &TransactionReceipt) -> U256 {
    U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
}

/// One lock per (chain id, sender): sends from one wallet take their nonces one at a time.
type SenderLocks = Mutex<HashMap<(u64, Address), Arc<tokio::sync::Mutex<()>>>>;

pub struct TxSender<L: Ledger> {
    ledger: L,
    sender_locks: SenderLocks,
    contended_locks: AtomicU64,
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

    /// Simulates, signs, records and sends; returns once a node has accepted the transaction.
    pub async fn send(
        &self,
        network: &Network,
        signer: &PrivateKeySigner,
        call: &Call,
        label: &str,
    ) -> Result<SentTx, ChainError> {
        let from = signer.address();
        let (gas_limit, fees) = tokio::try_join!(self.simulate(network, from, call), current_fees(network))?;
        let local = self.local_lock(network.chain_id(), from);
        let _local = match local.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                self.contended_locks.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("gateway_nonce_lock_waits_total", "network" => network.name().to_string())
                    .increment(1);
                local.lock().await
            }
        };
        let shared = self.ledger.lock_sender(network.chain_id(), from).await.map_err(ChainError::Ledger)?;
        let result = self.send_locked(network, signer, call, gas_limit, fees, label).await;
        shared.release().await;
        result
    }

    /// Sends and waits for the receipt (or the network's timeout).
    pub async fn send_and_wait(
        &self,
        network: &Network,
        signer: &PrivateKeySigner,
        call: &Call,
        label: &str,
    ) -> Result<(SentTx, Outcome), ChainError> {
        let sent = self.send(network, signer, call, label).await?;
        let outcome = self.wait(network, sent.hash, network.settings().tx_timeout).await?;
        Ok((sent, outcome))
    }

    fn local_lock(&self, chain_id: u64, sender: Address) -> Arc<tokio::sync::Mutex<()>> {
        self.sender_locks.lock().expect("sender lock map").entry((chain_id, sender)).or_default().clone()
    }

    async fn send_locked(
        &self,
        network: &Network,
        signer: &PrivateKeySigner,
        call: &Call,
        gas_limit: u64,
        fees: Fees,
        label: &str,
    ) -> Result<SentTx, ChainError> {
        let from = signer.address();
        let provider = network.provider();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let nonce = self.next_nonce(network, from).await?;
            let (hash, raw) = sign(signer, network.chain_id(), nonce, gas_limit, fees, call)?;
            let entry = LedgerTx {
                hash,
                chain_id: network.chain_id(),
                sender: from,
                nonce,
                raw: raw.clone(),
                status: TxStatus::Signed,
                label: label.to_string(),
                block_number: None,
                fee_wei: None,
            };
            self.ledger.record(&entry).await.map_err(ChainError::Ledger)?;
            let sent = SentTx { hash, nonce, sender: from };
            match provider.send_raw_transaction(&raw).await {
                Ok(_) => {
                    self.mark(hash, TxStatus::Sent).await?;
                    tracing::info!(%hash, nonce, %label, network = network.name(), "transaction sent");
                    return Ok(sent);
                }
                Err(RpcError::ErrorResp(payload)) => {
                    let message = payload.message.to_lowercase();
                    if message.contains("already known") {
                        self.mark(hash, TxStatus::Sent).await?;
                        return Ok(sent);
                    }
                    self.mark(hash, TxStatus::Dropped).await?;
                    if message.contains("nonce") && attempts < 3 {
                        tracing::warn!(%hash, nonce, reason = %payload.message, "nonce out of step with the node; resyncing");
                        continue;
                    }
                    return Err(ChainError::Rejected(payload.message.to_string()));
                }
                Err(error) => {
                    // The send may or may not have reached a node: ask before freeing the nonce.
                    return match provider.get_transaction_by_hash(hash).await {
                        Ok(Some(_)) => {
                            self.mark(hash, TxStatus::Sent).await?;
                            Ok(sent)
                        }
                        Ok(None) => {
                            self.mark(hash, TxStatus::Dropped).await?;
                            Err(network.rpc_error(error))
                        }
                        Err(_) => Err(ChainError::Unreachable {
                            network: network.name().to_string(),
                            detail: format!(
                                "transaction {hash} is signed and recorded but may not have reached a node ({error}); \
                                 poll it, the gateway sends it again when the node is back"
                            ),
                        }),
                    };
                }
            }
        }
    }

    /// The sender's next nonce: past both what the node has seen and what the ledger holds. When the ledger
    /// holds transactions the node does not, they are sent again so the sequence has no gap; one the node
    /// refuses is dropped and frees its nonce.
    async fn next_nonce(&self, network: &Network, from: Address) -> Result<u64, ChainError> {
        let chain_id = network.chain_id();
        let provider = network.provider();
        let pending = provider.get_transaction_count(from).pending().await.map_err(|e| network.rpc_error(e))?;
        let ledger_next = |highest: Option<u64>| highest.map_or(0, |n| n + 1);
        let highest = self.ledger.highest_nonce(chain_id, from).await.map_err(ChainError::Ledger)?;
        if ledger_next(highest) <= pending {
            return Ok(pending);
        }
        for tx in self.ledger.unsettled_from(chain_id, from, pending).await.map_err(ChainError::Ledger)? {
            match provider.send_raw_transaction(&tx.raw).await {
                Ok(_) => self.mark(tx.hash, TxStatus::Sent).await?,
                Err(RpcError::ErrorResp(payload)) if payload.message.to_lowercase().contains("already known") => {}
                Err(RpcError::ErrorResp(payload)) => {
                    tracing::warn!(hash = %tx.hash, nonce = tx.nonce, reason = %payload.message, "dropping a recorded transaction the node refuses");
                    self.mark(tx.hash, TxStatus::Dropped).await?;
                }
                Err(error) => return Err(network.rpc_error(error)),
            }
        }
        let highest = self.ledger.highest_nonce(chain_id, from).await.map_err(ChainError::Ledger)?;
        Ok(pending.max(ledger_next(highest)))
    }

    async fn mark(&self, hash: B256, status: TxStatus) -> Result<(), ChainError> {
        count_transaction(status);
        self.ledger.set_status(hash, status, None, None).await.map_err(ChainError::Ledger)
    }

    /// Waits for the receipt up to `timeout` and records the result in the ledger.
    pub async fn wait(&self, network: &Network, hash: B256, timeout: Duration) -> Result<Outcome, ChainError> {
        let deadline = Instant::now() + timeout;
        // A local node mines within a millisecond or two; a public chain takes seconds. Start by asking often.
        let mut pause = Duration::from_millis(1);
        loop {
            match network.provider().get_transaction_receipt(hash).await {
                Ok(Some(receipt)) => {
                    if let Some(block) = receipt.block_number {
                        network.saw_block(block);
                    }
                    let status = if receipt.status() { TxStatus::Confirmed } else { TxStatus::Failed };
                    count_transaction(status);
                    self.ledger
                        .set_status(hash, status, receipt.block_number, Some(fee_wei(&receipt)))
                        .await
                        .map_err(ChainError::Ledger)?;
                    return Ok(Outcome::Mined(Box::new(receipt)));
                }
                Ok(None) => {}
                Err(error) if Instant::now() >= deadline => return Err(network.rpc_error(error)),
                Err(error) => tracing::warn!(%hash, %error, "receipt query failed; retrying"),
            }
            if Instant::now() >= deadline {
                return Ok(Outcome::Pending);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(network.receipt_poll());
        }
    }
}

fn count_transaction(status: TxStatus) {
    let outcome = match status {
        TxStatus::Signed => return,
        TxStatus::Sent => "sent",
        TxStatus::Confirmed => "confirmed",
        TxStatus::Failed => "failed",
        TxStatus::Dropped => "dropped",
    };
    metrics::counter!("gateway_transactions_total", "outcome" => outcome).increment(1);
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
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas, .. } => {
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
