// Package userinfotest checks implementations of the store interfaces of
// package userinfo against their contracts, as testing/fstest checks an
// fs.FS and golang.org/x/net/nettest checks a net.Conn.
//
// [TestUserStore] checks a [userinfo.UserStore] (and the optional
// [userinfo.RedeemingStore]), [TestOTPStore] an [otp.Store] and
// [TestReplayStore] a [userinfo.ReplayStore]. Each runs named subtests ("GetUser", "UniqueEmailRace", …)
// on fresh stores made by a factory, so that one check can be run alone with
// go test -run 'TestMyStore/UniqueEmailRace'. Every misbehaviour is reported
// with t.Errorf, naming the call, what it returned and what the contract
// wants.
//
// The checks have no false positives: a store that keeps its contract
// passes. They may have false negatives: races are provoked, not proven
// absent, so a store that passes can still be wrong. Run them under the race
// detector (go test -race), which finds the unsynchronised accesses that the
// checks themselves cannot see.
//
// A store that blocks for more than a minute in one subtest has the
// subtest's context canceled and the subtest fails; one that ignores the
// cancellation too makes the test binary panic with every goroutine's stack
// rather than hang.
//
// [NewIssuer] is a test token issuer, as go-oidc's oidctest: keys, a JWK Set
// and discovery document served on loopback, and real signed tokens with any
// claims, so that a server's wiring can be tested end to end.
package userinfotest
