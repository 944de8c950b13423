-- PB-16/17: numbers a user has blocked; messages from them are refused.
CREATE TABLE blocked_numbers (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_phone TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, blocked_phone)
);

-- Chat history by peer, newest first (both directions of a conversation).
CREATE INDEX messages_by_sender_peer ON messages(sender_id, recipient_phone, id);
CREATE INDEX messages_by_recipient_peer ON messages(recipient_id, sender_phone, id);
