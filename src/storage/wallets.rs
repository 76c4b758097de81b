use sqlx::Row;

use super::{Storage, StorageError, duplicate_as, now_ms};

/// A stored wallet. The keystore is encrypted; decrypting it is the chain layer's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletRow {
    pub chain: String,
    pub address: String,
    pub keystore: Option<String>,
}

impl Storage {
    pub async fn insert_wallet(&self, wallet: &WalletRow) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO wallets (chain, address, keystore, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&wallet.chain)
            .bind(&wallet.address)
            .bind(&wallet.keystore)
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(duplicate_as(format!("wallet {}", wallet.address)))?;
        Ok(())
    }

    pub async fn wallets(&self, chain: &str) -> Result<Vec<WalletRow>, StorageError> {
        let rows =
            sqlx::query("SELECT chain, address, keystore FROM wallets WHERE chain = $1 ORDER BY created_at, address")
                .bind(chain)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(wallet_from_row).collect()
    }

    /// Replaces a wallet's keystore (the same key, encrypted anew).
    pub async fn update_wallet_keystore(&self, chain: &str, address: &str, keystore: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE wallets SET keystore = $1 WHERE chain = $2 AND address = $3")
            .bind(keystore)
            .bind(chain)
            .bind(address)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes a wallet; false when there was none.
    pub async fn delete_wallet(&self, chain: &str, address: &str) -> Result<bool, StorageError> {
        let result = sqlx::query("DELETE FROM wallets WHERE chain = $1 AND address = $2")
            .bind(chain)
            .bind(address)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}

fn wallet_from_row(row: &sqlx::any::AnyRow) -> Result<WalletRow, StorageError> {
    Ok(WalletRow { chain: row.try_get("chain")?, address: row.try_get("address")?, keystore: row.try_get("keystore")? })
}
