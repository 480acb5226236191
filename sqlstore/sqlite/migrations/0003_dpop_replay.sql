-- DPoP proofs already seen (RFC 9449 §11.1): a key of the proof's key and
-- jti, remembered until its iat leaves the accepted window (Unix
-- nanoseconds). Expired rows are replaced on conflict and purged from time
-- to time.
CREATE TABLE userinfo_dpop_replay (
    key   TEXT    PRIMARY KEY,
    until INTEGER NOT NULL
) STRICT;
CREATE INDEX userinfo_dpop_replay_until ON userinfo_dpop_replay (until);
