use alloy::primitives::{Address, B256, Bytes, U256};
use chains::tx::{Event, Inclusion, Ledger, LedgerTx, SenderSession, TxKind, TxStatus};
use gateway::storage::{Backend, Claim, Storage, StorageError, Taken, TokenRow, WalletRow};

use crate::common::postgres::PostgresDb;

async fn exercise(storage: &Storage) {
    let wallet = WalletRow {
        chain: "ethereum".into(),
        address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into(),
        keystore: Some("{\"crypto\":{}}".into()),
    };
    storage.insert_wallet(&wallet).await.unwrap();
    assert!(matches!(storage.insert_wallet(&wallet).await, Err(StorageError::Duplicate(_))));

    // A quote is taken once, even before its batch is written; released, it is taken again; settled, it names
    // the transaction.
    let expires = gateway::storage::now_ms() + 60_000;
    storage.insert_quote("q-1", "{}", expires).await;
    let take = |request: Option<&'static str>| storage.take_quote("q-1", "{}", expires, request);
    assert_eq!(take(Some("key-1")).await.unwrap(), Taken::Now);
    assert_eq!(take(None).await.unwrap(), Taken::Before(None));
    assert_eq!(take(Some("key-2")).await.unwrap(), Taken::Before(None), "another request's");
    // The same request, run again after its gateway stopped having sent nothing, takes it again.
    assert_eq!(take(Some("key-1")).await.unwrap(), Taken::Now);
    storage.settle_quote("q-1", None).await.unwrap();
    assert_eq!(take(None).await.unwrap(), Taken::Now);
    storage.settle_quote("q-1", Some("0xabc")).await.unwrap();
    assert_eq!(take(None).await.unwrap(), Taken::Before(Some("0xabc".into())));
    assert_eq!(take(Some("key-1")).await.unwrap(), Taken::Before(Some("0xabc".into())), "once it sent, never");
    assert_eq!(storage.wallets("ethereum").await.unwrap(), vec![wallet.clone()]);
    assert!(storage.wallets("solana").await.unwrap().is_empty());

    let sender: Address = wallet.address.parse().unwrap();
    let entry = |byte: u8, nonce: u64| LedgerTx {
        hash: B256::repeat_byte(byte),
        chain_id: 31337,
        network: "devnet".into(),
        sender,
        nonce,
        raw: Bytes::from(vec![2, byte]),
        status: TxStatus::Signed,
        kind: TxKind::Call,
        label: "wrap".into(),
        inclusion: None,
        replaces: None,
        request_key: Some("POST /chains/ethereum/wrap key-1".into()),
        recorded_at: 0,
    };
    let hash = B256::repeat_byte;
    let mut session = storage.lock_sender(31337, sender).await.unwrap();
    for (byte, nonce) in [(0xaa, 0), (0xbb, 1), (0xcc, 2)] {
        session.record(&entry(byte, nonce)).await.unwrap();
    }
    assert!(session.apply(hash(0xbb), Event::Accepted).await.unwrap());
    assert!(
        !session.apply(hash(0xbb), Event::NeverSent).await.unwrap(),
        "a status moves only from the ones the lifecycle names"
    );
    // The same signed bytes recorded again (a retry after the node refused them) are the same row, signed again.
    assert!(session.apply(hash(0xcc), Event::Refused).await.unwrap());
    session.record(&entry(0xcc, 2)).await.unwrap();
    let unsettled = session.unsettled("devnet", 31337, sender, 1).await.unwrap();
    let seen: Vec<(u64, TxStatus)> = unsettled.iter().map(|t| (t.nonce, t.status)).collect();
    assert_eq!(seen, vec![(0, TxStatus::Signed), (1, TxStatus::Pending), (2, TxStatus::Signed)]);
    assert_eq!(
        session.unsettled("devnet", 31337, sender, 2).await.unwrap().len(),
        2,
        "pending below the count: the node has it"
    );
    assert!(session.unsettled("mainnet", 31337, sender, 0).await.unwrap().is_empty(), "per network");
    assert_eq!(session.at_nonce("devnet", 31337, sender, 1).await.unwrap()[0].hash, hash(0xbb));
    session.release().await;

    // A fee of 10^30 wei does not fit in 64 bits: amounts are kept as decimal strings, exact.
    let inclusion = Inclusion { block_number: 7, block_hash: hash(0x07), fee_wei: U256::from(10).pow(U256::from(30)) };
    storage.apply(hash(0xaa), Event::Mined { succeeded: true, inclusion }).await.unwrap();
    let confirmed = storage.find(hash(0xaa)).await.unwrap().unwrap();
    assert_eq!(confirmed.status, TxStatus::Confirmed);
    assert_eq!(confirmed.inclusion, Some(inclusion));
    assert_eq!(confirmed.raw, Bytes::from(vec![2, 0xaa]));
    assert_eq!(confirmed.network, "devnet");
    assert_eq!(storage.find(hash(0xdd)).await.unwrap(), None);
    assert_eq!(storage.mined_blocks("devnet", 31337, None, 10).await.unwrap(), vec![(7, hash(0x07))]);
    assert!(storage.mined_blocks("devnet", 31337, Some(7), 10).await.unwrap().is_empty());
    assert_eq!(storage.mined_since("devnet", 31337, Some(7)).await.unwrap().len(), 1);
    assert!(storage.mined_since("devnet", 31337, Some(8)).await.unwrap().is_empty());
    assert_eq!(
        storage.pending("devnet", 31337, 10).await.unwrap().iter().map(|t| t.hash).collect::<Vec<_>>(),
        vec![hash(0xbb)]
    );
    assert_eq!(storage.unsent_senders("devnet", 31337).await.unwrap(), vec![sender]);
    assert_eq!(storage.same_nonce(hash(0xbb)).await.unwrap().len(), 1);
    assert_eq!(storage.transactions_of_request("POST /chains/ethereum/wrap key-1").await.unwrap().len(), 3);

    let mut session = storage.lock_sender(31337, sender).await.unwrap();
    session
        .record(&LedgerTx { hash: hash(0xdd), nonce: 1, replaces: Some(hash(0xbb)), ..entry(0xdd, 1) })
        .await
        .unwrap();
    session.release().await;
    assert_eq!(storage.replacements(hash(0xbb)).await.unwrap()[0].hash, hash(0xdd));
    let family: Vec<B256> = storage.same_nonce(hash(0xdd)).await.unwrap().iter().map(|t| t.hash).collect();
    assert_eq!(family, vec![hash(0xbb), hash(0xdd)], "a transaction and its replacement share the nonce");
    // A chain reset: what was mined is not any more.
    storage.apply(hash(0xaa), Event::Reorged { in_pool: false }).await.unwrap();
    let dropped = storage.find(hash(0xaa)).await.unwrap().unwrap();
    assert_eq!((dropped.status, dropped.inclusion), (TxStatus::Dropped, None));

    // Idempotency keys: claimed once, then held with the answer.
    let key = "POST /chains/ethereum/wrap k";
    assert_eq!(storage.claim_idempotency_key(key, "f1").await.unwrap(), Claim::Claimed);
    assert!(matches!(storage.claim_idempotency_key(key, "f1").await.unwrap(), Claim::Held { answer: None, .. }));
    storage.answer_idempotency_key(key, 400, "{}").await.unwrap();
    assert!(matches!(
        storage.claim_idempotency_key(key, "f2").await.unwrap(),
        Claim::Held { fingerprint, owner, answer: Some((400, _)), .. }
            if fingerprint == "f1" && owner == gateway::storage::this_process()
    ));
    storage.release_idempotency_key(key).await.unwrap();
    assert_eq!(storage.claim_idempotency_key(key, "f2").await.unwrap(), Claim::Claimed);

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
