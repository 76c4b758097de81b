use sqlx::Row;

use super::{Storage, StorageError, duplicate_as, now_ms};

/// A token added through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub network: String,
    pub address: String,
    pub symbol: String,
    pub name: String,
    pub decimals: u8,
}

impl Storage {
    pub async fn insert_token(&self, token: &TokenRow) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO tokens (network, address, symbol, name, decimals, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.network)
        .bind(&token.address)
        .bind(&token.symbol)
        .bind(&token.name)
        .bind(token.decimals as i32)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(duplicate_as(format!("token {} on {}", token.address, token.network)))?;
        self.lists.forget(&self.lists.tokens, &token.network);
        Ok(())
    }

    pub async fn tokens(&self, network: &str) -> Result<std::sync::Arc<Vec<TokenRow>>, StorageError> {
        if let Some(tokens) = super::cached(&self.lists.tokens, network) {
            return Ok(tokens);
        }
        // Boxed: a database read's future is kilobytes, and every request awaiting this one would carry it.
        Box::pin(self.read_tokens(network)).await
    }

    async fn read_tokens(&self, network: &str) -> Result<std::sync::Arc<Vec<TokenRow>>, StorageError> {
        let since = self.lists.epoch();
        let rows = sqlx::query(
            "SELECT network, address, symbol, name, decimals FROM tokens WHERE network = $1 ORDER BY symbol",
        )
        .bind(network)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TokenRow {
                    network: row.try_get("network")?,
                    address: row.try_get("address")?,
                    symbol: row.try_get("symbol")?,
                    name: row.try_get("name")?,
                    decimals: row.try_get::<i32, _>("decimals")? as u8,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()
            .map(|tokens| self.lists.keep(&self.lists.tokens, network.to_string(), tokens, since))
    }

    pub async fn delete_token(&self, network: &str, address: &str) -> Result<bool, StorageError> {
        let result = sqlx::query("DELETE FROM tokens WHERE network = $1 AND address = $2")
            .bind(network)
            .bind(address)
            .execute(&self.pool)
            .await?;
        self.lists.forget(&self.lists.tokens, &network.to_string());
        Ok(result.rows_affected() > 0)
    }
}
