// Package sqlstore is the home of the SQL stores of users and one-time codes:
// a [github.com/ciamkit/userinfo.UserStore] and a
// [github.com/ciamkit/userinfo/otp.Store] in each of
//
//   - [github.com/ciamkit/userinfo/sqlstore/postgres], on PostgreSQL through
//     pgx: the store for replicas, which all share one database;
//   - [github.com/ciamkit/userinfo/sqlstore/sqlite], on an embedded SQLite
//     file through the pure-Go modernc.org/sqlite (no cgo): one server, or
//     several processes on one machine.
//
// Both create their tables on open (migrations embedded in the binary,
// SQL and Go steps, applied once under a lock, safe when several processes
// open the database at once; migration 2 normalises stored addresses, see
// OpenOptions), keep attributes as JSON, enforce the uniqueness of email
// addresses (ignoring ASCII case) and phone numbers (E.164) with unique
// indexes, apply each update
// atomically with its version check, spend the one-time codes of their own
// otp.Store in the transaction of the write that they pay for
// (userinfo.RedeemingStore), and pass the conformance kits
// userinfotest.TestUserStore, userinfotest.TestOTPStore and
// userinfotest.TestExactlyOnce.
//
// Typical use:
//
//	db, err := postgres.Open(ctx, "postgres://user:pass@db.internal/idp?pool_max_conns=20")
//	if err != nil { … }
//	defer db.Close()
//	cfg.Store = db          // userinfo.Config
//	otpCfg.Store = db.OTP() // otp.Config: codes spent with the writes of db
//
// The packages are separate so that a program links only the driver it
// uses.
package sqlstore
