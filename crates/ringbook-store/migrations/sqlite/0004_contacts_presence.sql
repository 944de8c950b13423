-- PB-11 incremental sync: every change to a book gets the owner's next version number; deleted
-- contacts stay as tombstones (deleted = 1) so other devices learn of the deletion.
ALTER TABLE contacts ADD COLUMN deleted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX contacts_by_owner_version ON contacts(owner_id, version);

-- The per-owner version counter (the sync cursor handed to clients).
CREATE TABLE contact_books (
    owner_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    version BIGINT NOT NULL DEFAULT 0
);

-- PB-12: one status row per user.
-- im_status: what others see (online, busy, away, offline); chosen_status: what the user picked,
-- restored at the next connection. visibility: who sees it (everyone, contacts, nobody).
CREATE TABLE presence (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    im_status TEXT NOT NULL DEFAULT 'offline',
    chosen_status TEXT NOT NULL DEFAULT 'online',
    self_status TEXT,
    activity_status TEXT,
    signature TEXT,
    nickname TEXT,
    personal_site TEXT,
    visibility TEXT NOT NULL DEFAULT 'contacts',
    updated_at BIGINT NOT NULL
);
