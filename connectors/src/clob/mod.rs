//! Order-book venues (`clob`): limit orders at a price, matched best price first.
//!
//! The book logic here is the venue-independent part: prices and amounts in raw units, which resting orders a
//! taker order fills, whether a new order would cross. A venue plugs in through [`ClobVenue`]: how an order is
//! built and identified, what the maker signs, the one read that says where many orders stand, and the calls
//! that fill and cancel them.
//!
//! The first venue, [`zeroex`], keeps the book off-chain (here, in the gateway) and settles on-chain: orders are
//! signed messages, and the venue only knows an order when someone fills or cancels it. A venue is a file here
//! implementing the trait, listed in [`VENUES`] and [`for_venue!`](crate::for_venue), with its config file. What
//! the gateway drives today are venues whose orders the maker signs (`signing_hash` answers `Some`); a venue
//! whose book is on-chain, where placing is itself a transaction, answers `None` and is refused until placing
//! through a call is added to the trait.

pub mod zeroex;

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, Signature, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log, TransactionRequest};
use chains::amount::Amount;
use chains::network::Network;

use crate::core::error::{ConnectorError, Field};

use crate::Side;

/// Why an order cannot be made, or what was stored or answered of one does not read back.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The order's terms do not fit the market or the venue's order format; `field` names the input at fault.
    #[error("{reason}")]
    Unfit { field: Field, reason: String },
    /// A stored order or the venue's answer does not read back.
    #[error("{0}")]
    Unreadable(String),
}

impl OrderError {
    pub fn unfit(field: Field, reason: impl Into<String>) -> OrderError {
        OrderError::Unfit { field, reason: reason.into() }
    }
}

/// A token of a market, as the network's token list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketToken {
    pub symbol: String,
    pub address: Address,
    pub decimals: u8,
}

/// A market: base priced in quote, with the price step and the smallest order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub name: String,
    pub base: MarketToken,
    pub quote: MarketToken,
    /// Price step, raw quote units per whole base token.
    pub tick: U256,
    /// Smallest order, raw base units.
    pub minimum: U256,
}

impl Market {
    /// Raw quote per whole base for a human price; it must be a multiple of the tick.
    pub fn price(&self, price: &Amount) -> Result<U256, OrderError> {
        if price.raw.is_zero() {
            return Err(OrderError::unfit(Field::Price, "must be greater than zero"));
        }
        if !(price.raw % self.tick).is_zero() {
            let tick = Amount::new(self.tick, self.quote.decimals).to_decimal_string();
            return Err(OrderError::unfit(
                Field::Price,
                format!("must be a multiple of the market's tick size {tick}"),
            ));
        }
        Ok(price.raw)
    }

    /// The token a maker on `side` gives: base for a SELL, quote for a BUY.
    pub fn given(&self, side: Side) -> &MarketToken {
        match side {
            Side::Sell => &self.base,
            Side::Buy => &self.quote,
        }
    }

    /// Raw units of one whole base token.
    pub fn one_base(&self) -> Option<U256> {
        chains::amount::pow10(self.base.decimals)
    }

    /// The quote amount `base` is worth at `price`, rounded down (`round_up` false) or up; `None` when it does
    /// not fit 256 bits.
    pub fn quote_for(&self, base: U256, price: U256, round_up: bool) -> Option<U256> {
        let one = self.one_base()?;
        let product = base.checked_mul(price)?;
        let floor = product / one;
        Some(if round_up && !(product % one).is_zero() { floor + U256::from(1) } else { floor })
    }
}

/// An order on the book: who, which side, at what price, and how much base is still fillable now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resting {
    pub id: B256,
    pub maker: Address,
    pub side: Side,
    /// Raw quote per whole base.
    pub price: U256,
    /// Raw base units a taker can still get (or give) right now.
    pub fillable: U256,
    /// When it was placed, for time priority at one price.
    pub created_at: i64,
}

/// Orders a taker order of `side` from `taker` takes, best price first (oldest first at one price), for up to
/// `amount` base units and no worse than `worst_price`: each resting order's id with the base units taken from
/// it. The taker's own orders are never taken (a self-trade only costs gas).
pub fn match_taker(book: &[Resting], taker: Address, side: Side, amount: U256, worst_price: U256) -> Vec<(B256, U256)> {
    let mut candidates: Vec<&Resting> = book
        .iter()
        .filter(|order| order.side == side.opposite() && !order.fillable.is_zero() && order.maker != taker)
        .filter(|order| match side {
            Side::Buy => order.price <= worst_price,
            Side::Sell => order.price >= worst_price,
        })
        .collect();
    candidates.sort_by(|a, b| {
        let by_price = match side {
            Side::Buy => a.price.cmp(&b.price),
            Side::Sell => b.price.cmp(&a.price),
        };
        by_price.then(a.created_at.cmp(&b.created_at))
    });
    let mut left = amount;
    let mut taken = Vec::new();
    for order in candidates {
        if left.is_zero() {
            break;
        }
        let take = left.min(order.fillable);
        taken.push((order.id, take));
        left -= take;
    }
    taken
}

/// Caps each order's fillable so that one maker's orders together never need more of a token than backs them
/// (`backing`: what each (maker, token) can pay now, the smaller of balance and allowance). Orders are served in
/// the order a taker takes them, best price first, then oldest. Each order's own fillable already respects the
/// backing alone; together, two orders the balance covers once would both show, and a taker crossing both would
/// revert.
pub fn cap_by_backing(
    market: &Market,
    book: &mut [Resting],
    backing: &std::collections::HashMap<(Address, Address), U256>,
) {
    let mut order: Vec<usize> = (0..book.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&book[a], &book[b]);
        let by_price = match a.side {
            Side::Sell => a.price.cmp(&b.price),
            Side::Buy => b.price.cmp(&a.price),
        };
        a.side.as_str().cmp(b.side.as_str()).then(by_price).then(a.created_at.cmp(&b.created_at))
    });
    let mut left = backing.clone();
    for index in order {
        let resting = &mut book[index];
        let token = market.given(resting.side).address;
        let Some(available) = left.get_mut(&(resting.maker, token)) else { continue };
        let needed = match resting.side {
            Side::Sell => Some(resting.fillable),
            Side::Buy => market.quote_for(resting.fillable, resting.price, false),
        };
        if needed.is_none_or(|needed| needed > *available) {
            resting.fillable = match resting.side {
                Side::Sell => *available,
                Side::Buy => {
                    market.one_base().map_or(U256::ZERO, |one| *available * one / resting.price.max(U256::from(1)))
                }
            };
        }
        let used = match resting.side {
            Side::Sell => resting.fillable,
            Side::Buy => market.quote_for(resting.fillable, resting.price, false).unwrap_or(*available),
        };
        *available = available.saturating_sub(used);
    }
}

/// One price level of a book side: the price and the base units resting there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub price: U256,
    pub quantity: U256,
}

/// Bids best (highest) first and asks best (lowest) first, orders at one price summed.
pub fn levels(book: &[Resting], side: Side) -> Vec<Level> {
    let mut levels: Vec<Level> = Vec::new();
    let mut orders: Vec<&Resting> =
        book.iter().filter(|order| order.side == side && !order.fillable.is_zero()).collect();
    orders.sort_by(|a, b| match side {
        Side::Buy => b.price.cmp(&a.price),
        Side::Sell => a.price.cmp(&b.price),
    });
    for order in orders {
        match levels.last_mut() {
            Some(level) if level.price == order.price => level.quantity += order.fillable,
            _ => levels.push(Level { price: order.price, quantity: order.fillable }),
        }
    }
    levels
}

/// What a maker offers: `amount` base on `side` at `price` (raw quote per whole base), valid until `expiry`
/// (unix seconds); `salt` makes otherwise equal orders distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerms {
    pub maker: Address,
    pub side: Side,
    pub amount: U256,
    pub price: U256,
    pub expiry: u64,
    pub salt: U256,
}

/// What an order does with the book: LIMIT takes what it crosses and rests the rest, LIMIT_MAKER only rests
/// (refused if it would cross), MARKET only takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Limit,
    LimitMaker,
    Market,
}

impl OrderType {
    const ALL: [OrderType; 3] = [OrderType::Limit, OrderType::LimitMaker, OrderType::Market];

    /// `LIMIT`, `LIMIT_MAKER` or `MARKET`, in any case, with spaces around.
    pub fn parse(text: &str) -> Option<OrderType> {
        let text = text.trim();
        OrderType::ALL.into_iter().find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "LIMIT",
            OrderType::LimitMaker => "LIMIT_MAKER",
            OrderType::Market => "MARKET",
        }
    }
}

/// Where an order stands on the venue at one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Open,
    Filled,
    Cancelled,
    Expired,
    /// The venue does not accept it (a bad signature, an unknown order).
    Invalid,
}

impl OrderStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Open)
    }

    /// As the book stores and the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "OPEN",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Expired => "EXPIRED",
            OrderStatus::Invalid => "INVALID",
        }
    }
}

/// An order's state read from the venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub status: OrderStatus,
    /// Base units filled so far.
    pub filled: U256,
    /// Base units a taker could fill now (capped by the maker's balance and allowance).
    pub fillable: U256,
    pub signature_valid: bool,
}

/// A fill the venue reported: which order, and the base and quote units that changed hands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    pub order_id: B256,
    pub taker: Address,
    pub base: U256,
    pub quote: U256,
    pub tx_hash: B256,
    pub block: u64,
    pub log_index: u64,
}

/// The order-book venues the gateway speaks, by the connector name each is configured under
/// (`conf/connectors/<name>.yml`). A venue is listed here and in [`for_venue!`](crate::for_venue).
pub const VENUES: [&str; 1] = [zeroex::ZeroEx::NAME];

/// `$body` with the type `$venue` standing for the venue named `$name` (a [`ClobVenue::NAME`]), or `$otherwise`
/// for a name no venue has.
#[macro_export]
macro_rules! for_venue {
    ($name:expr, |$venue:ident| $body:expr, $otherwise:expr) => {
        match $name {
            name if name == <$crate::clob::zeroex::ZeroEx as $crate::clob::ClobVenue>::NAME => {
                type $venue = $crate::clob::zeroex::ZeroEx;
                $body
            }
            _ => $otherwise,
        }
    };
}

/// What the gateway asks of a venue. Calls come back as (contract, calldata); the gateway signs and sends them.
pub trait ClobVenue: Send + Sync + Sized {
    /// The venue's own order, as the maker signs it or the venue stores it.
    type Order: Clone + Send + Sync;

    /// The connector name the venue is configured under.
    const NAME: &'static str;

    /// The venue on the chain with this id.
    fn on_chain(chain_id: u64) -> Self;

    /// The venue's order for `terms` on `market`, or why the venue cannot express it (the message names the
    /// field: amounts too large or too small for its order format).
    fn order(&self, market: &Market, terms: &OrderTerms) -> Result<Self::Order, OrderError>;
    /// The order's id on the venue.
    fn order_id(&self, order: &Self::Order) -> B256;
    /// What the maker signs to place the order; `None` where placing is a transaction.
    fn signing_hash(&self, order: &Self::Order) -> Option<B256>;
    /// The order as stored text, and back.
    fn encode(&self, order: &Self::Order) -> String;
    fn decode(&self, text: &str) -> Result<Self::Order, OrderError>;
    /// One read for the state of many orders.
    fn states_call(&self, orders: &[(Self::Order, Signature)]) -> (Address, Bytes);
    fn decode_states(
        &self,
        market: &Market,
        orders: &[(Self::Order, Signature)],
        output: &[u8],
    ) -> Result<Vec<OrderState>, OrderError>;
    /// One transaction filling each order for the base units given.
    fn fill_call(&self, market: &Market, fills: &[(Self::Order, Signature, U256)]) -> (Address, Bytes);
    /// One transaction cancelling the orders (all the same maker's).
    fn cancel_call(&self, orders: &[Self::Order]) -> (Address, Bytes);
    /// Fills reported in `logs`, for orders of `market`.
    fn fills(&self, market: &Market, logs: &[Log]) -> Vec<Fill>;
    /// The log filter topic fills are found under.
    fn fill_topic(&self) -> B256;
    /// The contract whose logs report fills, and whose allowance makers and takers need.
    fn contract(&self) -> Address;

    /// The fills of `markets` in blocks `from..=to`, each with the index of its market: one log query.
    fn read_fills<'a>(
        &'a self,
        network: &'a Network,
        markets: &'a [Market],
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<(usize, Fill)>, ConnectorError>> + Send + 'a {
        async move {
            let filter = Filter::new().address(self.contract()).event_signature(self.fill_topic());
            let logs = chains::logs::scan(network, &filter, from, to).await?;
            Ok(markets
                .iter()
                .enumerate()
                .flat_map(|(index, market)| self.fills(market, &logs).into_iter().map(move |fill| (index, fill)))
                .collect())
        }
    }

    /// The state of `orders` of `market` at `block` (the latest when `None`): one call. A contract that does
    /// not answer as the venue is [`ConnectorError::NotTheVenue`].
    fn read_states<'a>(
        &'a self,
        network: &'a Network,
        market: &'a Market,
        orders: &'a [(Self::Order, Signature)],
        block: Option<u64>,
    ) -> impl Future<Output = Result<Vec<OrderState>, ConnectorError>> + Send + 'a {
        async move {
            let (to, data) = self.states_call(orders);
            let request = TransactionRequest::default().to(to).input(data.into());
            let output = match block {
                Some(block) => network.provider().call(request).block(block.into()).await,
                None => network.call_latest(&request, false).await.and_then(|(called, _)| called),
            }
            .map_err(|e| network.rpc_error(e))?;
            self.decode_states(market, orders, &output).map_err(|_| ConnectorError::NotTheVenue(to))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resting(id: u8, side: Side, price: u64, fillable: u64, created_at: i64) -> Resting {
        Resting {
            id: B256::repeat_byte(id),
            maker: Address::ZERO,
            side,
            price: U256::from(price),
            fillable: U256::from(fillable),
            created_at,
        }
    }

    #[test]
    fn a_taker_takes_best_price_first_then_oldest_within_its_limit() {
        let book = [
            resting(1, Side::Sell, 3010, 5, 1),
            resting(2, Side::Sell, 3000, 2, 2),
            resting(3, Side::Sell, 3000, 2, 1),
            resting(4, Side::Sell, 3020, 9, 0),
            resting(5, Side::Buy, 2990, 9, 0),
        ];
        let taker = Address::repeat_byte(9);
        let taken = match_taker(&book, taker, Side::Buy, U256::from(6), U256::from(3010));
        assert_eq!(
            taken,
            vec![
                (B256::repeat_byte(3), U256::from(2)),
                (B256::repeat_byte(2), U256::from(2)),
                (B256::repeat_byte(1), U256::from(2))
            ]
        );
        assert!(match_taker(&book, taker, Side::Sell, U256::from(1), U256::from(2991)).is_empty());
        // The makers' own orders are not theirs to take.
        assert!(match_taker(&book, Address::ZERO, Side::Buy, U256::from(6), U256::from(3010)).is_empty());
        let sides = levels(&book, Side::Sell);
        assert_eq!(sides[0], Level { price: U256::from(3000), quantity: U256::from(4) });
        assert_eq!(sides.len(), 3);
    }

    #[test]
    fn one_makers_orders_share_what_backs_them() {
        let token =
            |decimals, byte| MarketToken { symbol: String::new(), address: Address::repeat_byte(byte), decimals };
        let market = Market {
            name: "B-Q".into(),
            base: token(0, 1),
            quote: token(0, 2),
            tick: U256::from(1),
            minimum: U256::ZERO,
        };
        let mut book = [
            resting(1, Side::Sell, 11, 5, 0),
            resting(2, Side::Sell, 10, 5, 1),
            resting(3, Side::Buy, 9, 4, 0),
            resting(4, Side::Buy, 8, 4, 0),
        ];
        // Seven base back the asks (the cheaper one first), 40 quote the bids (4 at 9 = 36, then 4 at 8 = 32 > 4 left).
        let backing = [
            ((Address::ZERO, Address::repeat_byte(1)), U256::from(7)),
            ((Address::ZERO, Address::repeat_byte(2)), U256::from(40)),
        ];
        cap_by_backing(&market, &mut book, &backing.into_iter().collect());
        let fillable: Vec<u64> = book.iter().map(|o| o.fillable.to::<u64>()).collect();
        assert_eq!(fillable, vec![2, 5, 4, 0]);
    }

    #[test]
    fn quote_amounts_round_the_way_asked() {
        let token = |decimals| MarketToken { symbol: String::new(), address: Address::ZERO, decimals };
        let market = Market {
            name: "WETH-USDC".into(),
            base: token(18),
            quote: token(6),
            tick: U256::from(10_000),
            minimum: U256::ZERO,
        };
        // 0.1234567 WETH at 3000.01 USDC = 370.371334567 USDC, which 6 decimals cannot hold exactly.
        let base = U256::from(123_456_700_000_000_000u64);
        assert_eq!(market.quote_for(base, U256::from(3_000_010_000u64), false), Some(U256::from(370_371_334u64)));
        assert_eq!(market.quote_for(base, U256::from(3_000_010_000u64), true), Some(U256::from(370_371_335u64)));
        assert_eq!(market.quote_for(U256::MAX, U256::from(2), true), None);
    }
}
