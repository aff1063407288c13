// aerodrome console: live execution pages (server-sent events), relative times and launch-form checks.
// Written for this project; no libraries. Every update replaces server-rendered (escaped) HTML parts.
"use strict";

function relative(root) {
  const now = Date.now();
  root.querySelectorAll("time[datetime]").forEach((el) => {
    const then = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(then)) return;
    const s = Math.round((now - then) / 1000);
    const text = s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago`
      : s < 86400 ? `${Math.floor(s / 3600)}h ago` : `${Math.floor(s / 86400)}d ago`;
    el.textContent = s >= 0 ? text : el.title;
  });
}

// Replace a part's HTML, but not under the user's typing: while a field in it has focus, the newest
// HTML waits and is applied once focus leaves the part (so a click on the part's own button still lands).
function replacePart(part, html) {
  const active = document.activeElement;
  if (active && part.contains(active) && (active.tagName === "INPUT" || active.tagName === "TEXTAREA")) {
    const first = part.dataset.pending === undefined;
    part.dataset.pending = html;
    if (first) {
      const apply = (ev) => {
        if (ev.relatedTarget && part.contains(ev.relatedTarget)) return;
        part.removeEventListener("focusout", apply);
        const pending = part.dataset.pending;
        delete part.dataset.pending;
        if (pending !== undefined) { part.innerHTML = pending; relative(part); }
      };
      part.addEventListener("focusout", apply);
    }
    return;
  }
  part.innerHTML = html;
  relative(part);
}

// One stream per visible page: a hidden tab lets its connection go (browsers allow only a few per
// server) and reconnects when shown again; the server sends the current state on every connect.
function live(container) {
  const url = container.dataset.live;
  if (!url || typeof EventSource === "undefined") return;
  let source = null;
  let finished = false;
  const open = () => { if (!source && !finished) source = listen(container, url, () => { finished = true; source = null; }); };
  const close = () => { if (source) { source.close(); source = null; } };
  document.addEventListener("visibilitychange", () => (document.hidden ? close() : open()));
  open();
}

function listen(container, url, onDone) {
  const source = new EventSource(url);
  source.addEventListener("update", (msg) => {
    const data = JSON.parse(msg.data);
    container.dataset.phase = data.phase;
    for (const [name, html] of Object.entries(data.parts)) {
      const part = container.querySelector(`[data-part="${name}"]`);
      if (part && part.innerHTML !== html) replacePart(part, html);
    }
  });
  source.addEventListener("done", () => { source.close(); onDone(); });
  return source;
}

const CHECKS = {
  int: (v) => /^[+-]?\d+$/.test(v) ? "" : "must be a whole number",
  float: (v) => v !== "" && !Number.isNaN(Number(v)) ? "" : "must be a number",
  duration: (v) => v !== "" && !Number.isNaN(Number(v)) ? "" : "must be a number of seconds",
  datetime: (v) => !Number.isNaN(Date.parse(v)) ? "" : "must be a date and time like 2026-01-31T09:00:00Z",
  json: (v) => { try { JSON.parse(v); return ""; } catch (e) { return "not valid JSON: " + e.message; } },
  blob: (v) => /^([a-z0-9]+:\/\/|\/)/.test(v) ? "" : "must be a URI (s3://…, file://…) or an absolute path",
};

function checkField(el) {
  const check = CHECKS[el.dataset.kind];
  const value = el.value.trim();
  const message = !value ? (el.required ? "required" : "") : check ? check(value) : "";
  const out = document.getElementById(`err-${el.name}`);
  if (out) out.textContent = message;
  el.closest(".field").classList.toggle("invalid", Boolean(message));
  el.setAttribute("aria-invalid", message ? "true" : "false");
  return !message;
}

function typedForm(form) {
  const inputs = form.querySelectorAll("[data-kind]");
  inputs.forEach((el) => el.addEventListener("input", () => checkField(el)));
  form.addEventListener("submit", (ev) => {
    let ok = true;
    inputs.forEach((el) => { ok = checkField(el) && ok; });
    if (!ok) { ev.preventDefault(); form.querySelector(".invalid [data-kind]").focus(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  relative(document);
  setInterval(() => relative(document), 15000);
  document.querySelectorAll("[data-live]").forEach(live);
  document.querySelectorAll("[data-typed-form]").forEach(typedForm);
});
