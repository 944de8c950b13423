-- PB-7: the IM contact table. `data` is the contact as JSON (ringbook_phonebook::PhonebookContact).
-- synced_phonebook / synced_server: 1 once the current version reached the phone book / server.
-- deleted: a tombstone kept until the server has the deletion.
CREATE TABLE contacts (
    number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    synced_phonebook BIGINT NOT NULL DEFAULT 0,
    synced_server BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    -- What the server told us (PB-11): a Ringbook user? mutually added (flag 2)?
    is_user BIGINT NOT NULL DEFAULT 0,
    flag BIGINT NOT NULL DEFAULT 1,
    -- Last known presence (PB-13), for `contacts list` and the X- properties of an export.
    im_status TEXT,
    self_status TEXT,
    nickname TEXT,
    signature TEXT
);

-- PB-9: the contact list as it was at the last phone-book sync (both sides equal then): the base
-- of the three-way diff.
CREATE TABLE phonebook_sync_base (
    number TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

-- PB-7/PB-15: process / message -> status mapping. kind: 1 process name, 2 system message,
-- 3 key message. A keyword matches case-insensitively as a substring.
CREATE TABLE status_keywords (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    keyword TEXT NOT NULL,
    status TEXT NOT NULL,
    kind BIGINT NOT NULL CHECK (kind IN (1, 2, 3)),
    added_at BIGINT NOT NULL,
    UNIQUE (keyword, kind)
);

INSERT INTO status_keywords (keyword, status, kind, added_at) VALUES
    ('zoom', 'In a meeting', 1, 0),
    ('teams', 'In a meeting', 1, 0),
    ('skype', 'On a call', 1, 0),
    ('webex', 'In a meeting', 1, 0),
    ('vlc', 'Watching a video', 1, 0),
    ('mpv', 'Watching a video', 1, 0),
    ('totem', 'Watching a video', 1, 0),
    ('spotify', 'Listening to music', 1, 0),
    ('rhythmbox', 'Listening to music', 1, 0),
    ('steam', 'Playing a game', 1, 0),
    ('libreoffice', 'Working', 1, 0),
    ('code', 'Coding', 1, 0),
    ('screensaver-on', 'Away', 2, 0),
    ('lock', 'Away', 2, 0),
    ('suspend', 'Away', 2, 0),
    ('unlock', 'Available', 2, 0),
    ('screensaver-off', 'Available', 2, 0),
    ('resume', 'Available', 2, 0),
    ('call-start', 'On a call', 2, 0),
    ('call-end', 'Available', 2, 0),
    ('idle', 'Away', 3, 0),
    ('key', 'Available', 3, 0),
    ('mouse', 'Available', 3, 0);
