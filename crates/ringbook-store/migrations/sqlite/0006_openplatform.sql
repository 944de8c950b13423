-- Open platform (WV-1 … WV-6, X-1): registered websites, visitors' consents per site and field,
-- the fields visitors chose to disclose, seen request nonces, and the disclosure log.
CREATE TABLE op_sites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    origins TEXT NOT NULL,
    allowed_addrs TEXT NOT NULL,
    secret_enc TEXT,
    public_key TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE op_consents (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL REFERENCES op_sites(id) ON DELETE CASCADE,
    choice TEXT NOT NULL,
    fields TEXT NOT NULL,
    raw_id BIGINT NOT NULL DEFAULT 0,
    pseudonym TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, site_id)
);
CREATE UNIQUE INDEX op_consents_pseudonym ON op_consents(site_id, pseudonym);

CREATE TABLE op_profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    name TEXT,
    age BIGINT,
    company TEXT,
    title TEXT,
    email TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE op_nonces (
    site_id BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (site_id, nonce)
);
CREATE INDEX op_nonces_seen ON op_nonces(site_id, seen_at);

CREATE TABLE op_disclosures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL,
    site_name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    fields TEXT NOT NULL,
    caller_addr TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX op_disclosures_user ON op_disclosures(user_id, at);

CREATE TABLE op_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
