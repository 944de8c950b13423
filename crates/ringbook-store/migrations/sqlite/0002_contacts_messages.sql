-- PB-11: the server's contact table, one row per (owner, contact number).
-- flag: 1 = the other side has not accepted the add notice (or is not a user), 2 = mutually added.
CREATE TABLE contacts (
    owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_phone TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    group_name TEXT,
    flag BIGINT NOT NULL DEFAULT 1,
    fields TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, contact_phone)
);
CREATE INDEX contacts_by_phone ON contacts(contact_phone);

-- PB-16/17, X-3: messages, numbered per recipient so a device syncs "everything after seq N".
CREATE TABLE user_seq (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    sender_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sender_phone TEXT NOT NULL,
    recipient_phone TEXT NOT NULL,
    client_msg_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    stored_at BIGINT NOT NULL,
    delivered_at BIGINT,
    read_at BIGINT,
    UNIQUE (recipient_id, seq),
    UNIQUE (sender_id, client_msg_id)
);
