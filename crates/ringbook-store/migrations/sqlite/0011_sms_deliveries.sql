-- One row per SMS handed to the gateway, keyed by a random reference that rides in Kannel's
-- dlr-url, so delivery reports can record how far each SMS got: sent (the gateway accepted it),
-- accepted (the SMSC took it), buffered (the SMSC queued it), delivered, failed (final states).
-- `subject` names what the SMS was about (e.g. `order:42`) so a failure can reach its owner.
CREATE TABLE sms_deliveries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT,
    parts BIGINT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- "The latest code SMS to this number" (login explains an undelivered code).
CREATE INDEX sms_deliveries_recipient ON sms_deliveries(recipient, kind, created_at);
-- Pruning old rows.
CREATE INDEX sms_deliveries_created ON sms_deliveries(created_at);
