-- PB-7, first table: the client's own user record, plus settings (server URL, session token).
CREATE TABLE own_user (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    number TEXT,
    device_id TEXT NOT NULL,
    imei TEXT,
    iccid TEXT,
    created_at BIGINT NOT NULL,
    im_status TEXT NOT NULL DEFAULT 'offline',
    self_status TEXT,
    activity_status TEXT,
    last_login_at BIGINT,
    status_updated_at BIGINT
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
