//! DEX adapters: every protocol detail (ABI bindings, math, calldata, receipt decoding, route types) lives here,
//! in layers. [`core`] at the bottom: capability traits that name no family, routes and amounts, pool addresses,
//! the per-block state cache and the one error type. [`clmm`] above it: the concentrated-liquidity math V3 and V4
//! share. One folder per family ([`v2`], [`v3`], [`v4`]), each importing only those two. [`dex`], the one file
//! that names every family: the registry of DEXes and their deployments. [`routing`] searches, splits and prices
//! orders through any quoter, and [`clob`] holds the order-book venues. A connector owns no HTTP, no keys, and
//! never sends anything itself: it gives back `chains` types (a call to send, a decoded outcome).
//!
//! Uniswap and PancakeSwap share the family code; what differs between them is data: a [`dex::DexSpec`] in
//! `deployments.json`.

pub mod clmm;
pub mod clob;
pub mod core;
pub mod dex;
pub mod routing;
pub mod v2;
pub mod v3;
pub mod v4;

/// Which way an order goes, seen from its base token: SELL gives exactly `amount` of it (a swap's exact input),
/// BUY takes exactly `amount` of it (a swap's exact output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// `BUY` or `SELL`, in any case, with spaces around.
    pub fn parse(text: &str) -> Option<Side> {
        let text = text.trim();
        [("BUY", Side::Buy), ("SELL", Side::Sell)]
            .into_iter()
            .find_map(|(name, side)| text.eq_ignore_ascii_case(name).then_some(side))
    }

    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}
