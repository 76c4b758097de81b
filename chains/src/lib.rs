//! EVM chain support: networks with RPC failover, wallets, nonces, gas, the transaction pipeline, ERC-20
//! reads and WETH. No HTTP lives here; the server crate turns these into routes.

pub mod amount;
pub mod contracts;
pub mod erc20;
pub mod error;
pub mod fee_market;
pub mod gas;
pub mod l1_fee;
pub mod logs;
pub mod multicall;
pub mod network;
pub mod permit2;
pub mod rpc;
pub mod tx;
pub mod wallet;

/// An address in EIP-55 form, remembered: answers name the same few pools and tokens over and over, and each
/// checksum is a keccak.
pub fn checksum(address: alloy::primitives::Address) -> String {
    use alloy::primitives::map::AddressHashMap;
    use std::sync::{LazyLock, RwLock};
    const REMEMBERED: usize = 4096;
    // Hashed as the fixed bytes they are rather than through SipHash: a quote answer looks up half a dozen.
    static KNOWN: LazyLock<RwLock<AddressHashMap<Box<str>>>> = LazyLock::new(Default::default);
    if let Some(text) = KNOWN.read().expect("checksums").get(&address) {
        return text.to_string();
    }
    let text = address.to_checksum(None);
    let mut known = KNOWN.write().expect("checksums");
    if known.len() < REMEMBERED {
        known.insert(address, text.as_str().into());
    }
    text
}

/// Hex digits in a row from which a text may hold a private key: 64, or a few less where a tool dropped leading
/// zeros.
const KEY_LIKE_HEX_DIGITS: usize = 60;

/// Whether `text` holds, anywhere in it, a run of hex digits as long as a private key: bare, `0x`-prefixed,
/// quoted or inside a longer string.
pub fn holds_key_like(text: &str) -> bool {
    let mut run = 0;
    text.bytes().any(|byte| {
        run = if byte.is_ascii_hexdigit() { run + 1 } else { 0 };
        run >= KEY_LIKE_HEX_DIGITS
    })
}

const KEY_WITHHELD: &str = "<hex digits as long as a private key: not repeated here>";

/// Client input as an error message quotes it: in quotes, at most 24 characters, control characters shown as
/// `?`, and nothing at all of what may be a private key, so a key pasted into the wrong field never reaches an
/// answer or a log.
pub fn quoted(text: &str) -> String {
    const SHOWN: usize = 24;
    if holds_key_like(text) {
        return KEY_WITHHELD.into();
    }
    let mut shown: String = text.chars().take(SHOWN).map(|c| if c.is_control() { '?' } else { c }).collect();
    if text.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    format!("'{shown}'")
}

/// A message that may repeat client input (a parser's error): every run of hex digits as long as a private key
/// withheld, control characters shown as `?`, and at most 300 characters.
pub fn scrubbed(message: &str) -> String {
    const SHOWN: usize = 300;
    let mut out = String::with_capacity(message.len().min(SHOWN + 3));
    let mut rest = message;
    while let Some(start) = rest.find(|c: char| c.is_ascii_hexdigit()) {
        let run = rest[start..].find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(rest.len() - start);
        out.push_str(&rest[..start]);
        match run >= KEY_LIKE_HEX_DIGITS {
            true => out.push_str(KEY_WITHHELD),
            false => out.push_str(&rest[start..start + run]),
        }
        rest = &rest[start + run..];
    }
    out.push_str(rest);
    let mut shown: String = out.chars().take(SHOWN).map(|c| if c.is_control() { '?' } else { c }).collect();
    if out.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_input_is_short_printable_and_never_a_key() {
        assert_eq!(super::quoted("WETH"), "'WETH'");
        assert_eq!(super::quoted("a\nb\u{7}"), "'a?b?'");
        assert_eq!(super::quoted(&"x".repeat(100)), format!("'{}…'", "x".repeat(24)));
        let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        assert!(!super::quoted(key).contains("59c6995e"), "{}", super::quoted(key));
        assert!(!super::quoted(key.trim_start_matches("0x")).contains("59c6995e"));
        assert_eq!(super::quoted("0é"), "'0é'");
    }

    #[test]
    fn a_key_in_any_shape_is_withheld_and_shorter_hex_is_kept() {
        let key = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        for shape in [
            key.to_string(),
            format!("0x{key}"),
            format!("\"0x{key}\""),
            format!("my key is 0x{key}, keep it"),
            format!("abc{key}"),
            key[4..].to_string(),
            format!("0X{}", key.to_uppercase()),
        ] {
            assert!(super::holds_key_like(&shape), "{shape}");
            assert!(!super::quoted(&shape).contains("998f97a5"), "{shape}");
            let message = format!("invalid type: string {shape:?}, expected struct AddWallet at line 1 column 68");
            let scrubbed = super::scrubbed(&message);
            assert!(!scrubbed.contains("998f97a5") && !scrubbed.contains("b6b7869"), "{scrubbed}");
            assert!(scrubbed.ends_with("expected struct AddWallet at line 1 column 68"), "{scrubbed}");
        }
        let address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        assert!(!super::holds_key_like(address));
        assert_eq!(super::scrubbed(&format!("unknown token {address}")), format!("unknown token {address}"));
        assert_eq!(super::scrubbed("a\nb"), "a?b");
        assert_eq!(super::scrubbed(&"y".repeat(400)).chars().count(), 301);
    }
}
