//! Where a pool is: V2 and V3 pools are contracts of their own; V4 pools live inside the singleton PoolManager
//! and are known by the 32-byte id of their key. The API takes either where a pool address goes.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, B256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolAddress {
    /// The pool's own contract (V2 pairs, V3 pools).
    Contract(Address),
    /// The pool's id in its PoolManager (V4).
    Id(B256),
}

impl PoolAddress {
    /// The pool's own contract, if it has one.
    pub fn contract(self) -> Option<Address> {
        match self {
            PoolAddress::Contract(address) => Some(address),
            PoolAddress::Id(_) => None,
        }
    }

    /// The pool's V4 id, if it is known by one.
    pub fn id(self) -> Option<B256> {
        match self {
            PoolAddress::Id(id) => Some(id),
            PoolAddress::Contract(_) => None,
        }
    }
}

impl From<Address> for PoolAddress {
    fn from(address: Address) -> Self {
        PoolAddress::Contract(address)
    }
}

impl From<B256> for PoolAddress {
    fn from(id: B256) -> Self {
        PoolAddress::Id(id)
    }
}

/// A contract as its checksummed address (remembered: quotes name the same pools over and over), an id as 0x
/// and 64 hex digits.
impl fmt::Display for PoolAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolAddress::Contract(address) => f.write_str(&chains::checksum(*address)),
            PoolAddress::Id(id) => write!(f, "{id}"),
        }
    }
}

/// Why text is not a pool address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolAddressError {
    #[error("is not an address: {0}")]
    NotAnAddress(alloy::hex::FromHexError),
    #[error("is not a pool id: {0}")]
    NotAnId(alloy::hex::FromHexError),
    #[error("must be a pool's address (0x and 40 hex digits) or a V4 pool id (0x and 64)")]
    Length,
}

impl FromStr for PoolAddress {
    type Err = PoolAddressError;

    /// 0x and 40 hex digits is a contract, 0x and 64 a V4 pool id.
    fn from_str(text: &str) -> Result<Self, PoolAddressError> {
        let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
        match digits.len() {
            40 => digits.parse().map(PoolAddress::Contract).map_err(PoolAddressError::NotAnAddress),
            64 => digits.parse().map(PoolAddress::Id).map_err(PoolAddressError::NotAnId),
            _ => Err(PoolAddressError::Length),
        }
    }
}

impl serde::Serialize for PoolAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PoolAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|reason| serde::de::Error::custom(format!("{text:?} {reason}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_and_an_id_read_and_print_back() {
        let contract: PoolAddress = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640".parse().unwrap();
        assert_eq!(contract.to_string(), "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640");
        let id = "0x21c67e77068de97969ba93d4aab21826d33ca12bb9f565d8496e8fda8a82ca27";
        let pool: PoolAddress = id.parse().unwrap();
        assert_eq!((pool.to_string(), pool.contract()), (id.to_string(), None));
        let round_trip: PoolAddress = serde_json::from_str(&serde_json::to_string(&pool).unwrap()).unwrap();
        assert_eq!(round_trip, pool);
        let upper: PoolAddress = "0X21C67E77068DE97969BA93D4AAB21826D33CA12BB9F565D8496E8FDA8A82CA27".parse().unwrap();
        assert_eq!(upper, pool);
        for bad in ["0x1234", "0xzz21c67e77068de97969ba93d4aab21826d33ca12bb9f565d8496e8fda8a82ca", ""] {
            assert!(bad.parse::<PoolAddress>().is_err(), "{bad}");
        }
    }
}
