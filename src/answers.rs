//! What quotes are computed from, kept per request line while everything it came from is unchanged: the network's
//! latest block, the config, and the token and pool lists. Whole answers are kept this way, and the requests
//! resolved before their amount.

use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use std::time::Instant;

use axum::body::Bytes;
use chains::network::Network;

use crate::storage::LIST_TTL;

/// Past this many entries, those no longer current are dropped before another is kept (all, if none were).
const CAPACITY: usize = 1024;

/// Values kept per request line, each served while its [`Basis`] holds.
pub struct Kept<T> {
    entries: Mutex<Entries<T>>,
}

struct Entries<T> {
    by_line: HashMap<Box<str>, (T, Basis)>,
    /// Values computed from an older config are not kept: what they hold (its networks) is let go with it.
    oldest_config: u64,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept { entries: Mutex::new(Entries { by_line: HashMap::new(), oldest_config: 0 }) }
    }
}

/// Quote answers, as the JSON text sent.
pub type Answers = Kept<Bytes>;

/// What a value was computed from, besides the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    pub config_generation: u64,
    pub lists_epoch: u64,
}

/// Everything a kept value was computed from.
pub struct Basis {
    pub inputs: Inputs,
    /// Weak, so a network the config no longer names is dropped (and stops polling its node).
    pub network: Weak<Network>,
    pub block: u64,
    /// The network's reorg count when it was computed.
    pub reorgs: u64,
    pub asked: Instant,
}

impl Basis {
    /// Lists changed by another instance are re-read after `LIST_TTL`; a value lives no longer than that, so such
    /// a change shows in quotes within twice that.
    fn is_current(&self, inputs: Inputs) -> bool {
        self.inputs == inputs
            && self.asked.elapsed() < LIST_TTL
            && self
                .network
                .upgrade()
                .is_some_and(|network| network.known_block() == Some(self.block) && network.reorgs() == self.reorgs)
    }
}

impl<T: Clone> Kept<T> {
    pub fn current(&self, key: &str, inputs: Inputs) -> Option<T> {
        let entries = self.entries.lock().expect("kept");
        entries.by_line.get(key).filter(|(_, basis)| basis.is_current(inputs)).map(|(value, _)| value.clone())
    }

    pub fn keep(&self, key: &str, value: T, basis: Basis) {
        let mut entries = self.entries.lock().expect("kept");
        if basis.inputs.config_generation < entries.oldest_config {
            return;
        }
        let by_line = &mut entries.by_line;
        if by_line.len() >= CAPACITY && !by_line.contains_key(key) {
            by_line.retain(|_, (_, kept)| kept.is_current(basis.inputs));
            if by_line.len() >= CAPACITY {
                by_line.clear();
            }
        }
        by_line.insert(key.into(), (value, basis));
    }

    /// Drops everything computed from a config older than `generation`, and keeps nothing computed from one later.
    pub fn forget_before(&self, generation: u64) {
        let mut entries = self.entries.lock().expect("kept");
        entries.oldest_config = entries.oldest_config.max(generation);
        entries.by_line.retain(|_, (_, basis)| basis.inputs.config_generation >= generation);
    }
}
