//! Quote answers kept per request line while everything they were computed from is unchanged: the network's
//! latest block, the config, and the token and pool lists.

use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use std::time::Instant;

use axum::body::Bytes;
use chains::network::Network;

use crate::storage::LIST_TTL;

/// Past this many answers, those no longer current are dropped before another is kept (all, if none were).
const CAPACITY: usize = 1024;

#[derive(Default)]
pub struct Answers {
    entries: Mutex<HashMap<Box<str>, Answer>>,
}

/// What an answer was computed from, besides the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    pub config_generation: u64,
    pub lists_epoch: u64,
}

pub struct Answer {
    pub body: Bytes,
    pub inputs: Inputs,
    /// Weak, so a network the config no longer names is dropped (and stops polling its node).
    pub network: Weak<Network>,
    pub block: u64,
    /// The network's reorg count when it was computed.
    pub reorgs: u64,
    pub asked: Instant,
}

impl Answer {
    /// Lists changed by another instance are re-read after `LIST_TTL`; an answer lives no longer than that, so
    /// such a change shows in quotes within twice that.
    fn is_current(&self, inputs: Inputs) -> bool {
        self.inputs == inputs
            && self.asked.elapsed() < LIST_TTL
            && self
                .network
                .upgrade()
                .is_some_and(|network| network.known_block() == Some(self.block) && network.reorgs() == self.reorgs)
    }
}

impl Answers {
    pub fn current(&self, key: &str, inputs: Inputs) -> Option<Bytes> {
        let entries = self.entries.lock().expect("answers");
        entries.get(key).filter(|answer| answer.is_current(inputs)).map(|answer| answer.body.clone())
    }

    pub fn keep(&self, key: &str, answer: Answer) {
        let mut entries = self.entries.lock().expect("answers");
        if entries.len() >= CAPACITY && !entries.contains_key(key) {
            entries.retain(|_, kept| kept.is_current(answer.inputs));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key.into(), answer);
    }
}
