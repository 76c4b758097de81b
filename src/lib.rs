//! The gateway server: CLI, config, HTTP routes with their OpenAPI description, storage, and the local devnet.

pub mod answers;
pub mod app;
pub mod config;
pub mod connections;
pub mod container;
pub mod devnet;
pub mod error;
pub mod ethereum;
pub mod files;
pub mod http;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod passphrase;
pub mod pools;
pub mod rehearsal;
pub mod request;
pub mod schema;
pub mod server;
pub mod state;
pub mod storage;
pub mod tls;
pub mod tokens;
