-- PB-8 … PB-10: the phone-book entry each contact was read from, byte for byte, so that an
-- export writes the user's own card (fixed lines, addresses, photos, vendor properties) and
-- not only the fields Ringbook reads. source_format: 'vcard' (the card) or 'csv' (header line
-- + row); source_pos: the entry's place in its book, for the export order.
ALTER TABLE contacts ADD COLUMN source BLOB;
ALTER TABLE contacts ADD COLUMN source_format TEXT;
ALTER TABLE contacts ADD COLUMN source_pos BIGINT;
-- How a contact reached this device when it did not come from the phone book or this
-- device: 'mms' for a vCard sent in an MMS (MM-1), with the time it arrived.
ALTER TABLE contacts ADD COLUMN received_via TEXT;
ALTER TABLE contacts ADD COLUMN received_at BIGINT;
