// The dashboard page: renders the engine's state (GET /state, a long poll), filters as you type,
// and sends each button's action to the engine (POST /action). No framework, no build step.
"use strict";

const TOKEN = document.querySelector('meta[name="page-token"]').content;
const HEADERS = { "X-Dashboard-Token": TOKEN };
const ACTIONS = [
  ["sign_in", "Sign in"],
  ["keep_fresh", "Keep fresh"],
  ["refresh", "Refresh"],
  ["console", "Open console"],
  ["console_url", "Copy console URL"],
  ["export", "Copy export lines"],
  ["process_line", "Copy credential_process line"],
];
const LABELS = Object.fromEntries(ACTIONS.concat([
  ["add_profile", "Add profile"],
  ["sync", "Sync accounts from the portal"],
]));
const WORDS = {
  idle: "", fresh: "kept fresh", refreshing: "refreshing", login_needed: "sign-in needed",
  error: "error", logged_in: "signed in", expiring: "expiring", not_signed_in: "not signed in",
  signed_out: "signed out", logging_in: "signing in",
};
const NEEDS_LOGIN = new Set(["login_needed", "not_signed_in", "signed_out", "error"]);
const SIGNED_IN = new Set(["logged_in", "expiring"]);

const search = document.getElementById("search");
const list = document.getElementById("rows");
const sessionsBox = document.getElementById("sessions");
const statusLine = document.getElementById("status");
const count = document.getElementById("count");
const empty = document.getElementById("empty");

let version = null;
let rows = [];        // {el, key, hay, expiresEl} in display order
let rowKeys = "";     // the keys of `rows`, joined: same keys -> update in place
let sessions = {};
let picked = null;
let countdowns = [];  // [element, Date] updated every second

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function remaining(when, now) {
  const s = Math.floor((when - now) / 1000);
  if (s <= 0) return "expired";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}m ${String(r).padStart(2, "0")}s`;
}

function tick() {
  const now = Date.now();
  for (const [node, when] of countdowns) {
    const text = remaining(when, now);
    if (node.textContent !== text) node.textContent = text;
  }
}

function profileKey(p) { return "p:" + p.name; }
function portalKey(u) { return `u:${u.session_key}:${u.account_id}:${u.role_name}`; }

function buildRow(item, profile) {
  const row = el("div", { class: "row", role: "listitem" });
  if (profile) row.dataset.profile = item.name;
  row.dataset.session = item.session_key;
  if (!profile) {
    row.dataset.account = item.account_id;
    row.dataset.role = item.role_name;
  }
  const name = el("div", { class: "name" }, profile ? item.name : "");
  if (!profile) name.append(el("span", { class: "muted" }, "no profile yet"));
  const account = el("div", { class: "account" });
  account.append(el("span", { class: "account-name" }, item.account_name || ""), " ",
    el("small", {}, item.account_id));
  const role = el("div", { class: "role" });
  showRole(role, item);
  const state = el("div", { class: "state" });
  state.append(el("span", { class: "word" }), " ", el("span", { class: "expires" }));
  const actions = el("div", { class: "actions" });
  if (profile) {
    for (const [action, label] of ACTIONS) {
      const button = el("button", { type: "button", "data-action": action,
        "aria-label": `${label}: ${item.name}` }, label);
      actions.append(button);
    }
  } else {
    actions.append(el("button", { type: "button", "data-action": "add_profile",
      "aria-label": `Add profile: ${item.role_name} in ${item.account_name || item.account_id}` },
      "Add profile"));
  }
  row.append(name, account, role, state, actions);
  return row;
}

// A role chained on SSO reads as `list` and `status` show it: `Deployer via dev`.
function roleText(item) { return item.via ? `${item.role_name} via ${item.via}` : item.role_name; }

function showRole(node, item) {
  node.replaceChildren(item.role_name);
  if (item.via) node.append(" ", el("span", { class: "via muted" }, `via ${item.via}`));
  node.dataset.text = roleText(item);
}

function hay(item, profile) {
  // what the row shows, so a search for the source profile finds the roles chained on it
  return [profile ? item.name : "", item.account_name || "", item.account_id, roleText(item)]
    .join(" ").toLowerCase();
}

function updateRow(entry, item, profile, now) {
  const row = entry.el;
  const session = sessions[item.session_key] || {};
  const word = row.querySelector(".word");
  const expires = row.querySelector(".expires");
  let status = profile && item.status !== "idle" ? item.status : session.status || "";
  if (!profile) status = session.status || "";
  const text = WORDS[status] ?? status;
  if (word.textContent !== text) word.textContent = text;
  word.className = `word state-${status}`;
  const whenText = profile ? (item.credentials_expire_at || session.session_ends_at ||
    session.token_expires_at) : null;
  if (whenText) countdowns.push([expires, new Date(whenText)]);
  else expires.textContent = "";
  if (item.last_error) row.title = item.last_error; else row.removeAttribute("title");
  let changed = false;
  const accountName = row.querySelector(".account-name");
  const role = row.querySelector(".role");
  // the same profile (the row's key) may name another account or source after a config edit
  if (accountName.textContent !== (item.account_name || "") ||
      role.dataset.text !== roleText(item)) {
    accountName.textContent = item.account_name || "";
    showRole(role, item);
    entry.hay = hay(item, profile);
    changed = true;
  }
  if (profile) {
    const keep = row.querySelector('[data-action="keep_fresh"]');
    keep.setAttribute("aria-pressed", item.kept_fresh ? "true" : "false");
    keep.title = item.kept_fresh ? `kept fresh in [${item.kept_fresh}]: press to stop` :
      `keep fresh in the credentials file's [${item.name}]`;
    const signIn = row.querySelector('[data-action="sign_in"]');
    signIn.hidden = !NEEDS_LOGIN.has(session.status);
  }
  entry.needsLogin = NEEDS_LOGIN.has(session.status);
  return changed;
}

function renderSessions(state) {
  sessionsBox.replaceChildren();
  for (const s of state.sessions) {
    const box = el("div", { class: "session", "data-session": s.key });
    box.append(el("strong", {}, s.name), el("span", { class: `state-${s.status}` }, WORDS[s.status] ?? s.status));
    const until = s.session_ends_at || s.token_expires_at;
    if (until && !NEEDS_LOGIN.has(s.status)) {
      const span = el("span", { class: "muted" });
      countdowns.push([span, new Date(until)]);
      box.append(span);
    }
    const button = el("button", { type: "button", "data-action": "sign_in",
      "data-session": s.key, "aria-label": `Sign in to ${s.name}` }, "Sign in");
    box.append(button);
    if (SIGNED_IN.has(s.status)) {
      box.append(el("button", { type: "button", "data-action": "sync", "data-session": s.key,
        "aria-label": `Sync accounts of ${s.name} from the portal` }, "Sync accounts from the portal"));
    }
    sessionsBox.append(box);
  }
}

function render(state) {
  sessions = Object.fromEntries(state.sessions.map((s) => [s.key, s]));
  countdowns = [];
  renderSessions(state);
  const items = state.profiles.map((p) => [p, true]).concat(state.unprofiled.map((u) => [u, false]));
  const keys = items.map(([item, profile]) => (profile ? profileKey(item) : portalKey(item))).join("\n");
  if (keys !== rowKeys) {
    const fragment = document.createDocumentFragment();
    rows = items.map(([item, profile]) => {
      const entry = { el: buildRow(item, profile), hay: hay(item, profile), profile };
      fragment.append(entry.el);
      return entry;
    });
    list.replaceChildren(fragment);
    rowKeys = keys;
    filter();
  }
  const now = Date.now();
  let changed = false;
  items.forEach(([item, profile], i) => {
    changed = updateRow(rows[i], item, profile, now) || changed;
  });
  if (changed && search.value.trim()) filter();  // a row's words changed under the search
  tick();
}

function filter() {
  const started = performance.now();
  const terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  let first = null;
  for (const entry of rows) {
    const match = terms.every((t) => entry.hay.includes(t));
    if (entry.el.hidden === match) entry.el.hidden = !match;
    if (match) { shown += 1; if (first === null) first = entry; }
  }
  pick(first);
  count.textContent = `${shown} of ${rows.length}`;
  empty.hidden = shown > 0;
  window.dashboardFilterMs = performance.now() - started;
}

function pick(entry) {
  if (picked) picked.el.classList.remove("picked");
  picked = entry;
  if (picked) picked.el.classList.add("picked");
}

function move(step) {
  const visible = rows.filter((r) => !r.el.hidden);
  if (!visible.length) return;
  const at = visible.indexOf(picked);
  const next = visible[Math.min(visible.length - 1, Math.max(0, at + step))];
  pick(next);
  next.el.scrollIntoView({ block: "nearest" });
}

function say(text) { statusLine.textContent = text; }

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    const area = el("textarea", { "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

async function act(action, profile, session, extra) {
  const label = LABELS[action] || action;
  say(`${label}${profile ? " " + profile : ""}…`);
  let answer;
  try {
    const response = await fetch("/action", {
      method: "POST",
      headers: { ...HEADERS, "Content-Type": "application/json" },
      body: JSON.stringify({ action, profile: profile || "", session: session || "", ...extra }),
    });
    answer = await response.json();
  } catch (_) {
    say("The tray or daemon does not answer: is it still running?");
    return;
  }
  if (!answer.ok) { say(answer.message); return; }
  if (answer.copy !== undefined) {
    say((await copy(answer.copy)) ? answer.message : "The browser refused to copy: try again");
    return;
  }
  say(answer.message);
}

list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const row = button.closest(".row");
  const portalRole = row.dataset.profile ? {} : { account: row.dataset.account, role: row.dataset.role };
  act(button.dataset.action, row.dataset.profile, row.dataset.session, portalRole);
});
sessionsBox.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button) act(button.dataset.action, "", button.dataset.session);
});
search.addEventListener("input", filter);
search.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    move(event.key === "ArrowDown" ? 1 : -1);
  } else if (event.key === "Enter" && picked) {
    // what the row's first button does: Add profile for a portal role without one
    event.preventDefault();
    const row = picked.el;
    if (!picked.profile) {
      act("add_profile", "", row.dataset.session, { account: row.dataset.account, role: row.dataset.role });
    } else {
      act(picked.needsLogin ? "sign_in" : "console", row.dataset.profile, row.dataset.session);
    }
  } else if (event.key === "Escape") {
    search.value = "";
    filter();
  }
});

async function poll() {
  for (;;) {
    let response;
    try {
      const since = version === null ? "" : `?v=${version}`;
      response = await fetch(`/state${since}`, { headers: HEADERS, cache: "no-store" });
    } catch (_) {
      say("The tray or daemon does not answer: is it still running?");
      await new Promise((done) => setTimeout(done, 3000));
      continue;
    }
    if (response.status !== 200) {
      say("This page's session ended: run `aws-sso-tray dashboard` for a new one.");
      return;
    }
    const state = await response.json();
    if (state.version !== version) {
      version = state.version;
      render(state);
      if (window.dashboardRenderedAt === undefined) window.dashboardRenderedAt = performance.now();
      document.body.dataset.version = String(version);
    }
  }
}

search.focus();
setInterval(tick, 1000);
poll();
