// The account page: sign in, read GET /userinfo, edit it through a form
// generated from GET /userinfo/schema, PATCH with If-Match, and change the
// email address or phone number with a code from POST /otp/send.
//
// The access token lives in the variable below, in memory only: never in
// localStorage, sessionStorage or a cookie. Reloading the page signs out.

import * as api from "./api.js";
import { finishSignIn, startSignIn } from "./auth.js";
import { ProfileForm, el, label, renderReadOnly } from "./form.js";

let token = "";
let etag = "";
let claims = {};
let form = null;
let config = { dev: false };

const $ = (id) => document.getElementById(id);

function status(msg) {
  $("status").textContent = msg;
}

function banner(msg, action) {
  $("banner-text").textContent = msg;
  const b = $("banner-action");
  b.hidden = !action;
  if (action) {
    b.textContent = action.label;
    b.onclick = () => {
      hideBanner();
      action.run();
    };
  }
  $("banner").hidden = false;
  (action ? b : $("banner")).focus?.();
}

function hideBanner() {
  $("banner").hidden = true;
}

// refusal shows err where it belongs: next to its field when it names one
// (inside box, or in the generated form), else in the banner, with the way
// out (reload on 412, sign in again on 401).
function refusal(err) {
  const msg = api.explain(err);
  if (err instanceof api.ApiError) {
    if (err.status === 412) {
      banner(msg, { label: "Reload profile", run: () => loadProfile("Reloaded: these are the current values.") });
      return;
    }
    if (err.status === 401) {
      banner(msg, { label: "Sign in again", run: signOut });
      return;
    }
    const field = api.errorField(err);
    if (field && showFieldError(field, msg)) return;
  }
  banner(msg);
}

function showFieldError(field, msg) {
  if (field === "email" || field === "phone_number") {
    const e = $(`e-${field}`);
    e.textContent = msg;
    $(`new-${field}`).setAttribute("aria-invalid", "true");
    return true;
  }
  return form ? form.showError(field, msg) : false;
}

function clearErrors() {
  hideBanner();
  form?.clearErrors();
  for (const f of ["email", "phone_number"]) {
    const e = $(`e-${f}`);
    if (e) e.textContent = "";
    $(`new-${f}`)?.removeAttribute("aria-invalid");
  }
}

async function loadProfile(message) {
  clearErrors();
  status("Loading your profile…");
  try {
    const [{ data, etag: tag }, schema] = await Promise.all([api.getUserinfo(token), api.getSchema()]);
    claims = data;
    etag = tag;
    if (!form) {
      form = new ProfileForm($("fields"), schema);
      renderAddressBox("email", "email", "Email address", "email");
      renderAddressBox("phone_number", "tel", "Phone number", "sms");
    }
    form.setValues(claims);
    updateAddressBoxes();
    renderReadOnly($("read-only"), claims, form);
    $("who").textContent = `Signed in as ${claims.sub}`;
    $("who").hidden = false;
    $("sign-out").hidden = false;
    $("sign-in").hidden = true;
    $("profile").hidden = false;
    status(message || "");
  } catch (err) {
    status("");
    refusal(err);
  }
}

async function save(ev) {
  ev.preventDefault();
  clearErrors();
  const body = form.changes();
  if (!body) {
    status("Some fields need another value; see the messages next to them.");
    return;
  }
  if (Object.keys(body).length === 0) {
    status("Nothing to save: no field was changed.");
    return;
  }
  await patch(body, `Saved: ${Object.keys(body).map(label).join(", ")}.`);
}

// patch sends body with If-Match and shows the new profile, or the refusal.
async function patch(body, done) {
  status("Saving…");
  $("save").disabled = true;
  try {
    const res = await api.patchUserinfo(token, etag, body);
    claims = res.data;
    etag = res.etag;
    form.setValues(claims);
    updateAddressBoxes();
    renderReadOnly($("read-only"), claims, form);
    status(done);
    return true;
  } catch (err) {
    status("Not saved.");
    refusal(err);
    return false;
  } finally {
    $("save").disabled = false;
  }
}

// The boxes for a new email address or phone number: type it, ask for a
// code, type the code, confirm.
const otpTokens = {};

function renderAddressBox(field, type, title, channel) {
  const box = $(field === "email" ? "email-box" : "phone-box");
  const what = field === "email" ? "email" : "text message";
  box.replaceChildren(
    el("p", {}, "Current: ", el("strong", { id: `current-${field}` }), " ", el("span", { id: `verified-${field}`, class: "badge" })),
    el("form", { id: `send-${field}`, novalidate: true },
      el("label", { for: `new-${field}`, text: `New ${title.toLowerCase()}` }),
      el("input", { id: `new-${field}`, type, autocomplete: field === "email" ? "email" : "tel",
        "aria-describedby": `e-${field}`, required: true }),
      el("button", { type: "submit", id: `send-${field}-button`, text: "Send code" })),
    el("form", { id: `confirm-${field}`, novalidate: true, hidden: true },
      el("label", { for: `code-${field}`, text: `Code from the ${what}` }),
      el("input", { id: `code-${field}`, inputmode: "numeric", autocomplete: "one-time-code", required: true,
        "aria-describedby": `e-${field}` }),
      el("button", { type: "submit", id: `confirm-${field}-button`, text: `Confirm new ${title.toLowerCase()}` })),
    el("p", { id: `e-${field}`, class: "error" }));
  $(`send-${field}`).addEventListener("submit", (ev) => sendCode(ev, field, channel));
  $(`confirm-${field}`).addEventListener("submit", (ev) => confirmCode(ev, field, title));
}

function updateAddressBoxes() {
  for (const field of ["email", "phone_number"]) {
    $(`current-${field}`).textContent = claims[field] || "none";
    const v = claims[`${field}_verified`];
    $(`verified-${field}`).textContent = claims[field] ? (v ? "verified" : "not verified") : "";
  }
}

async function sendCode(ev, field, channel) {
  ev.preventDefault();
  clearErrors();
  const value = $(`new-${field}`).value.trim();
  if (!value) {
    showFieldError(field, `Type the new ${field === "email" ? "email address" : "phone number"} first.`);
    return;
  }
  const button = $(`send-${field}-button`);
  button.disabled = true;
  status("Sending a code…");
  const signedIn = token;
  try {
    const otpToken = await api.sendCode(signedIn, field, value);
    // Signed out (or in as another user) meanwhile: the code is not theirs.
    if (token !== signedIn) return;
    otpTokens[field] = { value, otpToken };
    $(`confirm-${field}`).hidden = false;
    $(`code-${field}`).value = "";
    $(`code-${field}`).focus();
    status(`A code was sent to ${value} by ${channel === "sms" ? "text message" : "email"}. Type it below.`);
    button.disabled = false;
  } catch (err) {
    status("No code was sent.");
    refusal(err);
    if (err instanceof api.ApiError && err.status === 429 && err.retryAfter > 0) {
      // Ask again only once the server allows it.
      setTimeout(() => { button.disabled = false; }, err.retryAfter * 1000);
    } else {
      button.disabled = false;
    }
  }
}

async function confirmCode(ev, field, title) {
  ev.preventDefault();
  clearErrors();
  const pending = otpTokens[field];
  const code = $(`code-${field}`).value.trim();
  if (!pending) return;
  if (!code) {
    showFieldError(field, "Type the code you received.");
    return;
  }
  const ok = await patch({ [field]: pending.value, [`${field}_otp_token`]: pending.otpToken, [`${field}_otp`]: code },
    `Saved: your ${title.toLowerCase()} is now ${pending.value}.`);
  if (ok) {
    delete otpTokens[field];
    $(`confirm-${field}`).hidden = true;
    $(`new-${field}`).value = "";
  } else {
    $(`code-${field}`).select();
  }
}

function signOut() {
  token = "";
  etag = "";
  claims = {};
  // Nothing of this user stays for the next: not the codes asked for
  // (their otp tokens, the open confirm boxes, the typed address and
  // code), nor the form and what was typed in it. The next sign-in builds
  // them again.
  for (const field of Object.keys(otpTokens)) delete otpTokens[field];
  clearErrors();
  form = null;
  for (const id of ["fields", "email-box", "phone-box", "read-only"]) $(id).replaceChildren();
  $("profile").hidden = true;
  $("who").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  status("Signed out.");
  (config.dev ? $("dev-sub") : $("oidc-button")).focus?.();
}

async function devSignIn(ev) {
  ev.preventDefault();
  clearErrors();
  try {
    token = await api.devToken($("dev-sub").value.trim(), Number($("dev-age").value));
  } catch (err) {
    refusal(err);
    return;
  }
  await loadProfile("");
  if (!$("profile").hidden) $("profile-title").focus();
}

async function main() {
  $("profile-form").addEventListener("submit", save);
  $("sign-out").addEventListener("click", signOut);
  $("dev-sign-in").addEventListener("submit", devSignIn);
  try {
    const resp = await fetch("account/config.json", { cache: "no-store" });
    config = await resp.json();
  } catch {
    banner("The page's configuration could not be read.");
    return;
  }
  $("sign-in").hidden = false;
  if (config.dev) {
    $("dev-sign-in").hidden = false;
    return;
  }
  if (!config.client_id) {
    $("no-sign-in").hidden = false;
    return;
  }
  $("issuer-name").textContent = config.issuer;
  $("oidc-sign-in").hidden = false;
  $("oidc-button").addEventListener("click", async () => {
    try {
      await startSignIn(config.issuer, config.client_id);
    } catch (err) {
      banner(err.message);
    }
  });
  try {
    const t = await finishSignIn(config.issuer, config.client_id);
    if (t) {
      token = t;
      await loadProfile("");
      if (!$("profile").hidden) $("profile-title").focus();
    }
  } catch (err) {
    banner(err.message);
  }
}

main();
