-- Users: attributes as JSON text; the unique attributes' index keys are kept
-- beside them by the store (the email address with its ASCII letters lower-cased,
-- as attrjson.FoldEmail does, the phone number as it is), so that the unique
-- indexes decide every race at write time.
CREATE TABLE userinfo_users (
    subject      TEXT    NOT NULL PRIMARY KEY,
    version      INTEGER NOT NULL CHECK (version > 0),
    updated_at   TEXT    NOT NULL, -- RFC 3339, UTC, nanoseconds
    attributes   TEXT    NOT NULL CHECK (json_valid(attributes)),
    email_key    TEXT,
    phone_number TEXT
) STRICT;
CREATE UNIQUE INDEX userinfo_users_email_key ON userinfo_users (email_key);
CREATE UNIQUE INDEX userinfo_users_phone_number_key ON userinfo_users (phone_number);

-- One-time codes: only a keyed hash of the code is stored. Times are Unix
-- nanoseconds.
CREATE TABLE userinfo_otp_records (
    id         TEXT    NOT NULL PRIMARY KEY,
    subject    TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    code_hash  BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX userinfo_otp_records_expires_at ON userinfo_otp_records (expires_at);

-- Counted sends of the OTP throttle: a send stops counting at ends_at (Unix
-- nanoseconds).
CREATE TABLE userinfo_otp_sends (
    key     TEXT    NOT NULL,
    ends_at INTEGER NOT NULL
) STRICT;
CREATE INDEX userinfo_otp_sends_key ON userinfo_otp_sends (key, ends_at);
CREATE INDEX userinfo_otp_sends_ends_at ON userinfo_otp_sends (ends_at);
