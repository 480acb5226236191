-- Users: attributes as JSONB; the unique attributes' index keys are kept
-- beside them by the store (the email address with its ASCII letters lower-cased,
-- as attrjson.FoldEmail does, the phone number as it is), so that the unique
-- constraints decide every race at write time.
CREATE TABLE userinfo_users (
    subject      text        PRIMARY KEY,
    version      bigint      NOT NULL CHECK (version > 0),
    updated_at   timestamptz NOT NULL,
    attributes   jsonb       NOT NULL CHECK (jsonb_typeof(attributes) = 'object'),
    email_key    text,
    phone_number text,
    CONSTRAINT userinfo_users_email_key UNIQUE (email_key),
    CONSTRAINT userinfo_users_phone_number_key UNIQUE (phone_number)
);

-- One-time codes: only a keyed hash of the code is stored.
CREATE TABLE userinfo_otp_records (
    id         text        PRIMARY KEY,
    subject    text        NOT NULL,
    channel    text        NOT NULL,
    target     text        NOT NULL,
    purpose    text        NOT NULL,
    code_hash  bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0
);
CREATE INDEX userinfo_otp_records_expires_at ON userinfo_otp_records (expires_at);

-- Counted sends of the OTP throttle: a send stops counting at ends_at.
CREATE TABLE userinfo_otp_sends (
    key     text        NOT NULL,
    ends_at timestamptz NOT NULL
);
CREATE INDEX userinfo_otp_sends_key ON userinfo_otp_sends (key, ends_at);
CREATE INDEX userinfo_otp_sends_ends_at ON userinfo_otp_sends (ends_at);
