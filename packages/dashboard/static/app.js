// The llmux dashboard page: plain browser JavaScript, no build step. Every data request carries the
// key typed into the sign-in form (kept in sessionStorage only) unless the browser or a reverse proxy
// already sends Authorization itself. Nothing is shown before the first data request is accepted.
(() => {
  const KEY_STORAGE = "llmux.dashboard.key";
  const MAX_ROWS = 200;
  const COLORS = ["#3558d4", "#d4563a", "#1d8a4a", "#a43fc2", "#c48a00", "#1b8fa6", "#6b7385", "#d43a83"];

  let key = sessionStorage.getItem(KEY_STORAGE);
  let cursor = 0;
  let timers = [];
  let controlOn = false;
  const charts = { spend: undefined, tokens: undefined, names: "" };

  const $ = (id) => document.getElementById(id);

  class AuthError extends Error {}

  async function api(path, init = {}) {
    const headers = { accept: "application/json", ...(init.headers || {}) };
    if (key) headers.authorization = `Bearer ${key}`;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`api/${path}`, { ...init, headers, credentials: "same-origin" });
    const text = await response.text();
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (response.status === 401 || response.status === 403) throw new AuthError(messageOf(body));
    if (!response.ok) throw new Error(messageOf(body) || `HTTP ${response.status}`);
    return body;
  }

  function messageOf(body) {
    if (body && typeof body === "object") {
      const error = body.error || body.detail;
      if (typeof error === "string") return error;
      if (error && typeof error.message === "string") return error.message;
    }
    return typeof body === "string" ? body : "";
  }

  // ---- formatting ----
  function cost(value) {
    if (value === null || value === undefined) return "—";
    if (value === 0) return "$0";
    if (value >= 1) return `$${value.toFixed(2)}`;
    if (value >= 0.01) return `$${value.toFixed(4)}`;
    return `$${Number(value.toPrecision(3))}`;
  }
  function ms(value) {
    if (value === null || value === undefined) return "—";
    return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
  }
  function count(value) {
    return value >= 1e6
      ? `${(value / 1e6).toFixed(1)}M`
      : value >= 1e4
        ? `${(value / 1e3).toFixed(1)}k`
        : String(value);
  }
  function clock(epoch) {
    return new Date(epoch).toLocaleTimeString([], { hour12: false });
  }

  // ---- DOM helpers (text only: nothing from the server is parsed as HTML) ----
  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = String(options.text);
    if (options.title) node.title = options.title;
    if (options.data)
      for (const [name, value] of Object.entries(options.data)) node.dataset[name] = String(value);
    for (const child of children) if (child) node.append(child);
    return node;
  }
  function cell(text, className, options = {}) {
    return el("td", { text, className, ...options });
  }
  function badge(text, tone) {
    return el("span", { className: `badge ${tone}`, text });
  }
  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  // ---- sign-in ----
  function showSignIn(message) {
    stop();
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    $("signin-key").focus();
  }

  async function signedIn() {
    const session = await api("session");
    return session.authenticated === true;
  }

  async function start() {
    try {
      if (!(await signedIn())) {
        if (key) sessionStorage.removeItem(KEY_STORAGE);
        key = null;
        showSignIn("");
        return;
      }
      const overview = await api("overview");
      $("signin").hidden = true;
      $("app").hidden = false;
      controlOn = overview.control;
      $("keys-card").hidden = !controlOn;
      $("keys-off").hidden = controlOn;
      renderOverview(overview);
      await Promise.all([pollCalls(), refresh(), refreshSpend(), controlOn ? refreshKeys() : undefined]);
      timers = [
        setInterval(() => guard(pollCalls()), 2000),
        setInterval(() => guard(refresh()), 5000),
        setInterval(() => guard(refreshSpend()), 10000),
      ];
      if (controlOn) timers.push(setInterval(() => guard(refreshKeys()), 15000));
    } catch (error) {
      if (error instanceof AuthError) {
        if (key) sessionStorage.removeItem(KEY_STORAGE);
        key = null;
        showSignIn("");
      } else {
        showSignIn(`The dashboard is not reachable: ${error.message}`);
      }
    }
  }

  function guard(promise) {
    promise.catch((error) => {
      if (error instanceof AuthError) {
        sessionStorage.removeItem(KEY_STORAGE);
        key = null;
        showSignIn("Signed out: the key is no longer accepted.");
      }
    });
  }

  function stop() {
    for (const timer of timers) clearInterval(timer);
    timers = [];
  }

  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    key = $("signin-key").value.trim();
    try {
      if (!(await signedIn())) throw new AuthError("not accepted");
      sessionStorage.setItem(KEY_STORAGE, key);
      $("signin-key").value = "";
      await start();
    } catch (error) {
      key = null;
      $("signin-error").textContent =
        error instanceof AuthError ? "That key is not accepted." : error.message;
    }
  });

  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    key = null;
    stop();
    location.reload();
  });

  $("window").addEventListener("change", () => {
    guard(refresh());
    guard(refreshSpend());
  });
  $("spend-by").addEventListener("change", () => guard(refreshSpend()));

  // ---- views ----
  function renderOverview(overview) {
    const metric = (value, label, tone) => {
      const bold = el("b", { text: value });
      if (tone) bold.style.color = tone;
      return el("div", { className: "metric" }, bold, el("span", { text: label }));
    };
    $("summary").replaceChildren(
      metric(count(overview.lastHour.calls), "calls, last hour"),
      metric(count(overview.lastHour.errors), "errors", overview.lastHour.errors ? "var(--bad)" : ""),
      metric(cost(overview.lastHour.spend), "spend"),
      metric(count(overview.lastHour.tokens), "tokens"),
      metric(
        `${overview.deployments - overview.cooling}/${overview.deployments}`,
        "deployments healthy",
        overview.cooling ? "var(--warn)" : "",
      ),
      metric(overview.redact ? "off" : "on", "content logging"),
    );
  }

  function callRow(call) {
    const status =
      call.status === "success"
        ? badge(String(call.httpStatus), "ok")
        : badge(`${call.httpStatus} ${call.errorType || ""}`.trim(), "bad");
    const row = el(
      "tr",
      { data: { callId: call.callId, status: call.status } },
      cell(clock(call.time), "", { title: new Date(call.time).toISOString() }),
      cell(call.modelGroup),
      cell(call.deploymentId || "—"),
      cell(call.provider || "—"),
      el("td", {}, status),
      cell(`${call.inputTokens} / ${call.outputTokens}`, "num"),
      cell(cost(call.cost), "num cost", {
        data: { cost: call.cost === null ? "" : String(call.cost) },
        title: call.cost === null ? call.costReason || "not priced" : `$${call.cost}`,
      }),
      cell(ms(call.latencyMs), "num"),
      cell(ms(call.ttftMs), "num"),
      cell(call.user || "—"),
      cell(call.keyAlias || "—"),
    );
    row.addEventListener("click", () => guard(openCall(call.callId)));
    return row;
  }

  async function pollCalls() {
    const answer = await api(`calls?since=${cursor}&limit=${MAX_ROWS}`);
    const tbody = $("calls").tBodies[0];
    const fresh = cursor > 0;
    for (const call of answer.calls.slice().reverse()) {
      const row = callRow(call);
      if (fresh) row.className = "fresh";
      tbody.prepend(row);
    }
    while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
    cursor = answer.cursor;
  }

  async function openCall(callId) {
    const call = await api(`calls/${encodeURIComponent(callId)}`);
    $("detail-title").textContent = `${call.modelGroup} · ${call.callId}`;
    const facts = [
      [
        "Status",
        call.status === "success" ? "success (200)" : `failure (${call.httpStatus} ${call.errorType})`,
      ],
      ["Started", new Date(call.time).toISOString()],
      ["Type", `${call.callType}${call.stream ? " (stream)" : ""}`],
      ["Requested model", call.requestedModel],
      ["Served by", call.deploymentId ? `${call.deploymentId} (${call.provider})` : "—"],
      ["Tokens", `${call.inputTokens} in, ${call.outputTokens} out`],
      ["Cost", call.cost === null ? `not priced (${call.costReason || "unknown"})` : `$${call.cost}`],
      [
        "Latency",
        `${ms(call.timings.durationMs)} total, ${ms(call.timings.upstreamMs)} upstream, ${ms(call.timings.overheadMs)} gateway`,
      ],
      ["TTFT", ms(call.ttftMs)],
      ["User / team", `${call.user || "—"} / ${call.team || "—"}`],
      ["Key", call.keyAlias || "—"],
      ["Tags", call.tags.length ? call.tags.join(", ") : "—"],
      ["Fallbacks", String(call.fallbacks)],
    ];
    const list = el("dl");
    for (const [name, value] of facts) list.append(el("dt", { text: name }), el("dd", { text: value }));
    const body = [list];
    if (call.error) {
      body.push(
        el("h3", { text: "Error" }),
        el("pre", { text: `${call.error.type} (${call.error.status}): ${call.error.message}` }),
      );
    }
    const attempts = el("table", { className: "attempts" });
    attempts.append(
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["#", "Deployment", "Provider / model", "Outcome", "Latency", "Error"].map((text) =>
            el("th", { text }),
          ),
        ),
      ),
    );
    const rows = el("tbody");
    for (const attempt of call.attemptList) {
      rows.append(
        el(
          "tr",
          {},
          cell(String(attempt.index + 1)),
          cell(`${attempt.deploymentId}${attempt.fallback ? " (fallback)" : ""}`),
          cell(`${attempt.provider} / ${attempt.model}`),
          el("td", {}, badge(attempt.outcome, attempt.outcome === "success" ? "ok" : "bad")),
          cell(ms(attempt.latencyMs)),
          cell(attempt.error ? `${attempt.error.type}: ${attempt.error.message}` : ""),
        ),
      );
    }
    attempts.append(rows);
    body.push(el("h3", { text: `Attempts (${call.attemptList.length})` }), attempts);
    if (call.redacted) {
      body.push(
        el("h3", { text: "Messages" }),
        el("p", { className: "muted", text: "Content logging is off: messages are not kept." }),
      );
    } else {
      if (call.messages !== undefined)
        body.push(
          el("h3", { text: "Messages" }),
          el("pre", { text: JSON.stringify(call.messages, null, 2) }),
        );
      if (call.response !== undefined)
        body.push(
          el("h3", { text: "Response" }),
          el("pre", { text: JSON.stringify(call.response, null, 2) }),
        );
      if (call.truncated)
        body.push(el("p", { className: "muted", text: "Content was cut to the dashboard's size limit." }));
    }
    $("detail-body").replaceChildren(...body);
    $("call-detail").showModal();
  }

  async function refresh() {
    const window = $("window").value;
    const [overview, models, deployments, exporters] = await Promise.all([
      api("overview"),
      api(`models?window=${window}`),
      api("deployments"),
      api("exporters"),
    ]);
    renderOverview(overview);
    fill(
      $("models").tBodies[0],
      models.models.map((model) =>
        el(
          "tr",
          { data: { modelGroup: model.modelGroup } },
          cell(model.modelGroup),
          cell(count(model.calls), "num"),
          cell(count(model.errors), "num"),
          el(
            "td",
            { className: "num" },
            badge(
              `${(model.errorRate * 100).toFixed(1)}%`,
              model.errorRate > 0.05 ? "bad" : model.errorRate > 0 ? "warn" : "ok",
            ),
          ),
          cell(cost(model.spend), "num"),
          cell(ms(model.latencyMs.p50), "num"),
          cell(ms(model.latencyMs.p90), "num"),
          cell(ms(model.latencyMs.p99), "num"),
          cell(ms(model.ttftMs.p50), "num"),
        ),
      ),
    );
    fill(
      $("deployments").tBodies[0],
      deployments.deployments.map((deployment) => {
        const state =
          deployment.state === "cooling"
            ? badge(
                `cooling down until ${clock(deployment.until)}${deployment.reason ? ` (${deployment.reason})` : ""}`,
                "warn",
              )
            : badge("healthy", "ok");
        const limit = (used, max) => (max ? `${count(used)} / ${count(max)}` : count(used));
        return el(
          "tr",
          { data: { deploymentId: deployment.deploymentId, state: deployment.state } },
          cell(deployment.deploymentId),
          cell(deployment.modelGroup),
          cell(`${deployment.provider} / ${deployment.model}`),
          el("td", { className: "state" }, state),
          cell(limit(deployment.lastMinute.requests, deployment.rpm), "num", {
            title: deployment.rpm ? "requests in the last 60 s / rpm limit" : "requests in the last 60 s",
          }),
          cell(limit(deployment.lastMinute.tokens, deployment.tpm), "num"),
          cell(limit(deployment.inFlight, deployment.maxParallelRequests), "num"),
        );
      }),
    );
    fill(
      $("exporters").tBodies[0],
      exporters.exporters.length === 0
        ? [el("tr", {}, el("td", { className: "muted", text: "No telemetry sinks configured." }))]
        : exporters.exporters.map((exporter) =>
            el(
              "tr",
              { data: { sink: exporter.sink } },
              cell(exporter.sink),
              el("td", {}, exporter.healthy ? badge("ok", "ok") : badge("failing", "bad")),
              cell(count(exporter.delivered), "num"),
              cell(count(exporter.queued), "num"),
              cell(count(exporter.dropped), "num"),
              cell(count(exporter.errors), "num"),
            ),
          ),
    );
  }

  // ---- charts (uPlot) ----
  async function refreshSpend() {
    const report = await api(`spend?by=${$("spend-by").value}&window=${$("window").value}`);
    $("spend-source").textContent =
      report.source === "control" ? "from the control plane's spend logs" : "in-process (since start)";
    const series = report.series.slice(0, COLORS.length);
    const times = report.times.map((time) => time / 1000);
    const names = `${report.by}|${series.map((entry) => entry.name).join("|")}`;
    const spendData = [times, ...series.map((entry) => entry.spend)];
    const tokenData = [times, ...series.map((entry) => entry.tokens)];
    if (typeof uPlot !== "function") return;
    if (charts.names !== names || !charts.spend) {
      charts.spend?.destroy();
      charts.tokens?.destroy();
      const step = report.bucketMs / 1000;
      charts.spend = chart($("spend-chart"), "Spend (USD)", series, spendData, (value) => cost(value), step);
      charts.tokens = chart($("tokens-chart"), "Tokens", series, tokenData, (value) => count(value), step);
      charts.names = names;
    } else {
      charts.spend.setData(spendData);
      charts.tokens.setData(tokenData);
    }
  }

  function chart(target, title, series, data, format, step) {
    const width = Math.max(320, target.clientWidth || 520);
    // One bar per bucket; the series of a bucket side by side.
    const bars = uPlot.paths.bars({ size: [0.8 / Math.max(1, series.length), 40], align: 0 });
    return new uPlot(
      {
        title,
        width,
        height: 190,
        series: [
          {},
          ...series.map((entry, index) => ({
            label: entry.name,
            stroke: COLORS[index],
            fill: `${COLORS[index]}55`,
            width: 1,
            paths: bars,
            points: { show: false },
            value: (_plot, value) => (value === null || value === undefined ? "—" : format(value)),
          })),
        ],
        axes: [{}, { values: (_plot, ticks) => ticks.map((tick) => format(tick)), size: 92 }],
        scales: {
          // Room for the last bucket's bar.
          x: { range: (_plot, min, max) => [min, max + step] },
          y: { range: (_plot, min, max) => [0, Math.max(max, min, 1e-9) * 1.1] },
        },
      },
      data,
      target,
    );
  }

  // ---- keys (control plane) ----
  async function refreshKeys() {
    const answer = await api("keys");
    const keys = Array.isArray(answer) ? answer : answer.keys || [];
    fill(
      $("keys").tBodies[0],
      keys
        .filter((entry) => entry && typeof entry === "object")
        .map((entry) => {
          const token = entry.token || entry.key || "";
          const blocked = entry.blocked === true;
          const block = el("button", { className: "small secondary", text: blocked ? "Unblock" : "Block" });
          block.addEventListener("click", () =>
            guard(keyAction(blocked ? "keys/unblock" : "keys/block", { key: token })),
          );
          const remove = el("button", { className: "small danger", text: "Delete" });
          remove.addEventListener("click", () => {
            if (confirm(`Delete the key ${entry.key_alias || token.slice(-8)}?`))
              guard(keyAction("keys/delete", { keys: [token] }));
          });
          return el(
            "tr",
            { data: { keyAlias: entry.key_alias || "", blocked: String(blocked) } },
            cell(entry.key_alias || "—"),
            cell(entry.key_name || (token ? `…${token.slice(-8)}` : "—")),
            cell(Array.isArray(entry.models) && entry.models.length ? entry.models.join(", ") : "all"),
            cell(cost(Number(entry.spend || 0)), "num"),
            cell(
              entry.max_budget === null || entry.max_budget === undefined
                ? "—"
                : cost(Number(entry.max_budget)),
              "num",
            ),
            el("td", {}, blocked ? badge("blocked", "bad") : badge("active", "ok")),
            el("td", {}, block, " ", remove),
          );
        }),
    );
  }

  async function keyAction(path, body) {
    $("key-error").textContent = "";
    try {
      await api(path, { method: "POST", body: JSON.stringify(body) });
    } catch (error) {
      if (error instanceof AuthError) throw error;
      $("key-error").textContent = error.message;
    }
    await refreshKeys();
  }

  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("key-error").textContent = "";
    const body = {};
    const alias = $("key-alias").value.trim();
    if (alias) body.key_alias = alias;
    const models = $("key-models")
      .value.split(",")
      .map((model) => model.trim())
      .filter((model) => model && model !== "all");
    if (models.length) body.models = models;
    const budget = $("key-budget").value.trim();
    if (budget) body.max_budget = Number(budget);
    try {
      const created = await api("keys", { method: "POST", body: JSON.stringify(body) });
      $("new-key").textContent = created.key || "";
      $("key-created").hidden = false;
      $("key-form").reset();
      await refreshKeys();
    } catch (error) {
      if (error instanceof AuthError) return guard(Promise.reject(error));
      $("key-error").textContent = error.message;
    }
  });

  start();
})();
