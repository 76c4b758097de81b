//! The connector layer's one error type.

use chains::error::ChainError;

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The pool cannot fill the request (no liquidity, or not enough within the price range).
    #[error("{0}")]
    Liquidity(String),
    /// The request makes no sense for this pool or connector; the message names the field.
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0} is not a pool of this connector on this network")]
    NotAPool(crate::pool_address::PoolAddress),
    /// The connector has no deployment of the family on this network.
    #[error("{connector} has no {} pools on this network", family.kind())]
    NotDeployed { connector: String, family: crate::family::Family },
    /// The family has no such capability.
    #[error("{} pools do not offer {what}", family.name())]
    Unsupported { family: crate::family::Family, what: &'static str },
    /// The contract at this address does not answer as the order-book venue.
    #[error("no contract answers as the venue at {0} on this network")]
    NotTheVenue(alloy::primitives::Address),
    /// Pool math refused (an input outside what the contracts accept).
    #[error("pool math: {0}")]
    Math(String),
}

impl ConnectorError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ConnectorError::Invalid { field, reason: reason.into() }
    }
}
