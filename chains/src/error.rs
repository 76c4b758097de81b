//! The chain layer's one error type. Messages say what went wrong and what to do; none carries a key or a
//! node URL's secret parts.

use alloy::primitives::Address;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// No node of the network answered.
    #[error("network '{network}' is unreachable ({detail}); check the nodeURL setting of namespace ethereum-{network}")]
    Unreachable { network: String, detail: String },
    /// Every node refused for too many requests (HTTP 429, JSON-RPC -32005 or its wording), still after the
    /// reads were retried with backoff; nothing was sent.
    #[error(
        "the nodes of network '{network}' refuse for too many requests (rate limited); retry in a few seconds, or add a node URL to nodeURL"
    )]
    RateLimited { network: String },
    /// A node answered with an error to a read.
    #[error("the node refused a call: {0}")]
    Node(String),
    /// An address given as a token does not answer as an ERC-20 does (no contract there, or another kind).
    #[error("{token} did not answer {call}: it is not an ERC-20 token on this network")]
    NotAToken { token: Address, call: &'static str },
    /// The transaction would revert; nothing was sent.
    #[error("the transaction would revert: {reason}")]
    Reverted { reason: String },
    /// The node refused the signed transaction (funds, fees, nonce); it was not sent.
    #[error("the node rejected the transaction: {0}")]
    Rejected(String),
    /// A fee the send would need is over one of the network's caps; nothing was signed.
    #[error("{0}; nothing was signed")]
    FeeCap(String),
    /// The request went away while waiting for its wallet's turn: nothing was signed.
    #[error("the request went away before its turn; nothing was signed")]
    Withdrawn,
    /// A speed-up or cancel found nothing pending to replace.
    #[error("{0}")]
    NothingToReplace(String),
    #[error("the wallet {0} is not known to this gateway")]
    UnknownWallet(Address),
    #[error("{0}")]
    Keystore(String),
    /// The ledger (database) failed; a transaction may not have been recorded, so it was not sent.
    #[error("the transaction ledger failed: {0}")]
    Ledger(#[from] crate::tx::LedgerError),
    /// A send stopped before its end (its task failed); what it recorded, the tracker settles.
    #[error("{0}")]
    Interrupted(String),
}

impl ChainError {
    /// What a revert found before sending, or a node's refusal of the signed transaction, means for the request.
    pub fn revert_kind(&self) -> Option<crate::tx::revert::RevertKind> {
        match self {
            ChainError::Reverted { reason } | ChainError::Rejected(reason) => {
                Some(crate::tx::revert::RevertKind::of(reason))
            }
            _ => None,
        }
    }
}
