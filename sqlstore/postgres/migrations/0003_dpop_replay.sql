-- DPoP proofs already seen (RFC 9449 §11.1): a key of the proof's key and
-- jti, remembered until its iat leaves the accepted window. Expired rows are
-- replaced on conflict and purged from time to time.
CREATE TABLE userinfo_dpop_replay (
    key   text        PRIMARY KEY,
    until timestamptz NOT NULL
);
CREATE INDEX userinfo_dpop_replay_until ON userinfo_dpop_replay (until);
