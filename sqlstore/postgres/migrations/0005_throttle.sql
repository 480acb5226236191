-- Send counts as one row per key holding the ends of the sends that still
-- count, so that Throttle is one statement: INSERT … ON CONFLICT DO UPDATE
-- locks the key's row and reads its latest version, where counting rows of
-- userinfo_otp_sends needed a transaction with an advisory lock and three
-- statements. The counts in flight move over.
CREATE TABLE userinfo_otp_throttle (
    key  text          PRIMARY KEY,
    ends timestamptz[] NOT NULL
);
INSERT INTO userinfo_otp_throttle (key, ends)
SELECT key, array_agg(ends_at ORDER BY ends_at) FROM userinfo_otp_sends GROUP BY key;
DROP TABLE userinfo_otp_sends;
