//! What many routes take: a network named either way (`network=mainnet` or `chainNetwork=ethereum-mainnet`),
//! a wallet address (defaulting to the configured one), addresses, and human amounts.

use alloy::primitives::Address;
use chains::amount::Amount;
use connectors::Side;
use connectors::clob::OrderType;
use connectors::core::pool_address::PoolAddress;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{CHAIN, Config};
use crate::error::{AppError, AppResult};

/// The network a request names, by any of the spellings clients use; the default network when none.
/// `name` without its leading `ethereum-`, if it has one.
fn without_chain(name: &str) -> Option<&str> {
    name.strip_prefix(CHAIN)?.strip_prefix('-')
}

pub fn network_name(config: &Config, network: Option<&str>, chain_network: Option<&str>) -> AppResult<String> {
    let name = match (chain_network, network) {
        (Some(chain_network), _) if !chain_network.is_empty() => {
            without_chain(chain_network).map(str::to_string).ok_or_else(|| {
                AppError::invalid(
                    "chainNetwork",
                    format!("must be {CHAIN}-<network>, e.g. {CHAIN}-mainnet; got {}", chains::quoted(chain_network)),
                )
            })?
        }
        (_, Some(network)) if !network.is_empty() => without_chain(network).unwrap_or(network).to_string(),
        _ => config.chain.default_network.clone(),
    };
    if config.network(&name).is_none() {
        let field = if chain_network.is_some_and(|c| !c.is_empty()) { "chainNetwork" } else { "network" };
        return Err(AppError::invalid(
            field,
            format!(
                "unknown network {}; configured: {}",
                chains::quoted(&name),
                config.networks.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(name)
}

/// Rejects the `chain` parameter when it names another chain.
pub fn check_chain(chain: Option<&str>) -> AppResult<()> {
    match chain {
        Some(chain) if !chain.is_empty() && chain != CHAIN => {
            Err(AppError::invalid("chain", format!("only '{CHAIN}' is served here; got {}", chains::quoted(chain))))
        }
        _ => Ok(()),
    }
}

/// An address; mixed case must be a valid EIP-55 checksum (a wrong one is usually a typo).
pub fn parse_address(field: &str, text: &str) -> AppResult<Address> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let lower_or_upper = digits.chars().all(|c| !c.is_ascii_alphabetic() || c.is_ascii_lowercase())
        || digits.chars().all(|c| !c.is_ascii_alphabetic() || c.is_ascii_uppercase());
    // Mixed case must be the EIP-55 form; the remembered checksum saves a keccak for the addresses clients repeat.
    let parsed = text.parse::<Address>().ok().filter(|address| lower_or_upper || chains::checksum(*address) == text);
    parsed.ok_or_else(|| {
        AppError::invalid(
            field,
            format!(
                "{} is not an address (0x and 40 hex digits, valid checksum when mixed case)",
                chains::quoted(text)
            ),
        )
    })
}

/// Where a request says to trade, in either route style: the connector (the path's, else the request's), the
/// network by either spelling, and the slippage tolerance it asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    pub connector: Option<&'a str>,
    pub network: Option<&'a str>,
    pub chain_network: Option<&'a str>,
    pub slippage_pct: Option<f64>,
}

impl<'a> Target<'a> {
    /// The path's connector wins over the one the request names.
    pub fn new(
        path_connector: Option<&'a str>,
        connector: &'a Option<String>,
        network: &'a Option<String>,
        chain_network: &'a Option<String>,
        slippage_pct: Option<f64>,
    ) -> Target<'a> {
        Target {
            connector: path_connector.or(connector.as_deref()),
            network: network.as_deref(),
            chain_network: chain_network.as_deref(),
            slippage_pct,
        }
    }
}

/// Which way an order goes, BUY or SELL, in any case.
pub fn parse_side(text: &str) -> AppResult<Side> {
    Side::parse(text).ok_or_else(|| {
        let given = text.trim().to_ascii_uppercase();
        AppError::invalid("side", format!("must be BUY or SELL; got {}", chains::quoted(&given)))
    })
}

/// An order's type, LIMIT when none is given.
pub fn parse_order_type(text: Option<&str>) -> AppResult<OrderType> {
    let text = text.unwrap_or("LIMIT");
    OrderType::parse(text).ok_or_else(|| {
        AppError::invalid(
            "orderType",
            format!("must be LIMIT, LIMIT_MAKER or MARKET; got {}", chains::quoted(&text.trim().to_ascii_uppercase())),
        )
    })
}

/// An address a request may leave out (or empty).
pub fn optional_address(field: &str, text: Option<&str>) -> AppResult<Option<Address>> {
    text.filter(|text| !text.trim().is_empty()).map(|text| parse_address(field, text)).transpose()
}

/// A pool: its contract's address (checked as [`parse_address`] checks it), or a V4 pool's 32-byte id.
pub fn parse_pool_address(field: &str, text: &str) -> AppResult<PoolAddress> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    match digits.len() {
        40 => parse_address(field, text).map(PoolAddress::Contract),
        _ => text
            .parse::<PoolAddress>()
            .map_err(|reason| AppError::invalid(field, format!("{} {reason}", chains::quoted(text)))),
    }
}

pub fn optional_pool_address(field: &str, text: Option<&str>) -> AppResult<Option<PoolAddress>> {
    text.filter(|text| !text.trim().is_empty()).map(|text| parse_pool_address(field, text)).transpose()
}

/// The wallet a request names, or the configured default wallet.
pub fn wallet_address(config: &Config, field: &str, given: Option<&str>) -> AppResult<Address> {
    match given.map(str::trim).filter(|a| !a.is_empty()) {
        Some(address) => parse_address(field, address),
        None => match config.chain.default_wallet.parse::<Address>() {
            Ok(address) => Ok(address),
            Err(_) => Err(AppError::invalid(
                field,
                "is required: no default wallet is set (POST /wallet/setDefault, or add one with setDefault: true)",
            )),
        },
    }
}

/// Where a page of a list starts and how long it is, from a request's `cursor` (where the previous page ended,
/// as the gateway gave it) and `limit` (1 to `max`, `default` when omitted).
pub fn page(limit: Option<usize>, cursor: Option<&str>, default: usize, max: usize) -> AppResult<(usize, usize)> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(AppError::invalid("limit", format!("must be 1 to {max}")));
    }
    let skip = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        Some(cursor) => cursor.parse::<usize>().map_err(|_| {
            AppError::invalid("cursor", format!("{} is not a cursor this gateway gave", chains::quoted(cursor)))
        })?,
        None => 0,
    };
    Ok((skip, limit))
}

/// An optional number a client may send as JSON text too (`"1.5"`), as Gateway's schema validation coerced it: curl
/// scripts written against it quote their numbers. Not finite is refused whichever way it came.
pub fn optional_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    struct Number;
    impl<'de> serde::de::Visitor<'de> for Number {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a finite number, as a JSON number or a string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Option<f64>, E> {
            match text.trim().parse::<f64>() {
                Ok(number) => self.visit_f64(number),
                Err(_) => Err(E::invalid_value(serde::de::Unexpected::Str(text), &self)),
            }
        }

        fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<Option<f64>, E> {
            Ok(Some(number as f64))
        }

        fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<Option<f64>, E> {
            Ok(Some(number as f64))
        }

        fn visit_f64<E: serde::de::Error>(self, number: f64) -> Result<Option<f64>, E> {
            match number.is_finite() {
                true => Ok(Some(number)),
                false => Err(E::invalid_value(serde::de::Unexpected::Float(number), &self)),
            }
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Option<f64>, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<f64>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<f64>, D::Error> {
            deserializer.deserialize_any(self)
        }
    }
    deserializer.deserialize_any(Number)
}

/// A human amount as a client sends it: a JSON string or number. Kept as text so nothing is lost to floats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountText(pub String);

impl<'de> Deserialize<'de> for AmountText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = AmountText;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal number, as a JSON number or a string")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<AmountText, E> {
                Ok(AmountText(text.to_string()))
            }

            fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<AmountText, E> {
                Ok(AmountText(number.to_string()))
            }

            fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<AmountText, E> {
                Ok(AmountText(number.to_string()))
            }

            /// The shortest text that reads back as the same float: what the client computed, digit for digit.
            fn visit_f64<E: serde::de::Error>(self, number: f64) -> Result<AmountText, E> {
                Ok(AmountText(number.to_string()))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

impl AmountText {
    /// The raw amount for a token with `decimals`, digits past those dropped (clients send floats such as
    /// base × price; what a wallet pays, provides or grants never grows); the error names the field and says why.
    pub fn parse(&self, field: &str, decimals: u8) -> AppResult<Amount> {
        Amount::parse_down(&self.0, decimals).map_err(|e| AppError::invalid(field, e))
    }

    /// A price or any value that must be taken as written: more decimals than `decimals` is refused.
    pub fn parse_exact(&self, field: &str, decimals: u8) -> AppResult<Amount> {
        Amount::parse(&self.0, decimals).map_err(|e| AppError::invalid(field, e))
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

/// An exact decimal number in a JSON response: a decimal string with every digit (as Gateway v2.17 writes
/// amounts, `type: string, format: decimal`), never through f64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Human(pub String);

impl Human {
    pub fn of(amount: Amount) -> Self {
        Human(amount.to_decimal_string())
    }

    /// A setting given as a number (a slippage percentage), written with the digits that read back as it.
    pub fn setting(value: f64) -> Self {
        Human(value.to_string())
    }
}

impl Serialize for Human {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::config::{Config, install_templates};

    #[test]
    fn an_optional_number_is_taken_as_a_json_number_or_text_and_only_finite() {
        #[derive(serde::Deserialize, Debug)]
        struct Body {
            #[serde(default, deserialize_with = "super::optional_number")]
            price: Option<f64>,
        }
        let read = |json: &str| serde_json::from_str::<Body>(json).map(|body| body.price).map_err(|e| e.to_string());
        assert_eq!(read(r#"{"price": 1.5}"#), Ok(Some(1.5)));
        assert_eq!(read(r#"{"price": "1.5"}"#), Ok(Some(1.5)));
        assert_eq!(read(r#"{"price": " 3000 "}"#), Ok(Some(3000.0)));
        assert_eq!(read(r#"{"price": 2}"#), Ok(Some(2.0)));
        assert_eq!(read(r#"{"price": -2}"#), Ok(Some(-2.0)));
        assert_eq!(read(r#"{"price": null}"#), Ok(None));
        assert_eq!(read("{}"), Ok(None));
        for refused in [r#""abc""#, r#""NaN""#, r#""inf""#, r#""1e400""#, "true", "[1]"] {
            let error = read(&format!(r#"{{"price": {refused}}}"#)).unwrap_err();
            assert!(error.contains("a finite number"), "{refused}: {error}");
        }
    }

    fn config() -> &'static Config {
        static CONFIG: std::sync::OnceLock<(tempfile::TempDir, Config)> = std::sync::OnceLock::new();
        &CONFIG
            .get_or_init(|| {
                let dir = tempfile::TempDir::new().unwrap();
                install_templates(dir.path()).unwrap();
                let config = Config::load(dir.path()).unwrap();
                (dir, config)
            })
            .1
    }

    proptest! {
        /// Every parser of client input gives a value or an error for any text, never a panic; and what an error
        /// quotes of it is short.
        #[test]
        fn parsers_of_client_input_are_total(text in any::<String>()) {
            let _ = super::parse_address("address", &text);
            let _ = super::wallet_address(config(), "address", Some(&text));
            let _ = super::network_name(config(), Some(&text), None);
            let _ = super::network_name(config(), None, Some(&text));
            let _ = super::check_chain(Some(&text));
            let _ = chains::amount::Amount::parse(&text, 18);
            let _ = chains::amount::Amount::parse_down(&text, 6);
            let _ = super::parse_side(&text);
            let _ = super::parse_order_type(Some(&text));
            let _ = config().namespace(&text);
            prop_assert!(chains::quoted(&text).chars().count() <= 52);
        }

        /// Addresses with a character cut anywhere, or any Unicode after 0x.
        #[test]
        fn addresses_with_any_unicode_are_refused_not_a_panic(tail in "\\PC{0,50}") {
            let text = format!("0{tail}");
            prop_assert!(super::parse_address("address", &text).is_err() || text.len() == 42);
        }
    }
}
