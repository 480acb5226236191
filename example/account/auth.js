// Sign-in with a real OpenID Provider: the authorization code flow with PKCE
// (RFC 7636, S256), as a public client, against the issuer's discovery
// document. The access token is returned to the caller, which keeps it in
// memory only. What must survive the redirect to the issuer and back (the
// state and the PKCE verifier, never a token) is kept in sessionStorage for
// that trip and removed as soon as the page is back.

const pendingKey = "account.pending-sign-in";
const scope = "openid profile email phone";

function base64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function discover(issuer) {
  const url = issuer.replace(/\/$/, "") + "/.well-known/openid-configuration";
  const resp = await fetch(url, { credentials: "omit", cache: "no-store" });
  if (!resp.ok) throw new Error(`The issuer's discovery document could not be read (HTTP ${resp.status}).`);
  const doc = await resp.json();
  // The document must be the issuer's own (OpenID Connect Discovery §4.3).
  if (doc.issuer !== issuer) throw new Error("The issuer's discovery document names another issuer.");
  if (!doc.authorization_endpoint || !doc.token_endpoint) {
    throw new Error("The issuer's discovery document has no authorization or token endpoint.");
  }
  const methods = doc.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes("S256")) {
    throw new Error("The issuer does not support PKCE with S256.");
  }
  return doc;
}

function redirectURI() {
  return `${location.origin}${location.pathname}`;
}

// startSignIn sends the browser to the issuer's authorization endpoint.
export async function startSignIn(issuer, clientID) {
  const doc = await discover(issuer);
  const verifier = randomString();
  const state = randomString();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(pendingKey, JSON.stringify({ state, verifier }));
  const u = new URL(doc.authorization_endpoint);
  u.search = new URLSearchParams({
    response_type: "code",
    client_id: clientID,
    redirect_uri: redirectURI(),
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(u.toString());
}

// finishSignIn completes a sign-in when the page is the redirect back from
// the issuer: it answers the access token, or "" when the URL holds no
// answer of the issuer. The code is taken off the URL at once.
export async function finishSignIn(issuer, clientID) {
  const params = new URLSearchParams(location.search);
  if (!params.has("state") || !(params.has("code") || params.has("error"))) return "";
  history.replaceState(null, "", redirectURI());
  const pending = JSON.parse(sessionStorage.getItem(pendingKey) || "null");
  sessionStorage.removeItem(pendingKey);
  if (!pending || pending.state !== params.get("state")) {
    throw new Error("This sign-in answer was not started by this page; sign in again.");
  }
  if (params.has("iss") && params.get("iss") !== issuer) {
    throw new Error("The sign-in answer comes from another issuer; sign in again.");
  }
  if (params.has("error")) {
    throw new Error(`The issuer refused the sign-in: ${params.get("error_description") || params.get("error")}.`);
  }
  const doc = await discover(issuer);
  const resp = await fetch(doc.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectURI(),
      client_id: clientID,
      code_verifier: pending.verifier,
    }).toString(),
    credentials: "omit",
    cache: "no-store",
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || !data.access_token) {
    throw new Error(`The issuer did not give a token: ${data.error_description || data.error || `HTTP ${resp.status}`}.`);
  }
  return data.access_token;
}
