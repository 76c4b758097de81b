//! What a revert means to the one who asked for the transaction: a slippage bound the market no longer meets, a
//! balance short of what the transaction moves, or anything else. The protocols' own wordings (require strings
//! and custom errors) are read here, wherever the revert was seen: a simulation before sending, or a mined
//! transaction replayed.

use alloy::sol;
use alloy::sol_types::SolError;

sol! {
    /// Universal Router: the command at `commandIndex` failed with `message` (another revert, wrapped).
    error ExecutionFailed(uint256 commandIndex, bytes message);
    /// Universal Router's bounds on V2 and V3 swaps.
    error V2TooLittleReceived();
    error V2TooMuchRequested();
    error V3TooLittleReceived();
    error V3TooMuchRequested();
    /// Uniswap V4's router (v4-periphery V4Router): the bounds, with what the swap would have given.
    error V4TooLittleReceived(uint256 minAmountOutReceived, uint256 amountReceived);
    error V4TooMuchRequested(uint256 maxAmountInRequested, uint256 amountRequested);
    /// Uniswap V4's PositionManager: a liquidity change past its amount bounds.
    error MaximumAmountExceeded(uint128 maximumAmount, uint128 amountRequested);
    error MinimumAmountInsufficient(uint128 minimumAmount, uint128 amountReceived);
    /// OpenZeppelin 5's ERC-20.
    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
}

/// What a revert means for the request that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertKind {
    /// A slippage bound (least out, most in) the pool no longer meets: the market moved.
    Slippage,
    /// The wallet holds less than the transaction moves (a token, or the native currency for value and gas).
    Balance,
    Other,
}

/// Lowercased substrings of slippage reverts: SwapRouter02 and V3 periphery ("Too little received", "Too much
/// requested"), V2 Router02 and PancakeRouter ("...: INSUFFICIENT_OUTPUT_AMOUNT", "EXCESSIVE_INPUT_AMOUNT",
/// "INSUFFICIENT_A_AMOUNT"/"_B_AMOUNT" for liquidity), NonfungiblePositionManager ("Price slippage check"), and
/// the custom errors above by name (V4 PositionManager's amount bounds are its slippage checks).
const SLIPPAGE: [&str; 11] = [
    "too little received",
    "too much requested",
    "insufficient_output_amount",
    "excessive_input_amount",
    "insufficient_a_amount",
    "insufficient_b_amount",
    "price slippage check",
    "toolittlereceived",
    "toomuchrequested",
    "maximumamountexceeded",
    "minimumamountinsufficient",
];
/// Lowercased reverts of a short balance: TransferHelper's "STF" (V3 periphery) and "TRANSFER_FROM_FAILED" (V2
/// periphery, solmate's SafeTransferLib in Permit2), OpenZeppelin's wordings, and the nodes' refusal of value plus
/// gas over the balance.
const BALANCE: [&str; 5] = [
    "transfer_from_failed",
    "transfer amount exceeds balance",
    "erc20insufficientbalance",
    "insufficient funds",
    "insufficient balance",
];

impl RevertKind {
    /// What a revert reason (as [`reason`] words it, or a node's message) means.
    pub fn of(reason: &str) -> RevertKind {
        let lower = reason.to_lowercase();
        let any = |patterns: &[&str]| patterns.iter().any(|pattern| lower.contains(pattern));
        if any(&SLIPPAGE) {
            RevertKind::Slippage
        } else if lower == "stf" || lower.starts_with("stf ") || any(&BALANCE) {
            RevertKind::Balance
        } else {
            RevertKind::Other
        }
    }
}

/// The reason of revert data: a require string, a panic, a custom error this module knows (named with its
/// arguments, a Universal Router command's unwrapped), or an unknown custom error's selector.
pub fn reason(data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    if let Ok(failed) = ExecutionFailed::abi_decode(data) {
        let inner = reason(&failed.message).unwrap_or_else(|| "no reason".into());
        return Some(format!("{inner} (Universal Router command {})", failed.commandIndex));
    }
    if let Some(text) = alloy::sol_types::decode_revert_reason(data) {
        return Some(text);
    }
    known_error(data)
        .or_else(|| (data.len() >= 4).then(|| format!("custom error 0x{}", alloy::hex::encode(&data[..4]))))
}

fn known_error(data: &[u8]) -> Option<String> {
    let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let text = match selector {
        V2TooLittleReceived::SELECTOR => "V2TooLittleReceived()".to_string(),
        V2TooMuchRequested::SELECTOR => "V2TooMuchRequested()".to_string(),
        V3TooLittleReceived::SELECTOR => "V3TooLittleReceived()".to_string(),
        V3TooMuchRequested::SELECTOR => "V3TooMuchRequested()".to_string(),
        V4TooLittleReceived::SELECTOR => {
            let e = V4TooLittleReceived::abi_decode(data).ok()?;
            format!(
                "V4TooLittleReceived(minAmountOutReceived: {}, amountReceived: {})",
                e.minAmountOutReceived, e.amountReceived
            )
        }
        V4TooMuchRequested::SELECTOR => {
            let e = V4TooMuchRequested::abi_decode(data).ok()?;
            format!(
                "V4TooMuchRequested(maxAmountInRequested: {}, amountRequested: {})",
                e.maxAmountInRequested, e.amountRequested
            )
        }
        MaximumAmountExceeded::SELECTOR => {
            let e = MaximumAmountExceeded::abi_decode(data).ok()?;
            format!("MaximumAmountExceeded(maximumAmount: {}, amountRequested: {})", e.maximumAmount, e.amountRequested)
        }
        MinimumAmountInsufficient::SELECTOR => {
            let e = MinimumAmountInsufficient::abi_decode(data).ok()?;
            format!(
                "MinimumAmountInsufficient(minimumAmount: {}, amountReceived: {})",
                e.minimumAmount, e.amountReceived
            )
        }
        ERC20InsufficientBalance::SELECTOR => {
            let e = ERC20InsufficientBalance::abi_decode(data).ok()?;
            format!("ERC20InsufficientBalance(sender: {}, balance: {}, needed: {})", e.sender, e.balance, e.needed)
        }
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use alloy::sol_types::{Revert, SolError};

    use super::*;

    #[test]
    fn each_protocols_slippage_and_balance_wording_is_understood() {
        for reason in [
            "Too little received",
            "Too much requested",
            "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT",
            "PancakeRouter: EXCESSIVE_INPUT_AMOUNT",
            "UniswapV2Router: INSUFFICIENT_B_AMOUNT",
            "Price slippage check",
            "V3TooLittleReceived()",
            "V4TooMuchRequested(maxAmountInRequested: 1, amountRequested: 2)",
        ] {
            assert_eq!(RevertKind::of(reason), RevertKind::Slippage, "{reason}");
        }
        for reason in [
            "STF",
            "TransferHelper: TRANSFER_FROM_FAILED",
            "ERC20: transfer amount exceeds balance",
            "insufficient funds for gas * price + value: have 1 want 2",
        ] {
            assert_eq!(RevertKind::of(reason), RevertKind::Balance, "{reason}");
        }
        for reason in ["Transaction too old", "ST", "custom error 0x12345678", "LOK"] {
            assert_eq!(RevertKind::of(reason), RevertKind::Other, "{reason}");
        }
    }

    #[test]
    fn custom_errors_are_named_with_their_amounts_and_a_routers_wrapper_is_opened() {
        let v4 = V4TooLittleReceived { minAmountOutReceived: U256::from(990), amountReceived: U256::from(900) };
        let text = reason(&v4.abi_encode()).unwrap();
        assert_eq!(text, "V4TooLittleReceived(minAmountOutReceived: 990, amountReceived: 900)");
        assert_eq!(RevertKind::of(&text), RevertKind::Slippage);
        let inner = Revert::from("Too little received").abi_encode();
        let wrapped = ExecutionFailed { commandIndex: U256::from(1), message: inner.into() }.abi_encode();
        let text = reason(&wrapped).unwrap();
        assert_eq!(text, "revert: Too little received (Universal Router command 1)");
        assert_eq!(RevertKind::of(&text), RevertKind::Slippage);
        assert_eq!(reason(&V3TooLittleReceived {}.abi_encode()).unwrap(), "V3TooLittleReceived()");
        assert_eq!(reason(&[0xde, 0xad, 0xbe, 0xef]).unwrap(), "custom error 0xdeadbeef");
        assert_eq!(reason(&[]), None);
    }
}
