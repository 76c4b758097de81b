//! Integration tests: one binary, each test against a real anvil devnet and a real gateway on loopback.

mod amounts;
mod chain;
mod cli;
mod clob;
mod common;
mod config;
mod container;
mod crashes;
mod devnet;
mod errors;
mod examples;
mod fuzz;
mod https;
mod hummingbot;
mod liquidity;
mod networks;
mod openapi;
mod pancakeswap;
mod pools;
mod security;
mod storage;
mod swagger;
mod trading;
mod transactions;
mod v2_17;
mod v4;
