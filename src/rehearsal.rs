//! The networks a devnet can rehearse (`gateway devnet --like <network>`): each one's chain id and what anvil
//! lacks of it; and the devnet's own network name and chain id. The config reads which network a devnet with a
//! given chain id rehearses; the devnet builds itself from the profile.

/// The devnet's chain id. Not 1: a transaction signed for the devnet must never be valid on mainnet.
pub const CHAIN_ID: u64 = 31337;
/// The devnet network's name in config and requests (`network=devnet`, `chainNetwork=ethereum-devnet`).
pub const NETWORK: &str = "devnet";

/// What a devnet behaves like: its chain id, and the parts of that network anvil lacks, supplied with real parts.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    pub chain_id: u64,
    /// OP stack: anvil's optimism mode (it charges the L1 data fee, as op-revm does) with the L1Block and
    /// GasPriceOracle predeploys from `@eth-optimism/contracts-bedrock`.
    pub op_stack: bool,
    /// The network's nodes refuse tips under its floor (`ChainRules`): a front before anvil does the same, in
    /// their words.
    pub refusal: Option<fn(u128, u128) -> String>,
    /// anvil arguments of this network's own (BSC: no base fee).
    pub anvil_args: &'static [&'static str],
}

/// Bor's refusal (Polygon PoS; networks.md §8, PIP-35).
fn bor_refusal(tip: u128, min: u128) -> String {
    format!("transaction gas price below minimum: gas tip cap {tip}, minimum needed {min}")
}

/// A BSC node's refusal (networks.md §8, bsc#3255).
fn bsc_refusal(tip: u128, min: u128) -> String {
    format!("transaction underpriced: gas tip cap {tip}, minimum needed {min}")
}

impl Profile {
    pub const PLAIN: Profile =
        Profile { name: "ethereum", chain_id: CHAIN_ID, op_stack: false, refusal: None, anvil_args: &[] };
    pub const ALL: [Profile; 10] = [
        Profile::PLAIN,
        Profile { name: "base", chain_id: 8453, op_stack: true, ..Profile::PLAIN },
        Profile { name: "optimism", chain_id: 10, op_stack: true, ..Profile::PLAIN },
        Profile { name: "unichain", chain_id: 130, op_stack: true, ..Profile::PLAIN },
        Profile { name: "polygon", chain_id: 137, refusal: Some(bor_refusal), ..Profile::PLAIN },
        Profile {
            name: "bsc",
            chain_id: 56,
            refusal: Some(bsc_refusal),
            anvil_args: &["--block-base-fee-per-gas", "0"],
            ..Profile::PLAIN
        },
        Profile { name: "arbitrum", chain_id: 42161, ..Profile::PLAIN },
        Profile { name: "robinhoodchain", chain_id: 4663, ..Profile::PLAIN },
        Profile { name: "avalanche", chain_id: 43114, ..Profile::PLAIN },
        Profile { name: "celo", chain_id: 42220, ..Profile::PLAIN },
    ];

    pub fn named(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|profile| profile.name == name)
    }

    pub fn is_plain(&self) -> bool {
        self.name == Profile::PLAIN.name
    }
}
