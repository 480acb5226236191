package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/ciamkit/userinfo"
	"github.com/ciamkit/userinfo/accesstoken"
	"github.com/ciamkit/userinfo/otp"
	"github.com/ciamkit/userinfo/sqlstore/postgres"
)

// Timeouts of the HTTP server.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	// commitRoom is what the write timeout keeps beyond -request-timeout: a
	// commit under way when the deadline passes is awaited (PostgreSQL:
	// postgres.CommitTimeout), then answered, and the hooks after a write
	// run outside the deadline.
	commitRoom      = postgres.CommitTimeout + 5*time.Second
	idleTimeout     = 2 * time.Minute
	maxHeaderBytes  = 16 << 10
	shutdownTimeout = 10 * time.Second
	// jwksStartWait is how long setup waits for the first fetch of
	// -jwks-url.
	jwksStartWait = 10 * time.Second
)

// app is the configured server: its routes and what must be closed after.
type app struct {
	handler http.Handler
	logger  *slog.Logger
	// dev is the development issuer, or nil when tokens come from a JWK Set.
	dev *devIssuer
	// keysReady, for a key set fetched from -jwks-url, reports whether it
	// has been fetched; nil for keys at hand.
	keysReady func(context.Context) error
	// console is where codes are printed without -otp-outbox: stderr.
	console io.Writer
	// metrics serves /metrics with -metrics-addr; nil without.
	metrics http.Handler
	// meters makes the instruments of the packages: the Prometheus
	// exporter's provider with -metrics-addr, else nil (the global one).
	meters  metric.MeterProvider
	closers []func() error
}

// Close releases the stores, the outbox and the key set refresh.
func (a *app) Close() error {
	var errs []error
	for _, c := range slices.Backward(a.closers) {
		errs = append(errs, c())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// run is the program: it parses args, sets the server up, listens, prints
// "listening on http://HOST:PORT" to stderr, and serves until ctx is done,
// then shuts down gracefully.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	stderr = &lockedWriter{w: stderr}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// The port first: a start that fails on a busy port writes nothing to
	// the store.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	var mln net.Listener
	if o.metricsAddr != "" {
		if mln, err = net.Listen("tcp", o.metricsAddr); err != nil {
			return err
		}
		defer mln.Close()
	}
	if o.publicURL == "" {
		o.publicURL = "http://" + ln.Addr().String()
	}
	a, err := setup(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.dev != nil && !isLoopback(ln.Addr()) {
		a.logger.Warn("the development issuer is reachable from other hosts: anyone who reaches POST /dev/token can act as any user")
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if mln != nil {
		msrv := &http.Server{Handler: a.metrics, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
			WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
			ErrorLog: srv.ErrorLog}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		fmt.Fprintf(stderr, "metrics on http://%s/metrics\n", mln.Addr())
	}
	fmt.Fprintf(stderr, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	a.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := a.Close(); err != nil {
		return err
	}
	a.logger.Info("stopped")
	return nil
}

// setup builds the server that o describes: stores, token verifier (a JWK
// Set or the development issuer), the OTP service and the userinfo handler,
// behind the request log. Logs and console codes go to stderr. ctx owns
// background work (the JWK Set refresh).
func setup(ctx context.Context, o *options, stderr io.Writer) (_ *app, err error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	a := &app{logger: logger, console: stderr}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()

	if o.metricsAddr != "" {
		mp, h, shutdown, err := newMetrics()
		if err != nil {
			return nil, err
		}
		a.meters, a.metrics = mp, h
		a.closers = append(a.closers, shutdown)
	}

	var custom []userinfo.Attribute
	if o.attributes != "" {
		if custom, err = readAttributes(o.attributes); err != nil {
			return nil, err
		}
	}

	// The seed, -claims and the OTP service are checked with the handler's
	// rules, so the registry is built first, from the same attributes.
	registry, err := userinfo.NewRegistry(userinfo.RegistryConfig{Attributes: custom,
		Phone: userinfo.PhonePolicy{Regions: o.phoneRegions}})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := checkClaims(registry, o.claims); err != nil {
		return nil, err
	}

	b, err := openBackend(ctx, o.db, registry, o.requestTimeout)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, b.close)
	if o.seed != "" {
		users, err := readSeed(o.seed, registry)
		if err != nil {
			return nil, err
		}
		created, err := applySeed(ctx, b, users)
		if err != nil {
			return nil, err
		}
		logger.Info("seeded users", "created", created, "existing", len(users)-created)
	}
	tokens, err := a.tokenVerifier(ctx, o, b)
	if err != nil {
		return nil, err
	}
	if a.dev != nil && o.seed == "" {
		// The demo user is a convenience: the server starts without it.
		if created, err := ensureDemoUser(ctx, b, registry); err != nil {
			logger.Error("the demo user was not created", "sub", demoSubject, "error", err.Error())
		} else if created {
			logger.Info("created the demo user", "sub", demoSubject)
		}
	}
	if o.tokenCache > 0 {
		tokens = accesstoken.NewCache(tokens, accesstoken.CacheConfig{Size: o.tokenCache, MeterProvider: a.meters})
	}
	if a.keysReady != nil {
		tokens = readinessVerifier{TokenVerifier: tokens, ready: a.keysReady}
	}

	svc, err := a.otpService(o, b, registry)
	if err != nil {
		return nil, err
	}

	policy := userinfo.AllClaims
	if len(o.claims) > 0 {
		policy = userinfo.StaticClaims(o.claims...)
	}
	// DPoP-bound tokens are accepted wherever the public URL is known
	// (run sets it from the address bound), with the proofs' jti kept in
	// the backend, so that replicas refuse each other's replays.
	var dpop userinfo.ProofVerifier
	if o.publicURL != "" {
		if dpop, err = accesstoken.NewDPoPVerifier(accesstoken.DPoPConfig{Replay: b.replay, Logger: logger}); err != nil {
			return nil, err
		}
	} else if o.requireDPoP {
		return nil, errors.New("-require-dpop needs -public-url")
	}
	h, err := userinfo.New(userinfo.Config{
		Tokens:      tokens,
		Store:       b.users,
		OTP:         svc,
		Registry:    registry,
		Policy:      policy,
		StepUp:      userinfo.StepUp{MaxAge: o.maxAuthAge},
		DPoP:        dpop,
		RequireDPoP: o.requireDPoP,
		PublicURL:   o.publicURL,
		Logger:      logger,
		// The deadline of every store and OTP call of a request.
		RequestTimeout: o.requestTimeout,
		OnUpdate:       onUpdate(logger, svc),
		// Nil without -metrics-addr: the global provider, a no-op.
		MeterProvider: a.meters,
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	// The handlers answer other methods themselves (405 with Allow, in
	// JSON), so these patterns name no method.
	mux.Handle("/userinfo", h)
	mux.Handle("/userinfo/schema", h.SchemaHandler())
	mux.Handle("/otp/send", h.Authenticator().Middleware(svc.SendHandler()))
	mux.Handle("GET /openapi.json", h.OpenAPIHandler(userinfo.OpenAPIOptions{
		Title:   "userinfo example server",
		OTPSend: true,
	}))
	if a.dev != nil {
		mux.Handle("GET /.well-known/jwks.json", a.dev.jwksHandler())
		mux.Handle("POST /dev/token", a.dev.tokenHandler())
	}
	// The page's CSP names the origin of the issuer's token_endpoint, read
	// from its discovery document on the page's first request.
	account := accountHandler(accountConfig{Dev: a.dev != nil, Issuer: o.issuer, ClientID: o.accountClientID},
		&http.Client{Timeout: accountDiscoveryTimeout})
	mux.Handle("GET /account", account)
	mux.Handle("GET /account/", account)
	mux.Handle("GET /{$}", indexHandler(a.dev != nil))
	mux.Handle("/healthz", healthHandler(logger))
	mux.Handle("/readyz", readyHandler(logger, h))

	a.handler = logRequests(logger, corsHandler(o.corsOrigins, mux))
	logger.Info("configured",
		"store", b.name,
		"tokens", tokenSource(o),
		"otp_delivery", otpDelivery(o),
		"otp_ttl", o.otpTTL.String(),
		"custom_attributes", len(custom),
		"claims", claimsDescription(o.claims),
		"token_cache", o.tokenCache,
		"cors_origins", o.corsOrigins,
		"log_level", o.logLevel.String())
	return a, nil
}

// tokenVerifier returns the JWT verifier of o: keys from -jwks-url,
// -jwks-file or the development issuer, with -issuer and -audience.
func (a *app) tokenVerifier(ctx context.Context, o *options, b *backend) (userinfo.TokenVerifier, error) {
	cfg := accesstoken.JWTConfig{Issuer: o.issuer}
	if o.audience != "" {
		cfg.Audience = []string{o.audience}
	}
	var err error
	switch {
	case o.jwksURL != "":
		// Start with keys when the issuer is up; when it is not, start
		// anyway: requests are answered 503 until a fetch succeeds. The
		// context bounds the first fetch only; Close ends the refresh.
		rctx, cancel := context.WithTimeout(ctx, jwksStartWait)
		var rs *accesstoken.RemoteKeySet
		rs, err = accesstoken.NewRemoteKeySet(rctx, accesstoken.RemoteKeySetConfig{URL: o.jwksURL, MeterProvider: a.meters})
		if err == nil {
			a.closers = append(a.closers, rs.Close)
			cfg.Keys = rs
			a.keysReady = rs.Ready
			if rerr := rs.Ready(rctx); rerr != nil {
				a.logger.Warn("the JWK Set is not fetched yet; tokens are answered 503 until it is", "url", rs.URL())
			}
		}
		cancel()
	case o.jwksFile != "":
		cfg.Keys, err = accesstoken.ReadKeySetFile(o.jwksFile)
	default:
		a.dev, err = newDevIssuer(ctx, b, o.issuer, o.audience, time.Now)
		if err == nil {
			cfg.Issuer, cfg.Audience = a.dev.issuer, []string{a.dev.audience}
			cfg.Keys, err = a.dev.keySet()
		}
	}
	if err != nil {
		return nil, err
	}
	return accesstoken.NewJWTVerifier(cfg)
}

// otpService returns the OTP service: codes stored in the backend, hashed
// with the key of -otp-key-file (or the backend's default), delivered to the
// -otp-outbox file or the console.
func (a *app) otpService(o *options, b *backend, registry *userinfo.Registry) (*otp.Service, error) {
	key, err := otpKey(context.Background(), o, b)
	if err != nil {
		return nil, err
	}
	var sender otp.Sender
	if o.otpOutbox != "" {
		outbox, err := otp.OpenOutbox(o.otpOutbox)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, outbox.Close)
		sender = outbox
	} else {
		sender = otp.NewConsoleSender(a.console)
	}
	return otp.New(otp.Config{
		Store:    b.otp,
		Users:    b.users,
		Sender:   sender,
		Registry: registry,
		Key:      key,
		TTL:      o.otpTTL,
		Logger:   a.logger,
		// POST /otp/send gets the same deadline as /userinfo.
		RequestTimeout: o.requestTimeout,
		// Nil without -metrics-addr: the global provider, a no-op.
		MeterProvider: a.meters,
	})
}

// otpKey returns the secret that codes are hashed with.
func otpKey(ctx context.Context, o *options, b *backend) ([]byte, error) {
	path := o.otpKeyFile
	if path == "" {
		path = b.keyFile
	}
	if path != "" {
		key, err := otp.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("OTP key: %w", err)
		}
		return key, nil
	}
	if b.secret != nil {
		// Every replica gets the one key, created by the first. It
		// protects nothing against a reader of the database: production
		// gives -otp-key-file from a secret store.
		key, err := b.secret(ctx, "otp key", func() ([]byte, error) { return otp.GenerateKey(), nil })
		if err != nil {
			return nil, fmt.Errorf("OTP key: %w", err)
		}
		return key, nil
	}
	return otp.GenerateKey(), nil
}

// onUpdate logs each change on the request's line (the names of the attributes, never their
// values) and, when an email address or phone number was replaced, tells the
// previous one.
func onUpdate(logger *slog.Logger, svc *otp.Service) func(context.Context, userinfo.UpdateEvent) {
	channels := []struct{ attr, channel string }{
		{"email", userinfo.ChannelEmail},
		{"phone_number", userinfo.ChannelSMS},
	}
	return func(ctx context.Context, e userinfo.UpdateEvent) {
		// The change goes on the request's log line, so that a PATCH logs
		// one line.
		attrs := []slog.Attr{slog.String("sub", e.Subject), slog.String("client_id", e.ClientID),
			slog.Any("set", slices.Sorted(maps.Keys(e.Set))), slog.Any("removed", e.Removed),
			slog.Uint64("version", e.Version)}
		if !noteRequest(ctx, attrs...) {
			logger.LogAttrs(ctx, slog.LevelInfo, "user updated", attrs...)
		}
		for _, c := range channels {
			newValue, changed := e.Set[c.attr]
			old, had := e.Previous[c.attr].(string)
			if !changed || !had || old == "" || old == newValue {
				continue
			}
			if err := svc.NotifyChanged(ctx, e.Subject, c.channel, old); err != nil {
				logger.ErrorContext(ctx, "notifying the previous address failed", "sub", e.Subject,
					"channel", c.channel, "error", err.Error())
			}
		}
	}
}

// readAttributes reads a -attributes registry file.
func readAttributes(path string) ([]userinfo.Attribute, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	attrs, err := userinfo.ParseAttributes(f)
	if err != nil {
		return nil, fmt.Errorf("-attributes %s: %w", path, err)
	}
	return attrs, nil
}

func tokenSource(o *options) string {
	switch {
	case o.jwksURL != "":
		return "jwks-url " + o.jwksURL
	case o.jwksFile != "":
		return "jwks-file " + o.jwksFile
	}
	return "development issuer (POST /dev/token)"
}

func otpDelivery(o *options) string {
	if o.otpOutbox != "" {
		return "outbox " + o.otpOutbox
	}
	return "console"
}

func claimsDescription(claims []string) any {
	if len(claims) == 0 {
		return "all"
	}
	return claims
}

// isLoopback reports whether addr is a loopback address.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// lockedWriter serialises writes to w, which the log, the console sender
// and the listening line share.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// checkClaims refuses a -claims list that names a claim no user can have.
func checkClaims(reg *userinfo.Registry, claims []string) error {
	known := reg.Names()
	for _, c := range claims {
		if !slices.Contains(known, c) {
			return fmt.Errorf("%w: -claims: %q is neither a standard claim nor a custom attribute", errUsage, c)
		}
	}
	return nil
}
