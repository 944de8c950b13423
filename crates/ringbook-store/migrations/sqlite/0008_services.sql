-- SS-2: mutual matches ("each one's number is in the other's book"), both directions stored so
-- "my friends" is one index range. Maintained by Store::upsert_contacts / delete_contacts in the
-- same transaction as the book change; rebuilt in batch by Store::rematch_range.
CREATE TABLE mutual_friends (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    friend_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    since BIGINT NOT NULL,
    PRIMARY KEY (user_id, friend_id)
);

-- SS-3: the services each user shares with matched friends.
CREATE TABLE service_shares (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    service_id TEXT NOT NULL,
    shared_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, service_id)
);

-- SS-5: one-click orders. state: pending (at the platform or awaiting the SMS reply), ordered,
-- refused. At most one open (pending) order per orderer and service; a client key makes a
-- retried request return the same order.
CREATE TABLE service_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    orderer_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    friend_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    service_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    message TEXT NOT NULL DEFAULT '',
    code_hash TEXT,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    UNIQUE (orderer_id, idempotency_key)
);
CREATE UNIQUE INDEX service_orders_one_open ON service_orders(orderer_id, service_id) WHERE state = 'pending';
CREATE INDEX service_orders_by_orderer ON service_orders(orderer_id, created_at);

-- Progress of the batch rematch (one row, id = 1), readable from any node.
CREATE TABLE service_rematch (
    id BIGINT PRIMARY KEY,
    running BIGINT NOT NULL,
    total_users BIGINT NOT NULL,
    done_users BIGINT NOT NULL,
    added BIGINT NOT NULL,
    removed BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    error TEXT
);

-- SS-6: the reference in-process service platform's own tables (an external platform keeps
-- these itself, behind the HTTP adapter). kind: carrier (the carrier's own service), sp (a
-- contracted service provider's: needs SMS confirmation), other (not orderable through Ringbook).
CREATE TABLE platform_services (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    period TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE platform_subscriptions (
    phone TEXT NOT NULL,
    service_id TEXT NOT NULL REFERENCES platform_services(id),
    since BIGINT NOT NULL,
    channel TEXT NOT NULL,
    reference TEXT,
    PRIMARY KEY (phone, service_id)
);

INSERT INTO platform_services (id, name, description, provider, kind, price_cents, currency, period, active) VALUES
    ('color-ring', 'Colour ring-back tone', 'Callers hear your chosen song instead of the ring tone.', 'carrier', 'carrier', 500, 'CNY', 'month', 1),
    ('short-group', 'Short-number group', 'Call your group with short numbers at the group rate.', 'carrier', 'carrier', 1000, 'CNY', 'month', 1),
    ('mobile-mail', 'Mobile mailbox', 'E-mail pushed to the phone, with SMS alerts.', 'carrier', 'carrier', 300, 'CNY', 'month', 1),
    ('news-daily', 'Daily news digest', 'Morning and evening news by MMS.', 'Sunrise Media (SP)', 'sp', 300, 'CNY', 'month', 1),
    ('music-club', 'Music club', 'Unlimited song downloads from the SP catalogue.', 'Melody Co. (SP)', 'sp', 800, 'CNY', 'month', 1),
    ('legacy-fax', 'Fax to mailbox', 'A discontinued service kept for existing subscribers.', 'FaxNet', 'other', 200, 'CNY', 'month', 1);
