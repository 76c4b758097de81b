-- Portable between SQLite and PostgreSQL: TEXT for addresses, hashes and wei amounts (decimal strings),
-- BIGINT for numbers and unix-millisecond timestamps.

CREATE TABLE wallets (
    chain TEXT NOT NULL,
    address TEXT NOT NULL,
    -- Ethereum V3 keystore JSON (scrypt + aes-128-ctr) under the gateway passphrase; NULL for a hardware wallet.
    keystore TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (chain, address)
);

-- The ledger: every transaction the gateway signs is recorded here before it is sent.
CREATE TABLE transactions (
    hash TEXT PRIMARY KEY,
    chain_id BIGINT NOT NULL,
    sender TEXT NOT NULL,
    nonce BIGINT NOT NULL,
    -- signed RLP, hex, so a transaction can be re-broadcast after a crash
    raw TEXT NOT NULL,
    -- signed | sent | confirmed | failed | dropped
    status TEXT NOT NULL,
    label TEXT NOT NULL,
    block_number BIGINT,
    fee_wei TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX transactions_sender_nonce ON transactions (chain_id, sender, nonce);
