//! ERC-20 and WETH: reads batched through [`multicall`] (balances with the native one, allowances for many tokens
//! in one `eth_call`, a token's name, symbol and decimals), the calls that approve, transfer, wrap and unwrap,
//! and what a receipt's Transfer logs moved.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent};

use crate::contracts::{IERC20, IMulticall3, IWETH9, MULTICALL3};
use crate::error::ChainError;
use crate::multicall::multicall;
use crate::network::Network;
use crate::tx::call::Call;

/// A token as lists and responses describe it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Token {
    pub address: Address,
    pub symbol: String,
    pub name: String,
    pub decimals: u8,
}

/// The native balance and each token's balance of `owner`, in one round trip.
pub async fn balances(network: &Network, owner: Address, tokens: &[Address]) -> Result<(U256, Vec<U256>), ChainError> {
    let mut calls = vec![(MULTICALL3, Bytes::from(IMulticall3::getEthBalanceCall { addr: owner }.abi_encode()))];
    calls.extend(tokens.iter().map(|&token| (token, Bytes::from(IERC20::balanceOfCall { owner }.abi_encode()))));
    let results = multicall(network, calls, None).await?;
    let decode = |i: usize| results[i].as_ref().and_then(|data| IERC20::balanceOfCall::abi_decode_returns(data).ok());
    let native = decode(0).ok_or_else(|| ChainError::Node("Multicall3 did not answer getEthBalance".into()))?;
    let tokens = (0..tokens.len())
        .map(|i| decode(i + 1).ok_or(ChainError::NotAToken { token: tokens[i], call: "balanceOf" }))
        .collect::<Result<_, _>>()?;
    Ok((native, tokens))
}

/// How much `spender` may move of each token of `owner`, in one round trip.
pub async fn allowances(
    network: &Network,
    owner: Address,
    spender: Address,
    tokens: &[Address],
) -> Result<Vec<U256>, ChainError> {
    let calls =
        tokens.iter().map(|&t| (t, Bytes::from(IERC20::allowanceCall { owner, spender }.abi_encode()))).collect();
    let results = multicall(network, calls, None).await?;
    results
        .iter()
        .zip(tokens)
        .map(|(data, token)| {
            data.as_ref()
                .and_then(|d| IERC20::allowanceCall::abi_decode_returns(d).ok())
                .ok_or(ChainError::NotAToken { token: *token, call: "allowance" })
        })
        .collect()
}

/// Reads name, symbol and decimals from the chain. Some old tokens (MKR) return bytes32 names.
pub async fn metadata(network: &Network, address: Address) -> Result<Option<Token>, ChainError> {
    let calls = vec![
        (address, Bytes::from(IERC20::nameCall {}.abi_encode())),
        (address, Bytes::from(IERC20::symbolCall {}.abi_encode())),
        (address, Bytes::from(IERC20::decimalsCall {}.abi_encode())),
    ];
    let results = multicall(network, calls, None).await?;
    let text = |data: &Option<Bytes>| -> Option<String> {
        let data = data.as_ref()?;
        IERC20::nameCall::abi_decode_returns(data).ok().or_else(|| {
            let word = B256::try_from(data.get(..32)?).ok()?;
            let end = word.iter().position(|&b| b == 0).unwrap_or(32);
            String::from_utf8(word[..end].to_vec()).ok()
        })
    };
    let decimals = results[2].as_ref().and_then(|d| IERC20::decimalsCall::abi_decode_returns(d).ok());
    let (Some(symbol), Some(decimals)) = (text(&results[1]), decimals) else {
        return Ok(None);
    };
    Ok(Some(Token { address, name: text(&results[0]).unwrap_or_else(|| symbol.clone()), symbol, decimals }))
}

/// Lets `spender` move `amount` of `token` for the signer.
pub fn approve(token: Address, spender: Address, amount: U256) -> Call {
    Call::new(token, IERC20::approveCall { spender, amount }.abi_encode())
}

/// Sends `amount` of `token` to `to`.
pub fn transfer(token: Address, to: Address, amount: U256) -> Call {
    Call::new(token, IERC20::transferCall { to, amount }.abi_encode())
}

/// Wraps `amount` of the native currency into the wrapped native token at `wrapped` (WETH9's `deposit`).
pub fn wrap(wrapped: Address, amount: U256) -> Call {
    Call::new(wrapped, IWETH9::depositCall {}.abi_encode()).with_value(amount)
}

/// Unwraps `amount` of the wrapped native token at `wrapped` (WETH9's `withdraw`).
pub fn unwrap(wrapped: Address, amount: U256) -> Call {
    Call::new(wrapped, IWETH9::withdrawCall { wad: amount }.abi_encode())
}

/// What the receipt's Transfer logs of `token` moved out of and into `wallet`.
pub fn transfers(receipt: &TransactionReceipt, token: Address, wallet: Address) -> (U256, U256) {
    let mut sent = U256::ZERO;
    let mut received = U256::ZERO;
    for log in receipt.inner.logs().iter().filter(|log| log.address() == token) {
        let Ok(transfer) = IERC20::Transfer::decode_log(&log.inner) else { continue };
        if transfer.from == wallet {
            sent += transfer.value;
        }
        if transfer.to == wallet {
            received += transfer.value;
        }
    }
    (sent, received)
}

/// For each (owner, token), what `spender` can move now: the least of the balance and the allowance, at
/// `block`; zero where the token does not answer.
pub async fn spendable(
    network: &Network,
    holdings: &[(Address, Address)],
    spender: Address,
    block: u64,
) -> Result<Vec<U256>, ChainError> {
    let calls = holdings
        .iter()
        .flat_map(|&(owner, token)| {
            [
                (token, Bytes::from(IERC20::balanceOfCall { owner }.abi_encode())),
                (token, Bytes::from(IERC20::allowanceCall { owner, spender }.abi_encode())),
            ]
        })
        .collect();
    let results = multicall(network, calls, Some(block)).await?;
    let amount = |result: &Option<Bytes>| {
        result.as_ref().and_then(|data| IERC20::balanceOfCall::abi_decode_returns(data).ok()).unwrap_or_default()
    };
    Ok(results.chunks(2).map(|pair| amount(&pair[0]).min(amount(&pair[1]))).collect())
}
