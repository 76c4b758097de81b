//! The application's one error type, which the use cases (`crate::app`) and what they resolve requests with
//! answer: what went wrong, typed, with no status code. The HTTP layer maps each to its
//! status and machine code in one place (`crate::http::error`).

use alloy::primitives::B256;
use chains::error::ChainError;
use chains::tx::revert::RevertKind;
use connectors::clob::OrderError;
use connectors::core::error::ConnectorError;

use crate::config::ConfigError;
use crate::storage::StorageError;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A request that cannot be served as it is; `field` names the input at fault, as the request spells it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String, kind: InvalidKind },
    /// The transaction would revert on a slippage bound the market no longer meets; nothing was sent. The
    /// message says what was asked and what the market gives now.
    #[error("{0}")]
    Slippage(String),
    /// A transaction was sent and mined, and reverted: its fee was paid, nothing else happened.
    #[error("Transaction {hash} was mined and reverted ({reason}); its gas fee was paid and nothing else moved")]
    Failed { hash: B256, reason: String, kind: RevertKind },
    /// A transaction was sent and is not mined within the network's `transactionExecutionTimeoutMs`; the
    /// gateway keeps tracking it. Worded so Hummingbot's client finds the hash
    /// (`Transaction (\S+) (?:was not confirmed|pending)`) and polls it before ever sending again.
    #[error(
        "Transaction {hash} was not confirmed within {waited_ms} ms (transactionExecutionTimeoutMs); the gateway keeps \
         tracking it: poll it (POST /chains/ethereum/poll) before sending again"
    )]
    TimedOut { hash: B256, waited_ms: u64 },
    /// A transaction was sent and will never be mined (no node holds it and the ledger gave it up, or the chain
    /// reorganised it away): what it asked for did not happen.
    #[error(
        "Transaction {hash} was dropped: no node holds it and it will not be mined, so nothing it asked for \
         happened and its fee was not paid; send the request again with a new Idempotency-Key"
    )]
    Dropped { hash: B256 },
    /// Refused by what the operator allows: `setting` in server.yml would admit it.
    #[error("{reason}; list it in server.yml {setting} to allow it")]
    Forbidden { setting: &'static str, reason: String },
    /// Nothing by that name or id.
    #[error("{0}")]
    NotFound(String),
    /// A fault of ours or of a dependency, logged and never echoed.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What kind of refusal an [`AppError::Invalid`] is, for the clients that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKind {
    /// The input is malformed or makes no sense here.
    Field,
    /// A spender may not move what the transaction needs; approve first.
    Allowance,
    /// A stored quote lived past its time.
    QuoteExpired,
    /// No token by that symbol or address on the network.
    UnknownToken,
    /// A cancel was mined in place of what was asked: nothing happened.
    Cancelled,
    /// No pool or route trades the pair.
    NoRoute,
    /// The wallet holds less than the request spends.
    Balance,
    /// A stored quote was executed already.
    QuoteUsed,
}

impl AppError {
    /// Bad input: names the field and says what it must be.
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        AppError::Invalid { field: field.to_string(), reason: reason.to_string(), kind: InvalidKind::Field }
    }

    /// The same refusal, of another kind.
    pub fn of_kind(self, kind: InvalidKind) -> Self {
        match self {
            AppError::Invalid { field, reason, .. } => AppError::Invalid { field, reason, kind },
            other => other,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::NotFound(message.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    /// Whether the request is at fault (it can be mended by asking otherwise), not the gateway, the node or the
    /// database: a pool that cannot serve a request is passed over, a node that failed fails it.
    pub fn is_refusal(&self) -> bool {
        let chain = |error: &ChainError| {
            !matches!(
                error,
                ChainError::Unreachable { .. }
                    | ChainError::RateLimited { .. }
                    | ChainError::Node(_)
                    | ChainError::Ledger(_)
                    | ChainError::Interrupted(_)
            )
        };
        match self {
            AppError::Chain(error) | AppError::Connector(ConnectorError::Chain(error)) => chain(error),
            AppError::Invalid { .. } | AppError::NotFound(_) | AppError::Connector(_) => true,
            other => !other.is_internal(),
        }
    }

    /// A fault of the gateway's own (or its database's, or config files'), whose details are logged, not shown.
    pub fn is_internal(&self) -> bool {
        match self {
            AppError::Internal(_) | AppError::Order(OrderError::Unreadable(_)) => true,
            AppError::Chain(error) | AppError::Connector(ConnectorError::Chain(error)) => {
                matches!(error, ChainError::Ledger(_) | ChainError::Interrupted(_))
            }
            AppError::Config(error) => !error.is_invalid_input(),
            AppError::Storage(error) => !matches!(error, StorageError::Duplicate(_)),
            _ => false,
        }
    }

    /// Whether the request was refused before anything was signed: its input, its funds, its simulation, a fee
    /// cap, or a node that refused the signed bytes.
    pub fn sent_nothing(&self) -> bool {
        let chain = |error: &ChainError| {
            matches!(
                error,
                ChainError::Reverted { .. }
                    | ChainError::Rejected(_)
                    | ChainError::FeeCap(_)
                    | ChainError::Withdrawn
                    | ChainError::RateLimited { .. }
                    | ChainError::NotAToken { .. }
                    | ChainError::UnknownWallet(_)
            )
        };
        match self {
            AppError::Invalid { .. } | AppError::NotFound(_) | AppError::Slippage(_) => true,
            AppError::Chain(error) | AppError::Connector(ConnectorError::Chain(error)) => chain(error),
            AppError::Connector(_) => true,
            _ => false,
        }
    }

    /// What a client may be told of it: the message, or for an internal fault only that there was one.
    pub fn public_message(&self) -> String {
        match self.is_internal() {
            true => INTERNAL_MESSAGE.to_string(),
            false => self.to_string(),
        }
    }
}

/// What an internal fault is answered with; its cause goes to the log.
pub const INTERNAL_MESSAGE: &str = "internal error; the gateway log has the details";
