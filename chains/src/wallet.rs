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

/// The scrypt cost of the keystores written here: N = 2^17, r = 8, p = 1, as geth and ethers write them (the
/// eth-keystore crate's default, 2^13, is 16 times cheaper to attack). It takes 128 MiB and a few hundred
/// milliseconds per key, at add and at each start.
pub const KEYSTORE_LOG_N: u8 = 17;
const KEYSTORE_R: u32 = 8;
const KEYSTORE_P: u32 = 1;

/// Encrypts a key as a V3 keystore JSON document (scrypt, AES-128-CTR, keccak MAC).
pub fn encrypt(signer: &PrivateKeySigner, passphrase: &str) -> Result<String, ChainError> {
    use aes::cipher::{KeyIvInit, StreamCipher};
    use rand::RngCore;
    let failed = |what: &str| ChainError::Keystore(format!("cannot encrypt the key: {what}"));
    let mut rng = rand::thread_rng();
    let (mut salt, mut iv) = ([0u8; 32], [0u8; 16]);
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    let params =
        scrypt::Params::new(KEYSTORE_LOG_N, KEYSTORE_R, KEYSTORE_P, 32).map_err(|_| failed("scrypt parameters"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), &salt, &params, &mut key).map_err(|_| failed("scrypt"))?;
    let mut ciphertext = signer.credential().to_bytes().to_vec();
    ctr::Ctr128BE::<aes::Aes128>::new(key[..16].into(), iv[..].into()).apply_keystream(&mut ciphertext);
    let mac = alloy::primitives::keccak256([&key[16..32], &ciphertext[..]].concat());
    let hex = |bytes: &[u8]| alloy::hex::encode(bytes);
    let keystore = serde_json::json!({
        "version": 3,
        "id": uuid::Uuid::new_v4().to_string(),
        "address": hex(signer.address().as_slice()),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": hex(&iv)},
            "ciphertext": hex(&ciphertext),
            "kdf": "scrypt",
            "kdfparams": {"dklen": 32, "n": 1u32 << KEYSTORE_LOG_N, "r": KEYSTORE_R, "p": KEYSTORE_P, "salt": hex(&salt)},
            "mac": hex(mac.as_slice()),
        },
    });
    Ok(keystore.to_string())
}

/// Whether a keystore was written with a weaker key derivation than [`encrypt`]'s (it is then re-encrypted).
pub fn weaker_than_ours(keystore: &str) -> bool {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(keystore) else { return false };
    let crypto = json.get("crypto").or_else(|| json.get("Crypto"));
    let params = crypto.and_then(|crypto| crypto.get("kdfparams"));
    match crypto.and_then(|crypto| crypto.get("kdf")).and_then(|kdf| kdf.as_str()) {
        Some("scrypt") => {
            params.and_then(|p| p.get("n")).and_then(|n| n.as_u64()).is_none_or(|n| n < 1 << KEYSTORE_LOG_N)
        }
        // PBKDF2 keystores (older tools) are re-encrypted with scrypt.
        Some(_) => true,
        None => false,
    }
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

    pub fn addresses(&self) -> Vec<Address> {
        self.by_address.read().expect("signers lock").keys().copied().collect()
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
    fn keystores_are_written_with_scrypt_at_two_to_the_seventeenth_and_old_ones_are_told_apart() {
        let signer = PrivateKeySigner::random();
        let ours = encrypt(&signer, "p").unwrap();
        let json: serde_json::Value = serde_json::from_str(&ours).unwrap();
        assert_eq!(json["crypto"]["kdfparams"]["n"], 131072);
        assert!(!weaker_than_ours(&ours));
        // What eth-keystore writes by default (2^13): readable, and to be re-encrypted.
        let dir = tempfile::TempDir::new().unwrap();
        PrivateKeySigner::encrypt_keystore(
            dir.path(),
            &mut rand::thread_rng(),
            signer.credential().to_bytes(),
            "p",
            Some("k"),
        )
        .unwrap();
        let old = std::fs::read_to_string(dir.path().join("k")).unwrap();
        assert!(weaker_than_ours(&old));
        assert_eq!(decrypt(&old, "p").unwrap().address(), signer.address());
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
