-- What a request's route needs, besides its transactions' receipts, to build its answer (JSON): kept before its
-- first send, so a retry after the gateway stopped mid-request gets the route's own answer.
ALTER TABLE idempotency_keys ADD COLUMN recipe TEXT;
-- The Idempotency-Key of the request that took a quote: the same request, run again after its first run sent
-- nothing, may take it again.
ALTER TABLE quotes ADD COLUMN taken_for TEXT;
-- The wallet a request naming none signs with, per chain, as last made default (or unset, '') through any
-- instance: instances sharing the database follow it.
CREATE TABLE default_wallets (
    chain TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
