// Calls to the public endpoints of the userinfo server, and the errors of
// the seed's format in plain words. The access token is passed in by the
// caller and kept in memory only. Paths are relative to the page (at
// BASE/account), so that the page also works behind a proxy's path prefix.

// ApiError is a refusal: the HTTP status, the seed's error code, its
// description, the seconds of Retry-After and the WWW-Authenticate header.
export class ApiError extends Error {
  constructor(status, body, headers) {
    super(body.error_description || body.error || `HTTP ${status}`);
    this.status = status;
    this.code = body.error || "";
    this.description = body.error_description || "";
    this.retryAfter = parseRetryAfter(headers.get("Retry-After"));
    this.challenge = headers.get("WWW-Authenticate") || "";
  }
}

function parseRetryAfter(v) {
  if (!v) return 0;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? 0 : Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

async function request(method, path, token, body, headers = {}) {
  const h = { Accept: "application/json", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  let data = {};
  if (/^application\/([a-z.+-]*\+)?json/.test(resp.headers.get("Content-Type") || "")) {
    data = await resp.json();
  }
  if (!resp.ok) throw new ApiError(resp.status, data, resp.headers);
  return { data, etag: resp.headers.get("ETag") || "" };
}

// getUserinfo reads GET /userinfo: the claims and the ETag of the version.
export function getUserinfo(token) {
  return request("GET", "userinfo", token);
}

// getSchema reads GET /userinfo/schema, the JSON Schema of a PATCH body.
export async function getSchema() {
  return (await request("GET", "userinfo/schema")).data;
}

// patchUserinfo sends the changes with If-Match: the write happens only if
// the profile is still the version that etag names (else 412).
export function patchUserinfo(token, etag, changes) {
  return request("PATCH", "userinfo", token, changes, etag ? { "If-Match": etag } : {});
}

// sendCode asks POST /otp/send for a code to a new address; field is
// "email" or "phone_number". It answers the otp_token.
export async function sendCode(token, field, value) {
  const { data } = await request("POST", "otp/send", token, { usage: "update_userinfo", [field]: value });
  return data.otp_token;
}

// devToken mints a token at the development issuer's POST /dev/token.
export async function devToken(sub, ageSeconds) {
  const body = { sub, scope: "openid profile email phone" };
  if (ageSeconds > 0) body.auth_time = Math.floor(Date.now() / 1000) - ageSeconds;
  return (await request("POST", "dev/token", "", body)).data.access_token;
}

// challengeParam reads one parameter of a WWW-Authenticate header.
export function challengeParam(challenge, name) {
  const m = new RegExp(`${name}="([^"]*)"`).exec(challenge);
  return m ? m[1] : "";
}

function wait(seconds) {
  if (!seconds) return "a moment";
  if (seconds < 120) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

function minutes(seconds) {
  const m = Math.round(Number(seconds) / 60);
  return m >= 1 ? `${m} minute${m === 1 ? "" : "s"}` : `${seconds} seconds`;
}

// explain turns an error into a sentence for a person.
export function explain(err) {
  if (!(err instanceof ApiError)) {
    return "The server could not be reached. Check your connection and try again.";
  }
  switch (err.code) {
    case "duplicate_email":
      return "This email address is already used by another account.";
    case "duplicate_phone_number":
      return "This phone number is already used by another account.";
    case "bad_email_otp":
    case "bad_phone_number_otp":
      return "That code is wrong. Check the message and type the code again.";
    case "bad_email_otp_token":
    case "bad_phone_number_otp_token":
      return "This code can no longer be used: it expired, was already used, was sent to another address, or too many wrong codes were typed. Ask for a new code.";
    case "malformed_email":
      return "This is not a valid email address (for example name@example.com).";
    case "malformed_phone_number":
      return "This is not a valid mobile phone number.";
    case "email_rate_limit_exceeded":
    case "sms_rate_limit_exceeded":
      return `Too many codes were sent. Wait ${wait(err.retryAfter)} before asking for another.`;
    case "illegal_parameter_value":
      return "This value is not allowed here.";
    case "precondition_failed":
      return "Your profile was changed elsewhere (another tab, device or app) since this page loaded it, so nothing was saved. Reload it to see the current values.";
    case "insufficient_user_authentication": {
      const age = challengeParam(err.challenge, "max_age");
      return age
        ? `This change needs a recent sign-in (within the last ${minutes(age)}). Sign in again, then retry.`
        : "This change needs a stronger or more recent sign-in. Sign in again, then retry.";
    }
    case "invalid_token":
      return "Your sign-in is no longer valid (it may have expired). Sign in again.";
    case "insufficient_scope":
      return "This sign-in does not allow access to your profile (the openid scope is missing).";
    case "user_not_found":
      return "There is no profile for this account.";
    case "temporarily_unavailable":
      return `The service is busy. Nothing was changed; try again in ${wait(err.retryAfter)}.`;
    case "server_error":
      return "Something went wrong on the server. Nothing was changed; try again later.";
    case "invalid_request":
      return err.description || "The request was refused.";
    default:
      return err.description || `The request failed (HTTP ${err.status}).`;
  }
}

// errorField names the attribute an error concerns, or "" for the page.
export function errorField(err) {
  if (!(err instanceof ApiError)) return "";
  if (/email/.test(err.code)) return "email";
  if (/phone_number|sms_/.test(err.code)) return "phone_number";
  if (err.code === "illegal_parameter_value" || err.code === "invalid_request") {
    const m = /attribute "([^"]+)"|[Mm]issing parameter: ([a-z_]+)/.exec(err.description);
    if (m) {
      const name = m[1] || m[2];
      if (name.startsWith("email")) return "email";
      if (name.startsWith("phone_number")) return "phone_number";
      return name.split(".")[0];
    }
  }
  return "";
}
