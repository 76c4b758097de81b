//! Protocol families, as routes and stored quotes name them, and the API's trading types their pools are traded
//! under. What a family can do is its deployment's capabilities ([`super::capability`]).

use serde::{Deserialize, Serialize};

/// A protocol family. Stored quotes keep it with their route, as `V2`, `V3` or `V4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    V2,
    V3,
    V4,
}

impl Family {
    /// The API's trading type for the family's pools.
    pub fn trading_type(self) -> TradingType {
        match self {
            Family::V2 => TradingType::Amm,
            Family::V3 | Family::V4 => TradingType::Clmm,
        }
    }

    /// The fee tier a pool of the family charging `fee_pct` is known by, in hundredths of a basis point: V3 and V4
    /// pools by their fee, V2 pairs (one fee for the whole DEX) by none.
    pub fn fee_tier(self, fee_pct: f64) -> u32 {
        match self {
            Family::V2 => 0,
            Family::V3 | Family::V4 => (fee_pct * 10_000.0).round() as u32,
        }
    }

    /// The family as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Family::V2 => "V2 (amm)",
            Family::V3 => "V3 (clmm)",
            Family::V4 => "V4 (clmm)",
        }
    }
}

/// How the API trades a connector: `router` (the best route over every family), `amm` (constant-product pools)
/// or `clmm` (concentrated-liquidity pools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TradingType {
    Router,
    Amm,
    Clmm,
}

impl TradingType {
    pub const ALL: [TradingType; 3] = [TradingType::Router, TradingType::Amm, TradingType::Clmm];

    /// The name routes, config and answers use.
    pub fn as_str(self) -> &'static str {
        match self {
            TradingType::Router => "router",
            TradingType::Amm => "amm",
            TradingType::Clmm => "clmm",
        }
    }

    pub fn parse(text: &str) -> Option<TradingType> {
        TradingType::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Whether pools of this type are traded directly (the router is not a pool type).
    pub fn is_pool_type(self) -> bool {
        self != TradingType::Router
    }
}

impl std::fmt::Display for TradingType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
