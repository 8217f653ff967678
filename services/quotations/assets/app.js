// Tessera quotations: sends the pages' forms as JSON with the session's CSRF token and shows
// the answer (no third-party code; served from /assets/app.js).
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function payload(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") body[el.name] = el.checked;
    else if (el.type === "number") body[el.name] = el.value === "" ? null : Number(el.value);
    else body[el.name] = el.value;
  }
  return body;
}

function show(el, text) {
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("visible", text !== "");
}

async function submit(form, event) {
  event.preventDefault();
  const errors = form.querySelector(".errors");
  const result = form.querySelector(".result");
  show(errors, "");
  show(result, "");
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = true;
  try {
    const response = await fetch(form.getAttribute("action"), {
      method: form.dataset.method || "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-TOKEN": csrfToken(),
      },
      body: JSON.stringify(payload(form)),
    });
    let body = {};
    try { body = await response.json(); } catch (_) { body = {}; }
    if (!response.ok) {
      const lines = [body.message || ("Request failed (" + response.status + ").")];
      for (const [field, messages] of Object.entries(body.errors || {})) {
        lines.push(field + ": " + messages.join(" "));
      }
      show(errors, lines.join("\n"));
      return;
    }
    if (form.dataset.redirect) {
      window.location.assign(form.dataset.redirect);
      return;
    }
    if (form.dataset.show === "output") {
      const warnings = (body.warnings || []).map((w) => "warning: " + w);
      show(result, [body.output || ""].concat(warnings).join("\n"));
      if (body.run_id) setTimeout(() => window.location.reload(), 1500);
      return;
    }
    if (body.cron_expression) {
      const cron = document.getElementById("cron");
      if (cron) cron.textContent = body.cron_expression;
    }
    show(result, body.message || "Saved.");
  } catch (e) {
    show(errors, "Network error: " + e.message);
  } finally {
    if (button) button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-json-form]")) {
    form.addEventListener("submit", (event) => submit(form, event));
  }
});
