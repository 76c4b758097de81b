//! DEX adapters. A connector turns a uniform request into contract calls and unsigned transactions;
//! it owns no HTTP, no keys, and never sends anything itself.
//!
//! Uniswap and PancakeSwap share the V2 (`amm`) and V3 (`clmm`) family code in [`v2`] and [`v3`]; what
//! differs between them is data: a [`dex::DexSpec`] in `deployments.json`.

pub mod clob;
pub mod dex;
pub mod discovery;
pub mod error;
pub mod state;
pub mod swap;
pub mod v2;
pub mod v3;
