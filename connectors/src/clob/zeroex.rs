//! 0x protocol v4 limit orders (`NativeOrdersFeature` behind the Exchange Proxy): EIP-712 signed orders, kept in
//! the gateway's book, filled and cancelled on-chain.

use alloy::primitives::{Address, B256, Bytes, Signature, U256, address};
use alloy::rpc::types::Log;
use alloy::sol_types::{Eip712Domain, SolCall, SolEvent, SolStruct, eip712_domain};
use serde_json::{Value, json};

use super::{ClobVenue, Fill, Market, OrderError, OrderState, OrderStatus, OrderTerms};
use crate::Side;
use crate::core::error::Field;

/// The Exchange Proxy's address on Ethereum, Polygon, Arbitrum, BNB Chain and Base (and on the devnet).
pub const EXCHANGE_PROXY: Address = address!("0xDef1C0ded9bec7F1a1670819833240f027b25EfF");

pub use bindings::*;

#[allow(clippy::too_many_arguments)]
mod bindings {
    alloy::sol! {
        #[derive(Debug, PartialEq, Eq)]
        struct LimitOrder {
            address makerToken;
            address takerToken;
            uint128 makerAmount;
            uint128 takerAmount;
            uint128 takerTokenFeeAmount;
            address maker;
            address taker;
            address sender;
            address feeRecipient;
            bytes32 pool;
            uint64 expiry;
            uint256 salt;
        }

        #[derive(Debug, PartialEq, Eq)]
        struct ZeroExSignature {
            uint8 signatureType;
            uint8 v;
            bytes32 r;
            bytes32 s;
        }

        #[derive(Debug, PartialEq, Eq)]
        struct OrderInfo {
            bytes32 orderHash;
            uint8 status;
            uint128 takerTokenFilledAmount;
        }

        #[sol(rpc)]
        interface INativeOrders {
            function getLimitOrderHash(LimitOrder order) external view returns (bytes32 orderHash);
            function getLimitOrderRelevantState(LimitOrder order, ZeroExSignature signature) external view
                returns (OrderInfo orderInfo, uint128 actualFillableTakerTokenAmount, bool isSignatureValid);
            function batchGetLimitOrderRelevantStates(LimitOrder[] orders, ZeroExSignature[] signatures) external view
                returns (OrderInfo[] orderInfos, uint128[] actualFillableTakerTokenAmounts, bool[] isSignatureValids);
            function fillLimitOrder(LimitOrder order, ZeroExSignature signature, uint128 takerTokenFillAmount)
                external payable returns (uint128 takerTokenFilledAmount, uint128 makerTokenFilledAmount);
            function batchFillLimitOrders(LimitOrder[] orders, ZeroExSignature[] signatures,
                uint128[] takerTokenFillAmounts, bool revertIfIncomplete) external payable
                returns (uint128[] takerTokenFilledAmounts, uint128[] makerTokenFilledAmounts);
            function cancelLimitOrder(LimitOrder order) external;
            function batchCancelLimitOrders(LimitOrder[] orders) external;

            event LimitOrderFilled(bytes32 orderHash, address maker, address taker, address feeRecipient,
                address makerToken, address takerToken, uint128 takerTokenFilledAmount, uint128 makerTokenFilledAmount,
                uint128 takerTokenFeeFilledAmount, uint256 protocolFeePaid, bytes32 pool);
        }
    }
}

/// `signatureType` 2: an EIP-712 signature over the order hash.
const EIP712_SIGNATURE: u8 = 2;

/// The Exchange Proxy on one chain.
#[derive(Debug, Clone)]
pub struct ZeroEx {
    pub proxy: Address,
    domain: Eip712Domain,
}

impl ZeroEx {
    pub fn new(proxy: Address, chain_id: u64) -> ZeroEx {
        let domain =
            eip712_domain! { name: "ZeroEx", version: "1.0.0", chain_id: chain_id, verifying_contract: proxy, };
        ZeroEx { proxy, domain }
    }

    pub fn signature(signature: &Signature) -> ZeroExSignature {
        ZeroExSignature {
            signatureType: EIP712_SIGNATURE,
            v: 27 + u8::from(signature.v()),
            r: signature.r().into(),
            s: signature.s().into(),
        }
    }

    fn side(market: &Market, order: &LimitOrder) -> Side {
        if order.makerToken == market.base.address { Side::Sell } else { Side::Buy }
    }

    /// Base units for an amount of the order's taker token (floor).
    fn base_for_taker(market: &Market, order: &LimitOrder, taker_amount: u128) -> U256 {
        match Self::side(market, order) {
            Side::Buy => U256::from(taker_amount),
            Side::Sell => {
                U256::from(order.makerAmount) * U256::from(taker_amount) / U256::from(order.takerAmount.max(1))
            }
        }
    }

    /// Taker-token units that buy at least `base` units from the order.
    fn taker_for_base(market: &Market, order: &LimitOrder, base: U256) -> U256 {
        match Self::side(market, order) {
            Side::Buy => base,
            Side::Sell => {
                let numerator = base * U256::from(order.takerAmount);
                let maker = U256::from(order.makerAmount.max(1));
                numerator.div_ceil(maker).min(U256::from(order.takerAmount))
            }
        }
    }
}

fn u128_of(value: U256) -> u128 {
    u128::try_from(value).unwrap_or(u128::MAX)
}

impl ClobVenue for ZeroEx {
    type Order = LimitOrder;

    const NAME: &'static str = "zeroex";

    /// The Exchange Proxy is at one address on every chain 0x deployed it to.
    fn on_chain(chain_id: u64) -> ZeroEx {
        ZeroEx::new(EXCHANGE_PROXY, chain_id)
    }

    fn order(&self, market: &Market, terms: &OrderTerms) -> Result<LimitOrder, OrderError> {
        let OrderTerms { maker, side, amount, price, expiry, salt } = terms.clone();
        // Rounded in the maker's favour, so an order never trades worse than the price it names.
        let quote = market.quote_for(amount, price, side == Side::Sell);
        let quote = quote.ok_or_else(|| OrderError::unfit(Field::Amount, "amount × price is too large"))?;
        let (maker_token, taker_token, maker_amount, taker_amount) = match side {
            Side::Sell => (market.base.address, market.quote.address, amount, quote),
            Side::Buy => (market.quote.address, market.base.address, quote, amount),
        };
        // 0x orders hold amounts as uint128; a larger one must be refused, not cut into another price.
        let fit = |value: U256, what: &str| {
            u128::try_from(value).ok().filter(|v| *v > 0).ok_or_else(|| {
                OrderError::unfit(
                    Field::Amount,
                    format!("the order's {what} amount ({value} raw units) is zero or beyond 0x's uint128"),
                )
            })
        };
        Ok(LimitOrder {
            makerToken: maker_token,
            takerToken: taker_token,
            makerAmount: fit(maker_amount, "maker")?,
            takerAmount: fit(taker_amount, "taker")?,
            takerTokenFeeAmount: 0,
            maker,
            taker: Address::ZERO,
            sender: Address::ZERO,
            feeRecipient: Address::ZERO,
            pool: B256::ZERO,
            expiry,
            salt,
        })
    }

    fn order_id(&self, order: &LimitOrder) -> B256 {
        order.eip712_signing_hash(&self.domain)
    }

    fn signing_hash(&self, order: &LimitOrder) -> Option<B256> {
        Some(order.eip712_signing_hash(&self.domain))
    }

    fn encode(&self, order: &LimitOrder) -> String {
        json!({
            "makerToken": order.makerToken, "takerToken": order.takerToken,
            "makerAmount": order.makerAmount.to_string(), "takerAmount": order.takerAmount.to_string(),
            "takerTokenFeeAmount": order.takerTokenFeeAmount.to_string(), "maker": order.maker,
            "taker": order.taker, "sender": order.sender, "feeRecipient": order.feeRecipient, "pool": order.pool,
            "expiry": order.expiry.to_string(), "salt": order.salt.to_string(),
        })
        .to_string()
    }

    fn decode(&self, text: &str) -> Result<LimitOrder, OrderError> {
        let unreadable = OrderError::Unreadable;
        let value: Value = serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
        let field = |name: &str| value[name].as_str().ok_or_else(|| unreadable(format!("stored order lacks {name}")));
        let address = |name: &str| field(name)?.parse::<Address>().map_err(|e| unreadable(format!("{name}: {e}")));
        let number = |name: &str| field(name)?.parse::<u128>().map_err(|e| unreadable(format!("{name}: {e}")));
        Ok(LimitOrder {
            makerToken: address("makerToken")?,
            takerToken: address("takerToken")?,
            makerAmount: number("makerAmount")?,
            takerAmount: number("takerAmount")?,
            takerTokenFeeAmount: number("takerTokenFeeAmount")?,
            maker: address("maker")?,
            taker: address("taker")?,
            sender: address("sender")?,
            feeRecipient: address("feeRecipient")?,
            pool: field("pool")?.parse().map_err(|e| unreadable(format!("pool: {e}")))?,
            expiry: field("expiry")?.parse().map_err(|e| unreadable(format!("expiry: {e}")))?,
            salt: field("salt")?.parse().map_err(|e| unreadable(format!("salt: {e}")))?,
        })
    }

    fn states_call(&self, orders: &[(LimitOrder, Signature)]) -> (Address, Bytes) {
        let call = INativeOrders::batchGetLimitOrderRelevantStatesCall {
            orders: orders.iter().map(|(order, _)| order.clone()).collect(),
            signatures: orders.iter().map(|(_, signature)| Self::signature(signature)).collect(),
        };
        (self.proxy, call.abi_encode().into())
    }

    fn decode_states(
        &self,
        market: &Market,
        orders: &[(LimitOrder, Signature)],
        output: &[u8],
    ) -> Result<Vec<OrderState>, OrderError> {
        let decoded = INativeOrders::batchGetLimitOrderRelevantStatesCall::abi_decode_returns(output)
            .map_err(|e| OrderError::Unreadable(e.to_string()))?;
        if decoded.orderInfos.len() != orders.len() {
            return Err(OrderError::Unreadable(format!(
                "{} states for {} orders",
                decoded.orderInfos.len(),
                orders.len()
            )));
        }
        Ok(orders
            .iter()
            .enumerate()
            .map(|(i, (order, _))| {
                let info = &decoded.orderInfos[i];
                let signature_valid = decoded.isSignatureValids[i];
                let status = match info.status {
                    1 if signature_valid => OrderStatus::Open,
                    2 => OrderStatus::Filled,
                    3 => OrderStatus::Cancelled,
                    4 => OrderStatus::Expired,
                    _ => OrderStatus::Invalid,
                };
                let fillable = match status {
                    OrderStatus::Open => {
                        Self::base_for_taker(market, order, decoded.actualFillableTakerTokenAmounts[i])
                    }
                    _ => U256::ZERO,
                };
                OrderState {
                    status,
                    filled: Self::base_for_taker(market, order, info.takerTokenFilledAmount),
                    fillable,
                    signature_valid,
                }
            })
            .collect())
    }

    fn fill_call(&self, market: &Market, fills: &[(LimitOrder, Signature, U256)]) -> (Address, Bytes) {
        let call = INativeOrders::batchFillLimitOrdersCall {
            orders: fills.iter().map(|(order, _, _)| order.clone()).collect(),
            signatures: fills.iter().map(|(_, signature, _)| Self::signature(signature)).collect(),
            takerTokenFillAmounts: fills
                .iter()
                .map(|(order, _, base)| u128_of(Self::taker_for_base(market, order, *base)))
                .collect(),
            revertIfIncomplete: true,
        };
        (self.proxy, call.abi_encode().into())
    }

    fn cancel_call(&self, orders: &[LimitOrder]) -> (Address, Bytes) {
        let data = match orders {
            [order] => INativeOrders::cancelLimitOrderCall { order: order.clone() }.abi_encode(),
            _ => INativeOrders::batchCancelLimitOrdersCall { orders: orders.to_vec() }.abi_encode(),
        };
        (self.proxy, data.into())
    }

    fn fills(&self, market: &Market, logs: &[Log]) -> Vec<Fill> {
        let tokens = [market.base.address, market.quote.address];
        logs.iter()
            .filter(|log| log.address() == self.proxy)
            .filter_map(|log| {
                let event = INativeOrders::LimitOrderFilled::decode_log_data(log.data()).ok()?;
                if !tokens.contains(&event.makerToken) || !tokens.contains(&event.takerToken) {
                    return None;
                }
                let (base, quote) = if event.makerToken == market.base.address {
                    (event.makerTokenFilledAmount, event.takerTokenFilledAmount)
                } else {
                    (event.takerTokenFilledAmount, event.makerTokenFilledAmount)
                };
                Some(Fill {
                    order_id: event.orderHash,
                    taker: event.taker,
                    base: U256::from(base),
                    quote: U256::from(quote),
                    tx_hash: log.transaction_hash?,
                    block: log.block_number?,
                    log_index: log.log_index?,
                })
            })
            .collect()
    }

    fn fill_topic(&self) -> B256 {
        INativeOrders::LimitOrderFilled::SIGNATURE_HASH
    }

    fn contract(&self) -> Address {
        self.proxy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_and_type_hash_are_0x_v4s() {
        // Published in 0x's docs: the LimitOrder type hash, and the mainnet domain separator.
        assert_eq!(
            LimitOrder::eip712_type_hash(&LimitOrder::default_for_hash()),
            "0xce918627cb55462ddbb85e73de69a8b322f2bc88f4507c52fcad6d4c33c29d49".parse::<B256>().unwrap()
        );
        assert_eq!(
            ZeroEx::new(EXCHANGE_PROXY, 1).domain.separator(),
            "0xfe3a8808ff7909b8c36164e6e9a076597c21c3fc2ec6f2c8ac04529c41ce507e".parse::<B256>().unwrap()
        );
    }

    impl LimitOrder {
        fn default_for_hash() -> LimitOrder {
            LimitOrder {
                makerToken: Address::ZERO,
                takerToken: Address::ZERO,
                makerAmount: 0,
                takerAmount: 0,
                takerTokenFeeAmount: 0,
                maker: Address::ZERO,
                taker: Address::ZERO,
                sender: Address::ZERO,
                feeRecipient: Address::ZERO,
                pool: B256::ZERO,
                expiry: 0,
                salt: U256::ZERO,
            }
        }
    }
}
