//! The use cases, free of HTTP: each takes what a request resolved to and answers a typed value or a typed
//! [`crate::error::AppError`]. Trading (swaps, liquidity and positions through a connector), order books, and the chain's
//! own operations (balances, approvals, transfers, and what became of a transaction).

pub mod chain;
pub mod clob;
pub mod recovery;
pub mod sending;
pub mod trading;
pub mod transactions;
