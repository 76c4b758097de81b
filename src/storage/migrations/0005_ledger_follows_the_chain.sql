-- The ledger follows the chain. Each transaction now names the configured network it was sent on (two networks may
-- share a chain id: a local fork of mainnet), the hash of the block it was mined in (so a chain that was reset or
-- reorganised is noticed), the transaction it replaces at the same nonce (speed-up, cancel), and the
-- Idempotency-Key of the request that sent it.
ALTER TABLE transactions ADD COLUMN network TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN block_hash TEXT;
ALTER TABLE transactions ADD COLUMN replaces TEXT;
ALTER TABLE transactions ADD COLUMN request_key TEXT;
-- signed | pending | confirmed | failed | dropped | abandoned | rejected | replaced ('sent' is now 'pending')
UPDATE transactions SET status = 'pending' WHERE status = 'sent';
CREATE INDEX transactions_by_status ON transactions (chain_id, network, status);
CREATE INDEX transactions_by_block ON transactions (chain_id, network, block_number);
CREATE INDEX transactions_by_replaced ON transactions (replaces);
CREATE INDEX transactions_by_request ON transactions (request_key);

-- Requests sent with an Idempotency-Key: the first one's answer, served again to every retry with that key.
CREATE TABLE idempotency_keys (
    -- The client's key, with the method and path it was sent to.
    key TEXT PRIMARY KEY,
    -- A hash of the request (method, path, query, body): a key reused for another request is refused.
    fingerprint TEXT NOT NULL,
    -- The gateway process serving it (a random id per start).
    owner TEXT NOT NULL,
    -- The answer once there is one; NULL while the first request is being served.
    status_code BIGINT,
    body TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
