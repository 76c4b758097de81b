//! Wallets: private keys kept as Ethereum V3 keystores (scrypt + AES-128-CTR) under the gateway's passphrase,
//! decrypted into memory at start and never written anywhere in the clear.

use std::collections::HashMap;
use std::sync::RwLock;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;

use crate::error::ChainError;

/// Parses a hex private key (with or without 0x). The error never repeats the input.
pub fn parse_private_key(text: &str) -> Result<PrivateKeySigner, ChainError> {
    text.trim()
        .trim_start_matches("0x")
        .parse::<PrivateKeySigner>()
        .map_err(|_| ChainError::Keystore("privateKey: must be 32 bytes of hex (64 hex digits, 0x optional)".into()))
}

/// Encrypts a key as a V3 keystore JSON document.
pub fn encrypt(signer: &PrivateKeySigner, passphrase: &str) -> Result<String, ChainError> {
    // The keystore library writes to a file; it holds only ciphertext and lives in a private temp dir.
    let dir = tempfile::TempDir::new().map_err(|e| ChainError::Keystore(format!("temp dir: {e}")))?;
    PrivateKeySigner::encrypt_keystore(
        dir.path(),
        &mut rand::thread_rng(),
        signer.credential().to_bytes(),
        passphrase,
        Some("keystore"),
    )
    .map_err(|e| ChainError::Keystore(format!("cannot encrypt the key: {e}")))?;
    std::fs::read_to_string(dir.path().join("keystore")).map_err(|e| ChainError::Keystore(format!("keystore: {e}")))
}

/// Decrypts a V3 keystore (ours, or one written by ethers as Hummingbot Gateway did).
pub fn decrypt(keystore: &str, passphrase: &str) -> Result<PrivateKeySigner, ChainError> {
    let mut json: serde_json::Value =
        serde_json::from_str(keystore).map_err(|e| ChainError::Keystore(format!("not a keystore: {e}")))?;
    // ethers writes "Crypto"; the format's reference spelling is "crypto".
    if let Some(object) = json.as_object_mut()
        && !object.contains_key("crypto")
        && let Some(crypto) = object.remove("Crypto")
    {
        object.insert("crypto".into(), crypto);
    }
    let dir = tempfile::TempDir::new().map_err(|e| ChainError::Keystore(format!("temp dir: {e}")))?;
    let path = dir.path().join("keystore");
    std::fs::write(&path, json.to_string()).map_err(|e| ChainError::Keystore(format!("keystore: {e}")))?;
    PrivateKeySigner::decrypt_keystore(&path, passphrase).map_err(|e| match e.to_string().contains("Mac Mismatch") {
        true => ChainError::Keystore("wrong passphrase: it does not decrypt the stored wallets".into()),
        false => ChainError::Keystore(format!("cannot decrypt the keystore: {e}")),
    })
}

/// The decrypted signers, by address.
#[derive(Default)]
pub struct Signers {
    by_address: RwLock<HashMap<Address, PrivateKeySigner>>,
}

impl Signers {
    pub fn insert(&self, signer: PrivateKeySigner) {
        self.by_address.write().expect("signers lock").insert(signer.address(), signer);
    }

    pub fn remove(&self, address: Address) -> bool {
        self.by_address.write().expect("signers lock").remove(&address).is_some()
    }

    pub fn get(&self, address: Address) -> Result<PrivateKeySigner, ChainError> {
        self.by_address.read().expect("signers lock").get(&address).cloned().ok_or(ChainError::UnknownWallet(address))
    }

    pub fn contains(&self, address: Address) -> bool {
        self.by_address.read().expect("signers lock").contains_key(&address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let signer = PrivateKeySigner::random();
        let keystore = encrypt(&signer, "right").unwrap();
        assert!(!keystore.contains(&alloy::hex::encode(signer.credential().to_bytes())));
        assert_eq!(decrypt(&keystore, "right").unwrap().address(), signer.address());
        let error = decrypt(&keystore, "wrong").unwrap_err().to_string();
        assert!(error.contains("wrong passphrase"), "{error}");
    }

    #[test]
    fn reads_ethers_spelling() {
        let signer = PrivateKeySigner::random();
        let keystore = encrypt(&signer, "p").unwrap().replace("\"crypto\"", "\"Crypto\"");
        assert_eq!(decrypt(&keystore, "p").unwrap().address(), signer.address());
    }

    #[test]
    fn bad_key_errors_do_not_echo_it() {
        let error = parse_private_key("0xdeadbeefsecret").unwrap_err().to_string();
        assert!(!error.contains("deadbeef"), "{error}");
    }
}
