//! What a transaction carries: the call to make, signed into bytes with a nonce, a gas limit and fees; and those
//! bytes read back.

use alloy::consensus::{SignableTransaction, Transaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;

use super::ledger::LedgerError;
use crate::error::ChainError;
use crate::gas::Fees;

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

    /// A 0-value transfer from `sender` to itself: what a cancel sends at the nonce it takes.
    pub fn cancel(sender: Address) -> Self {
        Call::new(sender, Bytes::new())
    }

    pub fn request(&self, from: Address) -> TransactionRequest {
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

/// A signed transaction as recorded, decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub call: Call,
    pub gas_limit: u64,
    pub fees: Fees,
}

/// Decodes a recorded transaction's call, gas limit and fees.
pub fn decode(raw: &[u8]) -> Result<Decoded, ChainError> {
    let corrupt = |reason: String| ChainError::Ledger(LedgerError::Corrupt { column: "raw", reason });
    let envelope = TxEnvelope::decode_2718(&mut &raw[..])
        .map_err(|e| corrupt(format!("a recorded transaction does not decode: {e}")))?;
    let fees = match &envelope {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) => {
            Fees::Legacy { gas_price: envelope.gas_price().unwrap_or_default() }
        }
        _ => Fees::Eip1559 {
            max_fee_per_gas: envelope.max_fee_per_gas(),
            max_priority_fee_per_gas: envelope.max_priority_fee_per_gas().unwrap_or_default(),
        },
    };
    let to = envelope.to().ok_or_else(|| corrupt("a recorded transaction creates a contract".into()))?;
    Ok(Decoded {
        call: Call { to, data: envelope.input().clone(), value: envelope.value() },
        gas_limit: envelope.gas_limit(),
        fees,
    })
}

/// What signing a call makes: its hash and its EIP-2718 bytes.
pub fn sign(
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
