-- Identity (PB-4): users, device sessions, number proofs, live connections (PB-6).
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    imei TEXT,
    iccid TEXT,
    imsi TEXT,
    created_at BIGINT NOT NULL,
    blocked BIGINT NOT NULL DEFAULT 0,
    last_login_at BIGINT,
    login_count BIGINT NOT NULL DEFAULT 0,
    rescue_hash TEXT,
    secure_mode BIGINT NOT NULL DEFAULT 0,
    rescue_failures BIGINT NOT NULL DEFAULT 0,
    rescue_locked_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    label TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE verification_codes (
    phone TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT NOT NULL
);

CREATE TABLE mo_tokens (
    token TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    phone TEXT
);

CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    node TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    connected_at BIGINT NOT NULL
);
CREATE INDEX connections_user ON connections(user_id);
CREATE INDEX connections_node ON connections(node);
