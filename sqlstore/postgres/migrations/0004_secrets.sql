-- Secrets that every replica must share and that no flag gave, such as a
-- development signing key or, without -otp-key-file, the key that codes are
-- hashed with: created once by whichever replica comes first.
CREATE TABLE userinfo_secrets (
    name       text        PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
