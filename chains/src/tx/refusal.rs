//! What a node's refusal of `eth_sendRawTransaction` means, across the clients' wordings (geth, erigon,
//! nethermind, reth, besu, anvil). Only the meanings the sender acts on are told apart.

/// Why a node refused a signed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It already holds this very transaction: it was accepted before.
    AlreadyKnown,
    /// The account has used this nonce already.
    NonceTooLow,
    /// Another transaction at this nonce is pending and this one does not bump its fees enough.
    ReplacementUnderpriced,
    /// The node refused for too many requests, still after the same bytes were posted again: it did not take
    /// them.
    RateLimited,
    /// Anything else (funds, fees, size...): the transaction is not in the node.
    Other,
}

/// Lowercased substrings, each client's wording of a meaning.
const ALREADY_KNOWN: [&str; 5] = [
    "already known",     // geth, erigon, reth, nethermind (since mid-2026)
    "known transaction", // older geth, besu
    "alreadyknown",      // older nethermind (AcceptTxResult name)
    "already imported",  // anvil
    "known_transaction", // besu (TransactionInvalidReason)
];
const NONCE_TOO_LOW: [&str; 3] = [
    "nonce too low", // geth, erigon, reth, besu, anvil, nethermind (since mid-2026)
    "oldnonce",      // older nethermind
    "nonce_too_low", // besu (TransactionInvalidReason)
];
const REPLACEMENT_UNDERPRICED: [&str; 5] = [
    "replacement transaction underpriced", // geth, reth, besu, anvil, nethermind (since mid-2026)
    "replacement underpriced",
    "could not replace existing tx", // erigon
    "replacementnotallowed",         // older nethermind
    "replacement_underpriced",       // besu (TransactionInvalidReason)
];

pub fn classify(message: &str) -> Refusal {
    let message = message.to_lowercase();
    let any = |patterns: &[&str]| patterns.iter().any(|pattern| message.contains(pattern));
    if any(&ALREADY_KNOWN) {
        Refusal::AlreadyKnown
    } else if any(&NONCE_TOO_LOW) {
        Refusal::NonceTooLow
    } else if any(&REPLACEMENT_UNDERPRICED) {
        Refusal::ReplacementUnderpriced
    } else {
        Refusal::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_clients_wording_is_understood() {
        for message in ["already known", "known transaction: 0x5f0c", "AlreadyKnown", "Transaction already imported"] {
            assert_eq!(classify(message), Refusal::AlreadyKnown, "{message}");
        }
        for message in [
            "nonce too low: address 0x7099, tx: 3 state: 5",
            "Nonce too low",
            "OldNonce, Current nonce: 5, nonce of rejected tx: 3",
        ] {
            assert_eq!(classify(message), Refusal::NonceTooLow, "{message}");
        }
        for message in [
            "replacement transaction underpriced",
            "ReplacementNotAllowed",
            "INTERNAL_ERROR: could not replace existing tx",
        ] {
            assert_eq!(classify(message), Refusal::ReplacementUnderpriced, "{message}");
        }
        for message in [
            "insufficient funds for gas * price + value",
            "max fee per gas less than block base fee",
            "transaction underpriced",
            "nonce too high",
        ] {
            assert_eq!(classify(message), Refusal::Other, "{message}");
        }
    }
}
