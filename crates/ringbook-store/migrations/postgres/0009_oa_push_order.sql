-- OA-3: pushes to one account about one follower are delivered in order: a push waits while an
-- earlier one for the same (account, follower) is still pending (in flight or backing off).
-- This index answers "is there an earlier pending push for this pair?".
CREATE INDEX oa_pushes_follower_queue ON oa_pushes(account_id, user_id, state, id);
