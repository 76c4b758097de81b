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
    /// Records `address` ('' for none) as `chain`'s default wallet, for every instance sharing the database.
    pub async fn set_default_wallet(&self, chain: &str, address: &str) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO default_wallets (chain, address, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (chain) DO UPDATE SET address = excluded.address, updated_at = excluded.updated_at",
        )
        .bind(chain)
        .bind(address)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `chain`'s default wallet as last set through any instance ('' for none), if ever set.
    pub async fn default_wallet(&self, chain: &str) -> Result<Option<String>, StorageError> {
        let row = sqlx::query("SELECT address FROM default_wallets WHERE chain = $1")
            .bind(chain)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("address")).transpose()?)
    }

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

    /// The stored wallet at `address`, if any: what a registration that found it taken learns it is.
    pub async fn wallet(&self, chain: &str, address: &str) -> Result<Option<WalletRow>, StorageError> {
        let row = sqlx::query("SELECT chain, address, keystore FROM wallets WHERE chain = $1 AND address = $2")
            .bind(chain)
            .bind(address)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(wallet_from_row).transpose()
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
