-- OA-1 … OA-5: official accounts, followers (FakeID platform-wide, openID per account),
-- follower → account messages (the console's message page), account → follower messages,
-- developer-mode pushes waiting for (re)delivery, what followers let accounts see, console sessions.
CREATE TABLE oa_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    callback_url TEXT,
    callback_token TEXT,
    developer_mode BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- OA-2: one platform-wide FakeID per user (random, never the phone number).
CREATE TABLE oa_fake_ids (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    fake_id TEXT NOT NULL UNIQUE
);

-- OA-2: a stable openID per (account, user), kept across unfollow/follow.
CREATE TABLE oa_followers (
    account_id BIGINT NOT NULL REFERENCES oa_accounts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    open_id TEXT NOT NULL UNIQUE,
    following BIGINT NOT NULL DEFAULT 1,
    followed_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);

-- Follower → account messages and events; `create_time` in Unix seconds as pushed.
CREATE TABLE oa_inbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES oa_accounts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    msg_type TEXT NOT NULL,
    event TEXT,
    content TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX oa_inbound_by_time ON oa_inbound(account_id, create_time);

-- Account → follower messages (console sends, mass sends, passive replies).
CREATE TABLE oa_outbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES oa_accounts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX oa_outbound_by_user ON oa_outbound(user_id, id);

-- OA-3: developer-mode pushes; pending rows survive a restart and are retried.
CREATE TABLE oa_pushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES oa_accounts(id) ON DELETE CASCADE,
    inbound_id BIGINT NOT NULL REFERENCES oa_inbound(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    xml TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX oa_pushes_due ON oa_pushes(state, next_at);

-- X-1: the fields a follower lets official accounts see (JSON array of names).
CREATE TABLE oa_privacy (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    fields TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Console sessions (cookie token hashed) with their CSRF token.
CREATE TABLE oa_console_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES oa_accounts(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Failed console/API logins per key (account name, address) per window: durable rate limit.
CREATE TABLE oa_login_failures (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL
);
