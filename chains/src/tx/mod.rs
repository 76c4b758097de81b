//! Transactions from call to receipt: what a transaction carries ([`call`]), its life in the ledger as one state
//! machine ([`lifecycle`], [`ledger`]), the one pipeline that sends ([`pipeline`]) what it prepared ([`prepare`]),
//! the nonce it takes ([`nonce`]), what became of it ([`inquiry`]), and the tracker that follows every pending one
//! ([`tracker`]).

mod broadcast;
pub mod call;
pub mod commitment;
pub mod inquiry;
pub mod ledger;
pub mod lifecycle;
pub mod nonce;
pub mod pipeline;
pub mod prepare;
pub mod receipt;
pub mod refusal;
mod request;
pub mod revert;
pub mod simulation;
pub mod tracker;

pub use call::{Call, SentTx};
pub use ledger::{Ledger, LedgerError, LedgerTx, SenderSession, now_ms};
pub use lifecycle::{Event, Inclusion, TxKind, TxStatus};
pub use pipeline::{Replacement, TxSender};
pub use receipt::{Mined, Outcome};
pub use request::{current_request_key, on_behalf_of};
