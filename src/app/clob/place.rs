//! Placing an order: what crosses the book is filled on-chain at once, the rest is signed and rests on the book.
//! Which resting orders an order takes ([`crossing`]) is decided without the chain.

use alloy::primitives::{Address, B256, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use chains::amount::Amount;
use chains::tx::Call;
use connectors::Side;
use connectors::clob::{ClobVenue, Market, OrderStatus, OrderTerms, OrderType, Resting, match_taker};

use super::{Clob, NewOrder, Placed, Signed};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::storage::{StoredOrder, now_ms};

/// The resting orders (id, base units taken) an order of `maker` takes from `book`, or why it cannot be placed:
/// a MARKET order takes best price first up to its price (any, when it names none) and must take something; a
/// LIMIT order takes what it crosses; a LIMIT_MAKER order only rests, so it is refused if it would cross.
pub fn crossing(book: &[Resting], maker: Address, order: &NewOrder, market: &str) -> AppResult<Vec<(B256, U256)>> {
    match (order.order_type, order.price) {
        (OrderType::Market, price) => {
            let worst = price.unwrap_or(match order.side {
                Side::Buy => U256::MAX,
                Side::Sell => U256::ZERO,
            });
            let taken = match_taker(book, maker, order.side, order.amount, worst);
            if taken.is_empty() {
                return Err(AppError::invalid(
                    "price",
                    format!(
                        "nothing on the {market} book (other than this wallet's own orders) fills a MARKET {} at that \
                         price",
                        order.side.as_str()
                    ),
                ));
            }
            Ok(taken)
        }
        (OrderType::LimitMaker, Some(price)) => {
            if !match_taker(book, Address::ZERO, order.side, U256::from(1), price).is_empty() {
                return Err(AppError::invalid(
                    "price",
                    "a LIMIT_MAKER order only rests, and this one would cross the book; use LIMIT to take",
                ));
            }
            Ok(Vec::new())
        }
        (OrderType::Limit, Some(price)) => Ok(match_taker(book, maker, order.side, order.amount, price)),
        (_, None) => Err(AppError::invalid("price", "is required for LIMIT and LIMIT_MAKER orders")),
    }
}

impl<V: ClobVenue> Clob<V> {
    /// Places an order for `maker`: what crosses the book is filled on-chain at once (LIMIT, MARKET), the rest
    /// is signed and rests on the book (LIMIT, LIMIT_MAKER). Everything that can refuse the order is checked
    /// before a fill is sent; once one is sent, the answer always carries its hash.
    pub async fn place(&self, state: &AppState, maker: Address, order: NewOrder) -> AppResult<Placed> {
        let market = self.market(&order.market)?;
        let expiry = self.admissible(state, market, &order).await?;
        let signer = state.ethereum().signer(maker)?;
        let book = self.book(state, market).await?;
        let resting: Vec<Resting> = book.iter().map(|(_, r)| r.clone()).collect();
        let crossing = crossing(&resting, maker, &order, &market.name)?;
        let crossed = crossing.iter().map(|(_, base)| *base).fold(U256::ZERO, |a, b| a + b);
        if !crossing.is_empty() {
            self.require_taker_funds(maker, market, &order, &resting, &crossing).await?;
        }
        // The part that would rest, built and signed now, so a bad one is refused before anything is sent.
        let remaining = order.amount.saturating_sub(crossed);
        let rest = match (order.order_type, order.price) {
            (OrderType::Limit | OrderType::LimitMaker, Some(price)) if remaining >= market.minimum => {
                Some(self.signed_rest(&signer, market, &order, (remaining, price, expiry))?)
            }
            _ => None,
        };
        let mut placed = Placed {
            client_order_id: order
                .client_order_id
                .clone()
                .unwrap_or_else(|| format!("gw-{}", uuid::Uuid::new_v4().simple())),
            fill_tx: None,
            filled: U256::ZERO,
            resting: None,
            note: None,
        };
        if crossing.is_empty() {
            if let Some(rest) = rest {
                placed.resting =
                    Some(self.rest(state, market, maker, &order, rest, &placed.client_order_id, true).await?);
            }
            return Ok(placed);
        }
        let fills = crossing
            .iter()
            .map(|(id, base)| {
                let (stored, _) = book.iter().find(|(o, _)| o.id == *id).expect("matched from this book");
                let (venue_order, signature) = self.signed(stored)?;
                Ok((venue_order, signature, *base))
            })
            .collect::<AppResult<Vec<_>>>()?;
        let (to, data) = self.venue.fill_call(market, &fills);
        let (hash, mined) = self.send(state, &signer, Call::new(to, data), "clob fill").await?;
        placed.fill_tx = Some(hash);
        if !mined {
            placed.note = Some(format!(
                "the fill {hash} was sent but not mined yet; poll it (POST /chains/ethereum/poll) before trusting \
                 the amount, and place the rest again once it is"
            ));
            return Ok(placed);
        }
        placed.filled = crossed;
        self.rest_after_fill(state, (market, maker, &order), rest, remaining, &mut placed).await;
        Ok(placed)
    }

    /// Refuses a taker order whose fills would spend more than the wallet holds: a SELL gives the base it crosses,
    /// a BUY pays each resting order's price for the base it takes (rounded up).
    async fn require_taker_funds(
        &self,
        taker: Address,
        market: &Market,
        order: &NewOrder,
        resting: &[Resting],
        crossing: &[(B256, U256)],
    ) -> AppResult<()> {
        let one_base = U256::from(10u64).pow(U256::from(market.base.decimals));
        let (token, needed) = match order.side {
            Side::Sell => (&market.base, crossing.iter().map(|(_, base)| *base).fold(U256::ZERO, |a, b| a + b)),
            Side::Buy => {
                let price = |id: &B256| resting.iter().find(|r| r.id == *id).map_or(U256::ZERO, |r| r.price);
                let paid = crossing.iter().map(|(id, base)| (price(id) * base).div_ceil(one_base));
                (&market.quote, paid.fold(U256::ZERO, |a, b| a + b))
            }
        };
        let token = chains::erc20::Token {
            address: token.address,
            symbol: token.symbol.clone(),
            name: token.symbol.clone(),
            decimals: token.decimals,
        };
        crate::app::chain::require_balance(&self.network, taker, &token, needed).await
    }

    /// The order's expiry, once it is admissible: at least the market's minimum, an expiry after now, a client
    /// order id not used yet.
    async fn admissible(&self, state: &AppState, market: &Market, order: &NewOrder) -> AppResult<u64> {
        if order.amount < market.minimum {
            return Err(AppError::invalid("amount", format!("is below the market's minimum {}", minimum(market))));
        }
        let now = (now_ms() / 1000) as u64;
        let expiry = match order.expiration {
            Some(at) if at <= now || at > i64::MAX as u64 => {
                return Err(AppError::invalid("expiration", format!("must be a unix time after now ({now})")));
            }
            Some(at) => at,
            None => now + self.settings.order_expiry_seconds,
        };
        if let Some(id) = &order.client_order_id
            && let Some(existing) = state.storage().clob_order(&self.connector, &self.network_name, id).await?
        {
            return Err(AppError::invalid(
                "clientOrderID",
                format!("{} already names order {}; client order ids must be unique", chains::quoted(id), existing.id),
            ));
        }
        Ok(expiry)
    }

    /// The venue's order for what rests, signed by the maker.
    fn signed_rest(
        &self,
        signer: &PrivateKeySigner,
        market: &Market,
        order: &NewOrder,
        (amount, price, expiry): (U256, U256, u64),
    ) -> AppResult<Signed<V::Order>> {
        let salt = U256::from(uuid::Uuid::new_v4().as_u128());
        let terms = OrderTerms { maker: signer.address(), side: order.side, amount, price, expiry, salt };
        let venue_order = self.venue.order(market, &terms)?;
        let hash = self.venue.signing_hash(&venue_order).ok_or_else(|| {
            AppError::invalid(
                "orderType",
                format!("{} takes resting orders as transactions, which this gateway does not send", self.connector),
            )
        })?;
        let signature = signer.sign_hash_sync(&hash).map_err(AppError::internal)?;
        Ok(Signed { order: venue_order, signature, price, amount, expiry })
    }

    /// Rests what a fill left: the answer already carries the fill's hash, so a failure here is reported in its
    /// note, not raised.
    async fn rest_after_fill(
        &self,
        state: &AppState,
        (market, maker, order): (&Market, Address, &NewOrder),
        rest: Option<Signed<V::Order>>,
        remaining: U256,
        placed: &mut Placed,
    ) {
        match rest {
            Some(rest) => match self.rest(state, market, maker, order, rest, &placed.client_order_id, false).await {
                Ok(id) => placed.resting = Some(id),
                Err(error) => {
                    placed.note = Some(format!(
                        "filled {} raw base units; the rest was not placed: {}",
                        placed.filled,
                        error.public_message()
                    ))
                }
            },
            None if !remaining.is_zero() && order.order_type != OrderType::Market => {
                placed.note = Some(format!(
                    "the unfilled rest is below the market's minimum {} and was not placed",
                    minimum(market)
                ))
            }
            None => {}
        }
    }

    /// Checks a signed order on the venue (fillable, signature valid) and stores it on the book.
    #[allow(clippy::too_many_arguments)]
    async fn rest(
        &self,
        state: &AppState,
        market: &Market,
        maker: Address,
        order: &NewOrder,
        signed: Signed<V::Order>,
        client_order_id: &str,
        before_any_fill: bool,
    ) -> AppResult<B256> {
        let Signed { order: venue_order, signature, price, amount, expiry } = signed;
        let check = self.states(market, &[(venue_order.clone(), signature)], None).await?;
        if check[0].status != OrderStatus::Open || check[0].fillable.is_zero() {
            let token = &market.given(order.side).symbol;
            let after = if before_any_fill { "" } else { " after the fill" };
            return Err(AppError::invalid(
                "address",
                format!(
                    "the venue would not fill this order{after}: the maker must hold {token} and approve it for \
                     {0}/clob (POST /chains/ethereum/approve with spender {0}/clob)",
                    self.connector
                ),
            ));
        }
        let id = self.venue.order_id(&venue_order);
        state
            .storage()
            .insert_clob_order(&StoredOrder {
                id,
                connector: self.connector.clone(),
                network: self.network_name.clone(),
                market: market.name.clone(),
                maker,
                side: order.side,
                order_type: order.order_type.as_str().into(),
                price,
                amount,
                filled: U256::ZERO,
                fillable: check[0].fillable,
                status: "OPEN".into(),
                client_order_id: client_order_id.to_string(),
                venue_order: self.venue.encode(&venue_order),
                signature: alloy::hex::encode_prefixed(signature.as_bytes()),
                expiry: expiry as i64,
                created_at: now_ms(),
            })
            .await?;
        // A new order may share its maker's backing with others: the next read syncs again to learn it.
        self.stale(state).await;
        Ok(id)
    }
}

/// The market's smallest order, as messages name it.
fn minimum(market: &Market) -> String {
    format!("{} {}", Amount::new(market.minimum, market.base.decimals).to_decimal_string(), market.base.symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAKER: Address = Address::repeat_byte(1);
    const TAKER: Address = Address::repeat_byte(2);

    fn resting(byte: u8, maker: Address, side: Side, price: u64, fillable: u64) -> Resting {
        Resting {
            id: B256::repeat_byte(byte),
            maker,
            side,
            price: U256::from(price),
            fillable: U256::from(fillable),
            created_at: i64::from(byte),
        }
    }

    fn order(order_type: OrderType, side: Side, amount: u64, price: Option<u64>) -> NewOrder {
        NewOrder {
            market: "WETH-USDC".into(),
            side,
            order_type,
            amount: U256::from(amount),
            price: price.map(U256::from),
            client_order_id: None,
            expiration: None,
        }
    }

    fn asks() -> Vec<Resting> {
        vec![
            resting(1, MAKER, Side::Sell, 3100, 5),
            resting(2, MAKER, Side::Sell, 3000, 5),
            resting(3, TAKER, Side::Sell, 2900, 5),
        ]
    }

    fn taken(crossing: Vec<(B256, U256)>) -> Vec<(u8, u64)> {
        crossing.into_iter().map(|(id, base)| (id.0[0], base.to::<u64>())).collect()
    }

    #[test]
    fn a_limit_order_takes_what_it_crosses_best_price_first_and_never_its_own() {
        let bid = order(OrderType::Limit, Side::Buy, 8, Some(3100));
        assert_eq!(taken(crossing(&asks(), TAKER, &bid, "WETH-USDC").unwrap()), vec![(2, 5), (1, 3)]);
        let below = order(OrderType::Limit, Side::Buy, 8, Some(2950));
        assert!(crossing(&asks(), TAKER, &below, "WETH-USDC").unwrap().is_empty(), "only its own ask is under");
    }

    #[test]
    fn a_limit_maker_order_that_would_cross_is_refused_and_one_that_rests_takes_nothing() {
        let crossing_bid = order(OrderType::LimitMaker, Side::Buy, 1, Some(2900));
        let error = crossing(&asks(), MAKER, &crossing_bid, "WETH-USDC").unwrap_err().to_string();
        assert!(error.starts_with("price: a LIMIT_MAKER order only rests"), "{error}");
        let resting_bid = order(OrderType::LimitMaker, Side::Buy, 1, Some(2800));
        assert!(crossing(&asks(), MAKER, &resting_bid, "WETH-USDC").unwrap().is_empty());
    }

    #[test]
    fn a_market_order_takes_up_to_its_price_and_must_take_something() {
        let sell = order(OrderType::Market, Side::Buy, 12, None);
        assert_eq!(taken(crossing(&asks(), TAKER, &sell, "WETH-USDC").unwrap()), vec![(2, 5), (1, 5)]);
        let capped = order(OrderType::Market, Side::Buy, 12, Some(3000));
        assert_eq!(taken(crossing(&asks(), TAKER, &capped, "WETH-USDC").unwrap()), vec![(2, 5)]);
        let nothing = order(OrderType::Market, Side::Sell, 1, None);
        let error = crossing(&asks(), TAKER, &nothing, "WETH-USDC").unwrap_err().to_string();
        assert!(error.contains("nothing on the WETH-USDC book"), "{error}");
        let unpriced = order(OrderType::Limit, Side::Sell, 1, None);
        assert!(crossing(&asks(), TAKER, &unpriced, "WETH-USDC").is_err(), "a LIMIT needs its price");
    }
}
