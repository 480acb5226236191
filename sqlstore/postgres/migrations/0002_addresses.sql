-- Migration 2: addresses are normalised (issue 11). The phone-number column
-- is an index key like email_key (the number in E.164, which
-- attrjson.PhoneKey returns), so it is renamed to say so; the email key keeps
-- its form (ASCII letters lower-cased) but is recomputed from the normalised
-- address. The Go step of migration 2 (store.go, normalizeAddresses) then
-- rewrites stored phone numbers to E.164 and email domains to their A-label
-- form, with their keys, in the same transaction.
ALTER TABLE userinfo_users RENAME COLUMN phone_number TO phone_key;
ALTER TABLE userinfo_users RENAME CONSTRAINT userinfo_users_phone_number_key TO userinfo_users_phone_key;
