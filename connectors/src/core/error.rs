//! The connector layer's one error type. A refusal of the request names the input at fault as a [`Field`]; the
//! server decides what the API calls it.

use chains::error::ChainError;

use super::family::Family;
use super::pool_address::PoolAddress;

/// The input of a request a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The amount to swap, provide or order.
    Amount,
    /// The connector asked for, or the family it routes through.
    Connector,
    /// Which way an order goes.
    Side,
    /// An order's price, or a price a position's range is given by.
    Price,
    /// The upper end of a position's price range.
    UpperPrice,
    /// A tick of a position's range.
    Tick,
    /// The pool named.
    Pool,
    /// The token a swap spends.
    TokenIn,
    /// A token named.
    Token,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The pool cannot fill the request (no liquidity, or not enough within the price range).
    #[error("{0}")]
    Liquidity(String),
    /// The request makes no sense for this pool or connector.
    #[error("{field:?}: {reason}")]
    Invalid { field: Field, reason: String },
    #[error("{0} is not a pool of this connector on this network")]
    NotAPool(PoolAddress),
    /// The connector has no deployment of the family on this network.
    #[error("{connector} has no {} pools on this network", family.trading_type().as_str())]
    NotDeployed { connector: String, family: Family },
    /// The family has no such capability.
    #[error("{} pools do not offer {what}", family.name())]
    Unsupported { family: Family, what: &'static str },
    /// The contract at this address does not answer as the order-book venue.
    #[error("no contract answers as the venue at {0} on this network")]
    NotTheVenue(alloy::primitives::Address),
    /// Pool math refused (an input outside what the contracts accept).
    #[error("pool math: {0}")]
    Math(String),
}

impl ConnectorError {
    pub fn invalid(field: Field, reason: impl Into<String>) -> Self {
        ConnectorError::Invalid { field, reason: reason.into() }
    }
}
