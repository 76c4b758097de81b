//! DEX adapters: every protocol detail (ABI bindings, math, calldata, receipt decoding, route types) lives here,
//! one folder per protocol family; the server asks through the capability traits of [`family`] and gets back
//! `chains` types (a call to send, a decoded outcome). A connector owns no HTTP, no keys, and never sends
//! anything itself.
//!
//! Uniswap and PancakeSwap share the V2 (`amm`) and V3 (`clmm`) family code in [`v2`] and [`v3`]; what
//! differs between them is data: a [`dex::DexSpec`] in `deployments.json`. [`router`] searches and quotes routes
//! over their pools, [`discovery`] finds pools through the factories, [`state`] caches pool state per block, and
//! [`clob`] holds the order-book venues.

pub mod clob;
pub mod dex;
pub mod discovery;
pub mod error;
pub mod family;
pub mod pool_address;
pub mod router;
pub mod state;
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
        match text.trim().to_ascii_uppercase().as_str() {
            "BUY" => Some(Side::Buy),
            "SELL" => Some(Side::Sell),
            _ => None,
        }
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
