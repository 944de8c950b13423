-- PB-14: presence that tells the truth. last_seen_at: when the user's last connection closed
-- (shown with `offline`). activity_expires_at: the monitor's activity status lapses at this time
-- unless the monitor refreshes it (NULL: no activity status).
ALTER TABLE presence ADD COLUMN last_seen_at BIGINT;
ALTER TABLE presence ADD COLUMN activity_expires_at BIGINT;
CREATE INDEX presence_activity_expiry ON presence(activity_expires_at);
