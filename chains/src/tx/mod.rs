//! Transactions from call to receipt: what a transaction carries ([`call`]), its life in the ledger as one state
//! machine ([`lifecycle`], [`ledger`]), the one pipeline that sends ([`pipeline`]), the nonce it takes
//! ([`nonce`]), what became of it ([`inquiry`]), and the tracker that follows every pending one ([`tracker`]).

mod broadcast;
pub mod call;
pub mod commitment;
pub mod inquiry;
pub mod ledger;
pub mod lifecycle;
pub mod nonce;
pub mod pipeline;
pub mod receipt;
pub mod refusal;
pub mod revert;
pub mod simulation;
pub mod tracker;

pub use call::{Call, SentTx};
pub use ledger::{Ledger, LedgerError, LedgerTx, SenderSession};
pub use lifecycle::{Event, Inclusion, TxKind, TxStatus};
pub use pipeline::{Replacement, TxSender, current_request_key, now_ms, on_behalf_of};
pub use receipt::{Mined, Outcome};
