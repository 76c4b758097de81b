//! Permit2: the allowance layer Uniswap V4's routers pull tokens through. The wallet approves Permit2 as an
//! ERC-20 spender once, then approves each router within Permit2 (an amount and an expiration); a router may
//! move the least of the two allowances.

use alloy::primitives::aliases::{U48, U160};
use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;

use crate::contracts::{IMulticall3, MULTICALL3};
use crate::error::ChainError;
use crate::multicall::multicall;
use crate::network::Network;
use crate::tx::call::Call;

alloy::sol! {
    interface IPermit2 {
        function approve(address token, address spender, uint160 amount, uint48 expiration) external;
        function allowance(address user, address token, address spender) external view returns (uint160 amount, uint48 expiration, uint48 nonce);
    }
}

/// Approves `spender` within Permit2 for `amount` of `token` (capped at Permit2's 160 bits), until the end of
/// Permit2's time: an on-chain approval stands until it is changed, as an ERC-20 one does.
pub fn approve(permit2: Address, token: Address, spender: Address, amount: U256) -> Call {
    let amount = U160::saturating_from(amount);
    Call::new(permit2, IPermit2::approveCall { token, spender, amount, expiration: U48::MAX }.abi_encode())
}

/// What `spender` may move through Permit2 of each of `owner`'s tokens now: its amount, or nothing once expired
/// (at the latest block's time).
pub async fn allowances(
    network: &Network,
    permit2: Address,
    owner: Address,
    spender: Address,
    tokens: &[Address],
) -> Result<Vec<U256>, ChainError> {
    let clock = Bytes::from(IMulticall3::getCurrentBlockTimestampCall {}.abi_encode());
    let mut calls = vec![(MULTICALL3, clock)];
    calls.extend(
        tokens
            .iter()
            .map(|&token| (permit2, Bytes::from(IPermit2::allowanceCall { user: owner, token, spender }.abi_encode()))),
    );
    let answers = multicall(network, calls, None).await?;
    let now = answers[0]
        .as_ref()
        .and_then(|data| IMulticall3::getCurrentBlockTimestampCall::abi_decode_returns(data).ok())
        .ok_or_else(|| ChainError::Node("Multicall3 did not answer getCurrentBlockTimestamp".into()))?;
    answers[1..]
        .iter()
        .map(|answer| {
            let allowance = answer
                .as_ref()
                .and_then(|data| IPermit2::allowanceCall::abi_decode_returns(data).ok())
                .ok_or_else(|| ChainError::Node(format!("Permit2 at {permit2} did not answer allowance")))?;
            let live = U256::from(allowance.expiration) >= now;
            Ok(if live { U256::from(allowance.amount) } else { U256::ZERO })
        })
        .collect()
}

/// A contract that moves a wallet's tokens: with an ERC-20 allowance to itself, or through Permit2 (an ERC-20
/// allowance to Permit2, and Permit2's allowance to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spender {
    pub contract: Address,
    pub permit2: Option<Address>,
}

/// What a spender may move of each token, layer by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowances {
    /// The ERC-20 allowance to the spender itself, or to Permit2 when it pulls through Permit2.
    pub erc20: Vec<U256>,
    /// Permit2's allowance to the spender, where it pulls through Permit2.
    pub permit2: Option<Vec<U256>>,
}

impl Allowances {
    /// What the spender may move: the least of its layers.
    pub fn effective(&self) -> Vec<U256> {
        match &self.permit2 {
            Some(permit2) => self.erc20.iter().zip(permit2).map(|(a, b)| (*a).min(*b)).collect(),
            None => self.erc20.clone(),
        }
    }
}

impl From<Address> for Spender {
    fn from(contract: Address) -> Self {
        Spender::direct(contract)
    }
}

impl Spender {
    pub fn direct(contract: Address) -> Spender {
        Spender { contract, permit2: None }
    }

    pub fn through_permit2(contract: Address, permit2: Address) -> Spender {
        Spender { contract, permit2: Some(permit2) }
    }

    /// The contract the ERC-20 allowance goes to.
    pub fn erc20_spender(&self) -> Address {
        self.permit2.unwrap_or(self.contract)
    }

    pub async fn allowances(
        &self,
        network: &Network,
        owner: Address,
        tokens: &[Address],
    ) -> Result<Allowances, ChainError> {
        let erc20 = crate::erc20::allowances(network, owner, self.erc20_spender(), tokens).await?;
        let permit2 = match self.permit2 {
            Some(permit2) => Some(allowances(network, permit2, owner, self.contract, tokens).await?),
            None => None,
        };
        Ok(Allowances { erc20, permit2 })
    }

    /// The calls that let the spender move `amount` of `token`, given the ERC-20 layer's allowance now: the
    /// ERC-20 approval (to Permit2 only where it allows less), then Permit2's.
    pub fn approvals(&self, token: Address, amount: U256, erc20_allowed: U256) -> Vec<Call> {
        match self.permit2 {
            None => vec![crate::erc20::approve(token, self.contract, amount)],
            Some(permit2) => {
                let mut calls = Vec::new();
                if erc20_allowed < amount {
                    calls.push(crate::erc20::approve(token, permit2, amount));
                }
                calls.push(approve(permit2, token, self.contract, amount));
                calls
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permit2_is_approved_as_an_erc20_spender_only_where_it_is_short() {
        let (token, router, permit2) = (Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3));
        let spender = Spender::through_permit2(router, permit2);
        let amount = U256::from(500);
        let short = spender.approvals(token, amount, U256::from(499));
        assert_eq!(short.iter().map(|call| call.to).collect::<Vec<_>>(), vec![token, permit2]);
        let inner = IPermit2::approveCall::abi_decode(&short[1].data).unwrap();
        assert_eq!((inner.token, inner.spender, U256::from(inner.amount)), (token, router, amount));
        assert_eq!(spender.approvals(token, amount, amount).len(), 1, "the ERC-20 layer already allows it");
        let unlimited = approve(permit2, token, router, U256::MAX);
        assert_eq!(IPermit2::approveCall::abi_decode(&unlimited.data).unwrap().amount, U160::MAX);
        assert_eq!(Spender::direct(router).approvals(token, amount, U256::ZERO)[0].to, token);
        let layers =
            Allowances { erc20: vec![U256::from(7), U256::MAX], permit2: Some(vec![U256::MAX, U256::from(3)]) };
        assert_eq!(layers.effective(), vec![U256::from(7), U256::from(3)]);
    }
}
