-- PB-7 / PB-17: the client's chat history. One row per message, sent or received.
-- type: text, sms, mms or notice; offline: 1 when it arrived by sync (the recipient was away).
CREATE TABLE chat (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id BIGINT UNIQUE,
    client_msg_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    receiver TEXT NOT NULL,
    content TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    received_at BIGINT,
    type TEXT NOT NULL DEFAULT 'text',
    offline BIGINT NOT NULL DEFAULT 0,
    seq BIGINT,
    delivered_at BIGINT,
    read_at BIGINT,
    UNIQUE (sender, client_msg_id)
);
CREATE INDEX chat_by_sender ON chat(sender, id);
CREATE INDEX chat_by_receiver ON chat(receiver, id);
