//! Routing: the routes between two tokens over a DEX's pools ([`search`]), the best order for an amount, split
//! across routes where that pays ([`split`]), and what an order's gas is expected to be ([`gas`]). It asks the
//! market only through [`HopQuoter`], so it runs the same on the chain's cached pool state and on pools in memory.

pub mod gas;
pub mod search;
pub mod split;

use crate::core::capability::Reading;
use crate::core::error::ConnectorError;
use crate::core::family::Family;
use crate::core::route::{Hop, HopQuote, Route, SwapAmount};

/// What routing asks of a market: one hop's quote, and how the router that would execute an order takes it.
pub trait HopQuoter: Sync {
    /// Quotes one hop of a route on the state of its pool.
    fn quote_hop<'a>(&'a self, hop: &'a Hop, amount: SwapAmount) -> Reading<'a, HopQuote>;

    /// Whether the router executing an order along `routes` buys forward through `family`'s pools: it pays in
    /// the input it computes for the amount asked and swaps that forward, so such a leg delivers what that input
    /// buys, a little more than asked.
    fn buys_forward(&self, routes: &[&Route], family: Family) -> Result<bool, ConnectorError>;
}
