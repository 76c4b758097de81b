//! The bottom layer every family and the routing build on: capability traits that name no family, routes and
//! amounts, pool addresses, the per-block state cache, pools found on-chain, and the one error type.

pub mod capability;
pub mod discovery;
pub mod error;
pub mod family;
pub mod pool_address;
pub mod route;
pub mod state;
