use alloy::primitives::{Address, B256, Bytes, U256};
use chains::ledger::{Ledger, LedgerTx, TxStatus};
use gateway::storage::{Backend, Storage, StorageError, TokenRow, WalletRow};

/// A fresh PostgreSQL database for one test, or None (with the reason printed) when no server is reachable.
/// CI sets GATEWAY_REQUIRE_POSTGRES=1, which turns the skip into a failure.
pub struct PostgresDb {
    admin: sqlx::PgPool,
    pub name: String,
    pub url: String,
}

impl PostgresDb {
    pub async fn create() -> Option<PostgresDb> {
        let base =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let admin = match sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&base).await {
            Ok(pool) => pool,
            Err(e) => {
                if std::env::var("GATEWAY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("PostgreSQL is required (GATEWAY_REQUIRE_POSTGRES=1) but {base} is unreachable: {e}");
                }
                eprintln!("skipped: PostgreSQL at {base} is unreachable ({e}); set TEST_POSTGRES_URL to run this test");
                return None;
            }
        };
        let name = format!("gateway_test_{}", uuid::Uuid::new_v4().simple());
        // The name is ours (a UUID), not input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create test database");
        let url = match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => unreachable!("a postgres URL has a path"),
        };
        Some(PostgresDb { admin, name, url })
    }

    pub async fn drop_db(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
            .execute(&self.admin)
            .await
            .ok();
    }
}

async fn exercise(storage: &Storage) {
    let wallet = WalletRow {
        chain: "ethereum".into(),
        address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
        keystore: Some("{\"crypto\":{}}".into()),
    };
    storage.insert_wallet(&wallet).await.unwrap();
    assert!(matches!(storage.insert_wallet(&wallet).await, Err(StorageError::Duplicate(_))));
    assert_eq!(storage.wallets("ethereum").await.unwrap(), vec![wallet.clone()]);
    assert!(storage.wallets("solana").await.unwrap().is_empty());

    let sender: Address = wallet.address.parse().unwrap();
    let entry = |byte: u8, nonce: u64| LedgerTx {
        hash: B256::repeat_byte(byte),
        chain_id: 31337,
        sender,
        nonce,
        raw: Bytes::from(vec![2, byte]),
        status: TxStatus::Signed,
        label: "wrap".into(),
        block_number: None,
        fee_wei: None,
    };
    assert_eq!(storage.highest_nonce(31337, sender).await.unwrap(), None);
    for (byte, nonce) in [(0xaa, 0), (0xbb, 1), (0xcc, 2)] {
        storage.record(&entry(byte, nonce)).await.unwrap();
    }
    assert!(storage.record(&entry(0xaa, 0)).await.is_err(), "a hash is recorded once");
    // A fee of 10^30 wei does not fit in 64 bits: amounts are kept as decimal strings, exact.
    let big_fee = U256::from(10).pow(U256::from(30));
    storage.set_status(B256::repeat_byte(0xaa), TxStatus::Confirmed, Some(7), Some(big_fee)).await.unwrap();
    storage.set_status(B256::repeat_byte(0xbb), TxStatus::Sent, None, None).await.unwrap();
    storage.set_status(B256::repeat_byte(0xcc), TxStatus::Dropped, None, None).await.unwrap();
    let confirmed = storage.find(B256::repeat_byte(0xaa)).await.unwrap().unwrap();
    assert_eq!(confirmed.status, TxStatus::Confirmed);
    assert_eq!(confirmed.block_number, Some(7));
    assert_eq!(confirmed.fee_wei, Some(big_fee));
    assert_eq!(confirmed.raw, Bytes::from(vec![2, 0xaa]));
    assert_eq!(storage.find(B256::repeat_byte(0xdd)).await.unwrap(), None);
    // A dropped transaction no longer holds its nonce; only signed or sent ones are unsettled.
    assert_eq!(storage.highest_nonce(31337, sender).await.unwrap(), Some(1));
    assert_eq!(storage.highest_nonce(1, sender).await.unwrap(), None);
    let unsettled = storage.unsettled_from(31337, sender, 0).await.unwrap();
    assert_eq!(unsettled.iter().map(|t| t.nonce).collect::<Vec<_>>(), vec![1]);

    let token = TokenRow {
        network: "devnet".into(),
        address: "0x514910771AF9Ca656af840dff83E8264EcF986CA".into(),
        symbol: "LINK".into(),
        name: "ChainLink Token".into(),
        decimals: 18,
    };
    // Every change to the lists held in memory moves the epoch that kept quote answers are checked against.
    assert!(storage.tokens("devnet").await.unwrap().is_empty());
    let epoch = storage.lists_epoch();
    storage.insert_token(&token).await.unwrap();
    assert!(storage.lists_epoch() > epoch);
    assert!(matches!(storage.insert_token(&token).await, Err(StorageError::Duplicate(_))));
    assert_eq!(*storage.tokens("devnet").await.unwrap(), vec![token.clone()]);
    let read = storage.lists_epoch();
    assert_eq!(*storage.tokens("devnet").await.unwrap(), vec![token.clone()]);
    assert_eq!(storage.lists_epoch(), read, "a list served from memory changes nothing");
    assert!(storage.delete_token("devnet", &token.address).await.unwrap());
    assert!(storage.lists_epoch() > read);

    assert!(storage.delete_wallet("ethereum", &wallet.address).await.unwrap());
    assert!(!storage.delete_wallet("ethereum", &wallet.address).await.unwrap());
}

#[tokio::test]
async fn sqlite_storage_round_trips() {
    let dir = tempfile::TempDir::new().unwrap();
    let storage = Storage::connect(&gateway::storage::default_url(dir.path())).await.unwrap();
    assert_eq!(storage.backend(), Backend::Sqlite);
    exercise(&storage).await;
    storage.close().await;
    // Migrations are idempotent: reopening the same file works and keeps the data.
    let reopened = Storage::connect(&gateway::storage::default_url(dir.path())).await.unwrap();
    assert!(reopened.find(B256::repeat_byte(0xaa)).await.unwrap().is_some());
}

#[tokio::test]
async fn postgres_storage_round_trips() {
    let Some(db) = PostgresDb::create().await else {
        return;
    };
    let storage = Storage::connect(&db.url).await.unwrap();
    assert_eq!(storage.backend(), Backend::Postgres);
    exercise(&storage).await;
    storage.close().await;
    let reopened = Storage::connect(&db.url).await.unwrap();
    assert!(reopened.find(B256::repeat_byte(0xaa)).await.unwrap().is_some());
    reopened.close().await;
    db.drop_db().await;
}
