-- What the last update replaced: the previous values of the attributes it
-- set or removed, and the previous updated_at. The UPDATE writes them from
-- the row it updates, which under READ COMMITTED is the latest committed
-- version, and returns them, so that one statement gives the user as the
-- update found it and as it left it, without locking the row first.
ALTER TABLE userinfo_users ADD COLUMN previous jsonb, ADD COLUMN previous_at timestamptz;
