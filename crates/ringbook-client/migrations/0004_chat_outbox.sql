-- X-3 on the client: the chat table is also the outbox. An own message with no server_id and
-- no failed_code is waiting to be sent; every command retries it with its client message ID.
-- A message the server refused keeps the refusal (code and reason) and is never retried.
ALTER TABLE chat ADD COLUMN failed_code TEXT;
ALTER TABLE chat ADD COLUMN failed_reason TEXT;
CREATE INDEX chat_outbox ON chat(sender, server_id, failed_code, id);
