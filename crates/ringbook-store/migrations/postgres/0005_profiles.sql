-- Part MM: profiles, avatars, number bindings (MM-4) and binding codes.
-- fields / visibility: JSON objects keyed by field name (see ringbook_proto::profiles).
-- own_binding: 1 = MMS from the account's own number update this profile (the default, MM-4).
CREATE TABLE profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    fields TEXT NOT NULL DEFAULT '{}',
    visibility TEXT NOT NULL DEFAULT '{}',
    own_binding BIGINT NOT NULL DEFAULT 1,
    version BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- The standard avatar (MM-5) and its thumbnail, kept in the database so every server node of a
-- cluster serves the same picture and a backup holds everything.
CREATE TABLE profile_avatars (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    avatar_id TEXT NOT NULL,
    jpeg BYTEA NOT NULL,
    thumb BYTEA NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    thumb_width BIGINT NOT NULL,
    thumb_height BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Extra numbers bound to an account (MM-4), confirmed by an SMS code to that number.
CREATE TABLE profile_bindings (
    phone TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX profile_bindings_by_user ON profile_bindings(user_id);

CREATE TABLE profile_binding_codes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, phone)
);
