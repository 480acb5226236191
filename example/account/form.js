// The edit form, generated from the JSON Schema of GET /userinfo/schema:
// one field per property, its control chosen by type and enum, its checks
// (pattern, lengths, bounds) taken from the schema. Email and phone number,
// which need a code, and the OTP fields have their own boxes; attributes that
// the user has but the schema does not list are read-only.

// Attributes with their own flow, and the fields of that flow.
export const addressFields = ["email", "phone_number"];
const otpField = /_otp(_token)?$/;

// The library's note on an attribute whose change needs a recent sign-in.
const stepUpNote = /\(step-up\)/;

const labels = {
  name: "Full name",
  given_name: "Given name",
  family_name: "Family name",
  middle_name: "Middle name",
  preferred_username: "Preferred username",
  birthdate: "Birth date",
  zoneinfo: "Time zone",
  locale: "Language (locale)",
  picture: "Picture URL",
  profile: "Profile page URL",
  website: "Website",
  street_address: "Street address",
  postal_code: "Postal code",
  email_verified: "Email verified",
  phone_number_verified: "Phone number verified",
  updated_at: "Last updated",
  sub: "User ID (sub)",
};

const order = ["name", "given_name", "middle_name", "family_name", "nickname", "preferred_username", "gender",
  "birthdate", "locale", "zoneinfo", "website", "profile", "picture", "address"];

export function label(name) {
  return labels[name] || (name.charAt(0).toUpperCase() + name.slice(1)).replace(/_/g, " ");
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  e.append(...children);
  return e;
}

// rules merges a property's constraints with those of its allOf members.
function rules(prop, r = { types: null, patterns: [], description: "" }) {
  if (!prop || typeof prop !== "object") return r;
  if (prop.type) {
    const t = new Set(Array.isArray(prop.type) ? prop.type : [prop.type]);
    r.types = r.types ? new Set([...r.types].filter((x) => t.has(x))) : t;
  }
  if (prop.pattern) r.patterns.push(prop.pattern);
  for (const k of ["enum", "maxLength", "minLength", "minimum", "maximum", "format", "properties"]) {
    if (prop[k] !== undefined && r[k] === undefined) r[k] = prop[k];
  }
  if (prop.description && !r.description) r.description = prop.description;
  for (const sub of prop.allOf || []) rules(sub, r);
  return r;
}

// plain keeps what a person needs of a schema description: not the step-up
// note (a badge says it) nor what JSON Schema can or cannot state.
function plain(description) {
  return description
    .replace(/[^.]*\(step-up\)\.?/, "")
    .replace(/\s*\([^()]*JSON Schema[^()]*\)/g, "")
    .replace(/[^.]*JSON Schema[^.]*\./g, "")
    .trim();
}

function fieldKind(r) {
  const types = [...(r.types || ["string"])].filter((t) => t !== "null");
  if (r.enum) return "enum";
  return types[0] || "string";
}

function idOf(path) {
  return path.replace(/\./g, "-");
}

// Field is one generated control with its rules.
class Field {
  constructor(path, prop) {
    this.path = path;
    this.name = path.split(".").pop();
    this.r = rules(prop);
    this.kind = fieldKind(this.r);
    this.nullable = !this.r.types || this.r.types.has("null") || path.includes(".");
    this.stepUp = stepUpNote.test(this.r.description);
  }

  render() {
    const id = `f-${idOf(this.path)}`;
    const hintID = `h-${idOf(this.path)}`;
    const errID = `e-${idOf(this.path)}`;
    const lab = el("label", { for: id }, label(this.name));
    if (this.stepUp) lab.append(" ", el("span", { class: "badge", text: "needs a recent sign-in" }));
    let input;
    const common = { id, name: this.path, "aria-describedby": `${hintID} ${errID}` };
    switch (this.kind) {
      case "enum":
        input = el("select", common, el("option", { value: "", text: "(not set)" }));
        for (const v of this.r.enum) if (v !== null) input.append(el("option", { value: String(v), text: String(v) }));
        break;
      case "boolean":
        input = el("select", common, el("option", { value: "", text: "(not set)" }),
          el("option", { value: "true", text: "yes" }), el("option", { value: "false", text: "no" }));
        break;
      case "integer":
      case "number":
        input = el("input", { ...common, type: "number", inputmode: "numeric", min: this.r.minimum, max: this.r.maximum,
          step: this.kind === "integer" ? 1 : "any" });
        break;
      default: {
        const long = (this.r.maxLength || 0) > 256 && /address|formatted/.test(this.name);
        input = el(long ? "textarea" : "input", { ...common, maxlength: this.r.maxLength, autocomplete: "off",
          type: long ? undefined : this.name === "website" || this.name === "picture" || this.name === "profile" ? "url" : "text",
          placeholder: this.r.format === "date" || this.name === "birthdate" ? "YYYY-MM-DD" : undefined });
      }
    }
    this.input = input;
    const hint = [];
    if (this.r.description) hint.push(plain(this.r.description));
    if (this.stepUp) hint.push("Changing it needs a recent sign-in.");
    // 256 is the bound of every standard string: not worth a line each.
    if (this.r.maxLength && this.r.maxLength !== 256 && this.kind === "string") hint.push(`At most ${this.r.maxLength} characters.`);
    if (this.r.minimum !== undefined && this.r.maximum !== undefined) hint.push(`From ${this.r.minimum} to ${this.r.maximum}.`);
    this.err = el("p", { id: errID, class: "error" });
    return el("div", { class: "field" }, lab, input, el("p", { id: hintID, class: "hint", text: hint.filter(Boolean).join(" ") }), this.err);
  }

  set(value) {
    this.current = value;
    this.input.value = value === undefined || value === null ? "" : String(value);
  }

  // read answers [changed, value] or throws a message.
  read() {
    // A number field answers "" for text it cannot parse ("1e", "-"):
    // that is not a cleared field, whose value would be deleted.
    if (this.input.validity?.badInput) throw new Error("Type a number.");
    const raw = this.input.value;
    const empty = raw === "";
    let v;
    if (empty) {
      v = null;
    } else if (this.kind === "enum") {
      // The choice's text is the value's; the value keeps its JSON type.
      v = this.r.enum.find((x) => x !== null && String(x) === raw);
    } else if (this.kind === "boolean") {
      v = raw === "true";
    } else if (this.kind === "integer" || this.kind === "number") {
      v = Number(raw);
      if (!Number.isFinite(v) || (this.kind === "integer" && !Number.isInteger(v))) {
        throw new Error(this.kind === "integer" ? "Type a whole number." : "Type a number.");
      }
      if (this.r.minimum !== undefined && v < this.r.minimum) throw new Error(`Type at least ${this.r.minimum}.`);
      if (this.r.maximum !== undefined && v > this.r.maximum) throw new Error(`Type at most ${this.r.maximum}.`);
    } else {
      v = raw;
      const n = [...v].length;
      if (this.r.maxLength !== undefined && n > this.r.maxLength) throw new Error(`Use at most ${this.r.maxLength} characters (now ${n}).`);
      if (this.r.minLength !== undefined && n < this.r.minLength) throw new Error(`Use at least ${this.r.minLength} characters.`);
      for (const p of this.r.patterns) {
        let re;
        try { re = new RegExp(p, "u"); } catch { continue; } // the server checks it
        if (!re.test(v)) throw new Error(`This does not have the expected form.${this.r.description ? "" : ` It must match ${p}.`}`);
      }
    }
    const cur = this.current === undefined ? null : this.current;
    if (empty && !this.nullable && cur !== null) throw new Error("This cannot be empty.");
    return [v !== cur, v];
  }
}

// ProfileForm is the generated form: fields(), changes(), show errors.
export class ProfileForm {
  constructor(container, schema) {
    this.fields = new Map();
    this.groups = [];
    container.replaceChildren();
    const props = schema.properties || {};
    const names = Object.keys(props).filter((n) => !addressFields.includes(n) && !otpField.test(n));
    names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    for (const name of names) {
      const r = rules(props[name]);
      if (r.properties) {
        const group = { name, fields: [] };
        const fs = el("fieldset", { id: `f-${name}` }, el("legend", { text: label(name) }));
        if (r.description) fs.append(el("p", { class: "hint", text: plain(r.description) }));
        for (const [sub, p] of Object.entries(r.properties)) {
          const f = new Field(`${name}.${sub}`, p);
          group.fields.push(f);
          fs.append(f.render());
        }
        group.err = el("p", { id: `e-${name}`, class: "error" });
        fs.append(group.err);
        this.groups.push(group);
        container.append(fs);
        continue;
      }
      const f = new Field(name, props[name]);
      this.fields.set(name, f);
      container.append(f.render());
    }
  }

  // editable reports whether the schema lets the user change name.
  editable(name) {
    return this.fields.has(name) || this.groups.some((g) => g.name === name);
  }

  setValues(claims) {
    for (const [name, f] of this.fields) f.set(claims[name]);
    for (const g of this.groups) {
      const obj = claims[g.name] || {};
      for (const f of g.fields) f.set(obj[f.name]);
    }
  }

  // changes answers the PATCH body of what the user changed, or null when a
  // field is invalid (its error is shown).
  changes() {
    const body = {};
    let ok = true;
    for (const [name, f] of this.fields) {
      try {
        const [changed, v] = f.read();
        if (changed) body[name] = v;
      } catch (e) {
        this.showError(name, e.message);
        ok = false;
      }
    }
    for (const g of this.groups) {
      const obj = {};
      let changed = false;
      for (const f of g.fields) {
        try {
          const [c, v] = f.read();
          changed ||= c;
          if (v !== null) obj[f.name] = v;
        } catch (e) {
          this.showError(f.path, e.message);
          ok = false;
        }
      }
      // The address is replaced whole; an empty one is removed.
      if (changed) body[g.name] = Object.keys(obj).length ? obj : null;
    }
    return ok ? body : null;
  }

  clearErrors() {
    for (const e of document.querySelectorAll("#fields .error")) e.textContent = "";
    for (const i of document.querySelectorAll("#fields [aria-invalid]")) i.removeAttribute("aria-invalid");
  }

  // showError puts msg next to the field of path; false if there is none.
  showError(path, msg) {
    const err = document.getElementById(`e-${idOf(path)}`);
    if (!err || !err.closest("#fields")) return false;
    err.textContent = msg;
    const input = document.getElementById(`f-${idOf(path)}`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
    return true;
  }
}

function rank(name) {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

// renderReadOnly lists the claims that the schema does not let the user
// change.
export function renderReadOnly(dl, claims, form) {
  dl.replaceChildren();
  for (const [name, v] of Object.entries(claims).sort(([a], [b]) => a.localeCompare(b))) {
    if (form.editable(name) || addressFields.includes(name)) continue;
    let text = typeof v === "object" ? JSON.stringify(v) : String(v);
    if (name === "updated_at" && typeof v === "number") text = new Date(v * 1000).toLocaleString();
    if (typeof v === "boolean") text = v ? "yes" : "no";
    dl.append(el("dt", { text: label(name) }), el("dd", { id: `ro-${name}`, text }));
  }
}

export { el };
