-- Limit orders placed through an order-book connector: the book is the open ones. Amounts are raw integers
-- as text (base units; price in quote units per whole base), the venue's order as the venue encodes it.
CREATE TABLE clob_orders (
    id TEXT PRIMARY KEY,
    connector TEXT NOT NULL,
    network TEXT NOT NULL,
    market TEXT NOT NULL,
    maker TEXT NOT NULL,
    side TEXT NOT NULL,
    order_type TEXT NOT NULL,
    price TEXT NOT NULL,
    amount TEXT NOT NULL,
    filled TEXT NOT NULL,
    fillable TEXT NOT NULL,
    status TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    venue_order TEXT NOT NULL,
    signature TEXT NOT NULL,
    expiry BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The block the state (status, filled, fillable) was read at: an older read never overwrites a newer one.
    state_block BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX clob_orders_by_market ON clob_orders (connector, network, market, status);
CREATE UNIQUE INDEX clob_orders_by_client_id ON clob_orders (connector, network, client_order_id);

-- Fills the venue reported, read from its logs.
CREATE TABLE clob_fills (
    tx_hash TEXT NOT NULL,
    log_index BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    connector TEXT NOT NULL,
    network TEXT NOT NULL,
    market TEXT NOT NULL,
    taker TEXT NOT NULL,
    base TEXT NOT NULL,
    quote TEXT NOT NULL,
    block BIGINT NOT NULL,
    filled_at BIGINT NOT NULL,
    PRIMARY KEY (tx_hash, log_index)
);
CREATE INDEX clob_fills_by_market ON clob_fills (connector, network, market, filled_at);
CREATE INDEX clob_fills_by_order ON clob_fills (order_id);

-- The last block whose fills were read, per connector and network.
CREATE TABLE clob_scans (
    connector TEXT NOT NULL,
    network TEXT NOT NULL,
    last_block BIGINT NOT NULL,
    PRIMARY KEY (connector, network)
);
