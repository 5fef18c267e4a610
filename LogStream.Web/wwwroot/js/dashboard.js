// The LogStream dashboard: polls the web's own GET /metrics every second and redraws tiles, nodes, ring and
// partitions without a reload; the buttons call the web's POST endpoints. Plain DOM, no framework.
(() => {
  "use strict";
  const root = document.getElementById("dashboard");
  const refreshMs = Number(root.dataset.refreshMs) || 1000;
  const chaosEnabled = root.dataset.chaos === "true";
  const loseFraction = Number(root.dataset.loseFraction) || 0.05;
  const staleAfterMs = Math.max(3000, refreshMs * 3);
  const palette = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#1b7c83", "#6e7781"];
  const $ = id => document.getElementById(id);
  const fmt = new Intl.NumberFormat("en-US");
  const fmt1 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const clock = iso => iso ? new Date(iso).toISOString().substring(11, 19) : "—";
  const bytes = n => n >= 1 << 30 ? (n / (1 << 30)).toFixed(1) + " GiB" : n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB"
    : n >= 1 << 10 ? (n / (1 << 10)).toFixed(1) + " KiB" : n + " B";
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "className") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  };
  const svg = (tag, attrs = {}) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };

  let snapshot = null;
  let lastChangeAt = Date.now();
  let lastUpdateSeen = null;
  let fetchError = null;
  let ring = null;
  let ringFingerprint = null;
  let selected = null;          // the partition whose replicas are highlighted
  const colors = new Map();     // member id -> color, stable for the page's life

  const colorOf = id => {
    if (!colors.has(id)) colors.set(id, palette[colors.size % palette.length]);
    return colors.get(id);
  };

  function setTile(id, value, text) {
    const node = $(id);
    node.dataset.value = value === null || value === undefined ? "" : String(value);
    node.textContent = text;
  }

  function renderStatus() {
    const status = $("status");
    const problems = [];
    let level = "ok";
    if (fetchError) {
      problems.push(`The dashboard server does not answer (${fetchError}); the figures below are stale, last updated at ${clock(lastUpdateSeen)}.`);
      level = "bad";
    } else if (snapshot && Date.now() - lastChangeAt > staleAfterMs) {
      problems.push(`The figures have not changed for ${Math.round((Date.now() - lastChangeAt) / 1000)} s: they are stale.`);
      level = "bad";
    }
    if (snapshot) {
      for (const p of snapshot.problems) problems.push(p);
      if (snapshot.problems.length && level === "ok") level = snapshot.cluster ? "warn" : "bad";
      const up = snapshot.nodes.filter(n => n.state === "up").length;
      $("status-text").textContent = snapshot.cluster
        ? `Cluster ${snapshot.cluster.name}: ${up} of ${snapshot.nodes.length} members up, replication factor ${snapshot.cluster.replication_factor}` +
          (snapshot.stale ? "; some figures are stale." : ".")
        : "No cluster view yet.";
    }
    status.className = "status " + level;
    $("problems").replaceChildren(...problems.map(p => el("li", { text: p })));
  }

  function renderTiles(s) {
    setTile("tile-ingested", s.ingested, fmt.format(s.ingested));
    setTile("tile-rate", s.rate, fmt1.format(s.rate));
    setTile("tile-errors", s.error_count, s.error_count === null ? "—" : (s.error_count_capped ? "≥ " : "") + fmt.format(s.error_count));
    setTile("tile-repairs-completed", s.repairs_completed, fmt.format(s.repairs_completed));
    setTile("tile-records-repaired", s.records_repaired, fmt.format(s.records_repaired));
    setTile("tile-hints-pending", s.hints_pending, fmt.format(s.hints_pending));
    setTile("tile-quorum-failures", s.quorum_failures, fmt.format(s.quorum_failures));
    setTile("tile-last-update", s.last_update, clock(s.last_update));
    const lastUpdate = $("last-update");
    lastUpdate.dataset.value = s.last_update;
    lastUpdate.textContent = clock(s.last_update);
    $("figures-as-of").textContent = "figures as of " + clock(s.figures_as_of);
  }

  function renderNodes(s) {
    const replicas = selectedReplicas();
    const rows = s.nodes.map(n => {
      const tr = el("tr", { dataset: { node: n.id }, className: (n.reachable ? "" : "stale") + (replicas.has(n.id) ? " highlight" : "") },
        el("td", {}, el("span", { className: "swatch", style: `background:${colorOf(n.id)}` }), n.id),
        el("td", {}, el("span", { className: "state " + n.state, text: n.state })),
        el("td", { text: n.zone ?? "—" }),
        el("td", { className: "num", dataset: { field: "records" }, text: fmt.format(n.records) }),
        el("td", { className: "num", dataset: { field: "partitions" }, text: String(n.partitions) }),
        el("td", { className: "num", dataset: { field: "disk_bytes" }, title: fmt.format(n.disk_bytes) + " bytes", text: bytes(n.disk_bytes) }),
        el("td", { className: "num", dataset: { field: "ingested" }, text: fmt.format(n.ingested) }),
        el("td", { className: "num", dataset: { field: "repairs_completed" }, text: fmt.format(n.repairs_completed) }),
        el("td", { className: "num", dataset: { field: "hints_pending" }, text: fmt.format(n.hints_pending) }),
        el("td", { title: n.error ?? "", text: clock(n.last_heartbeat) + (n.reachable ? "" : " · stale") }));
      if (chaosEnabled) {
        const button = el("button", { type: "button", className: "chaos-lose", dataset: { node: n.id }, text: `lose ${Math.round(loseFraction * 100)} %` });
        tr.append(el("td", {}, button));
      }
      return tr;
    });
    document.querySelector("#nodes tbody").replaceChildren(...rows);
  }

  function renderPartitions(s) {
    const rows = s.partitions.map(p => {
      const mark = p.status === "in_sync" ? "✓ in sync" : p.status === "differs" ? "✗ differs" : "? unknown";
      const replicas = el("td", { className: "replicas" }, ...p.replicas.map(r => el("span", {
        className: "replica" + (r.present ? "" : " missing") + (r.fresh ? "" : " stale"),
        dataset: { node: r.node },
        title: r.present ? `${r.node}: ${r.records} records, root ${r.root}${r.sealed ? ", sealed" : ""}` : `${r.node}: no copy of this bucket`,
      }, el("span", { className: "swatch", style: `background:${colorOf(r.node)}` }),
        `${r.node} ${r.present ? fmt.format(r.records) : "—"} `, el("code", { text: r.present ? r.root.substring(0, 8) : "" }))));
      return el("tr", {
        dataset: { partition: p.partition, bucket: p.bucket, status: p.status },
        className: p.partition === selected ? "highlight" : "",
      }, el("td", {}, el("a", { href: "#ring", className: "pick", dataset: { partition: p.partition }, text: p.partition })),
        el("td", { text: p.bucket.substring(0, 16).replace("T", " ") }),
        replicas,
        el("td", { className: "sync " + p.status, text: mark }));
    });
    document.querySelector("#partitions tbody").replaceChildren(...rows);
    $("partitions-caption").textContent = s.partitions_total > s.partitions.length
      ? `(newest ${s.partitions.length} of ${s.partitions_total} buckets; equal roots = in sync)`
      : "(each replica's records and Merkle root per bucket; equal roots = in sync)";
  }

  // The partitions of the snapshot, one entry per partition (its buckets share token and replicas).
  function partitionsOnRing() {
    const byName = new Map();
    for (const p of snapshot?.partitions ?? []) {
      if (p.position === null || p.position === undefined || byName.has(p.partition)) continue;
      byName.set(p.partition, { name: p.partition, position: p.position, replicas: p.replicas.map(r => r.node) });
    }
    return [...byName.values()];
  }

  function selectedReplicas() {
    const p = partitionsOnRing().find(x => x.name === selected);
    return new Set(p ? p.replicas : []);
  }

  const point = (fraction, radius) => {
    const angle = fraction * 2 * Math.PI - Math.PI / 2;   // 0 at the top, clockwise
    return [radius * Math.cos(angle), radius * Math.sin(angle)];
  };

  function renderRing() {
    const tokens = $("ring-tokens");
    const legend = $("ring-legend");
    const replicas = selectedReplicas();
    if (ring) {
      const fragment = document.createDocumentFragment();
      for (const member of ring.members) {
        const group = svg("g", { "data-member": member.id, stroke: colorOf(member.id),
          class: "member" + (selected && !replicas.has(member.id) ? " dim" : "") });
        let d = "";
        for (const position of member.positions) {
          const [x1, y1] = point(position, 93);
          const [x2, y2] = point(position, 107);
          d += `M${x1.toFixed(2)} ${y1.toFixed(2)}L${x2.toFixed(2)} ${y2.toFixed(2)}`;
        }
        group.append(svg("path", { d }));
        fragment.append(group);
      }
      tokens.replaceChildren(fragment);
      legend.replaceChildren(...ring.members.map(m => el("li", { dataset: { member: m.id }, className: replicas.has(m.id) ? "highlight" : "" },
        el("span", { className: "swatch", style: `background:${colorOf(m.id)}` }),
        `${m.id} (${m.positions.length} tokens)` + (replicas.has(m.id) ? ` — replica of ${selected}` : ""))));
    }

    const dots = partitionsOnRing().map(p => {
      const [x, y] = point(p.position, 80);
      const dot = svg("circle", { cx: x.toFixed(2), cy: y.toFixed(2), r: p.name === selected ? 6 : 4,
        class: "partition" + (p.name === selected ? " selected" : ""), "data-partition": p.name });
      const title = svg("title");
      title.textContent = `${p.name} → ${p.replicas.join(", ")}`;
      dot.append(title);
      return dot;
    });
    $("ring-partitions").replaceChildren(...dots);

    // The placement walk: from the partition's token clockwise to the first token of each of its replicas.
    const walk = $("ring-walk");
    const chosen = partitionsOnRing().find(p => p.name === selected);
    walk.replaceChildren();
    if (chosen && ring) {
      for (const replica of chosen.replicas) {
        const member = ring.members.find(m => m.id === replica);
        if (!member || member.positions.length === 0) continue;
        const next = member.positions.map(x => (x - chosen.position + 1) % 1).reduce((a, b) => Math.min(a, b), 1);
        const target = (chosen.position + next) % 1;
        const [px, py] = point(chosen.position, 80);
        const [tx, ty] = point(target, 100);
        walk.append(svg("line", { x1: px, y1: py, x2: tx, y2: ty, stroke: colorOf(replica), class: "walk" }));
        walk.append(svg("circle", { cx: tx, cy: ty, r: 4, fill: colorOf(replica), class: "walk-end" }));
      }
    }
    $("ring-caption").textContent = chosen ? chosen.name : ring ? `${ring.virtual_nodes} tokens per member` : "loading ring…";
  }

  async function loadRing(fingerprint) {
    if (!fingerprint || fingerprint === ringFingerprint) return;
    try {
      const response = await fetch("/api/ring", { cache: "no-store" });
      if (!response.ok) return;
      ring = await response.json();
      ringFingerprint = ring.fingerprint;
      renderRing();
    } catch {
      // Tried again on the next refresh.
    }
  }

  function select(partition) {
    selected = selected === partition ? null : partition;
    if (snapshot) {
      renderNodes(snapshot);
      renderPartitions(snapshot);
    }
    renderRing();
  }

  async function refresh() {
    try {
      const response = await fetch("/metrics", { cache: "no-store" });
      if (response.status === 401) loginAgain();
      if (!response.ok) throw new Error("GET /metrics answered " + response.status);
      const s = await response.json();
      fetchError = null;
      if (s.last_update !== lastUpdateSeen) {
        lastUpdateSeen = s.last_update;
        lastChangeAt = Date.now();
      }
      snapshot = s;
      renderTiles(s);
      renderNodes(s);
      renderPartitions(s);
      renderRing();
      loadRing(s.cluster?.ring_fingerprint);
    } catch (e) {
      fetchError = e.message || String(e);
    }
    renderStatus();
    setTimeout(refresh, refreshMs);
  }

  function showResult(kind, text, ok) {
    const box = $("action-result");
    box.hidden = false;
    box.className = "result " + (ok ? "ok" : "bad");
    box.dataset.kind = kind;
    box.replaceChildren(el("strong", { text: kind + ": " }), text);
  }

  // Actions carry the page's antiforgery token; the server refuses them without it (and from any other site).
  const requestToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  // Where an access key is configured and the login has expired: back to the login form, then here.
  function loginAgain() {
    location.assign("/login?ReturnUrl=" + encodeURIComponent(location.pathname));
  }

  async function post(url) {
    const response = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-TOKEN": requestToken } });
    if (response.status === 401) loginAgain();
    const body = await response.json().catch(() => ({}));
    return { ok: response.ok, body };
  }

  async function runDemo(button) {
    button.disabled = true;
    showResult("Run Demo", "writing…", true);
    try {
      const { ok, body } = await post("/api/demo/run");
      const result = ok ? body : body.result ?? body;
      $("action-result").dataset.accepted = result.accepted ?? 0;
      showResult("Run Demo", result.summary ?? body.detail ?? "failed", ok);
    } catch (e) {
      showResult("Run Demo", String(e), false);
    } finally {
      button.disabled = false;
    }
  }

  async function repairNow(button) {
    button.disabled = true;
    showResult("Repair now", "running one anti-entropy round on every up node…", true);
    try {
      const { ok, body } = await post("/api/repair");
      const report = ok ? body : body.report;
      const text = report
        ? `${report.repairs_completed} repairs completed, ${report.records_sent + report.records_received} records shipped, ` +
          `${report.buckets_differing} differing buckets found. ` +
          report.nodes.map(n => n.succeeded ? `${n.node}: ok` : `${n.node}: ${n.error}`).join("; ")
        : body.detail ?? "failed";
      showResult("Repair now", text, ok);
    } catch (e) {
      showResult("Repair now", String(e), false);
    } finally {
      button.disabled = false;
    }
  }

  async function lose(button) {
    const node = button.dataset.node;
    button.disabled = true;
    try {
      const { ok, body } = await post(`/api/chaos/lose?node=${encodeURIComponent(node)}&fraction=${loseFraction}`);
      showResult("Chaos", ok ? `${node} lost ${body.body?.removed ?? "?"} records in ${body.body?.buckets ?? "?"} buckets; anti-entropy will repair them.`
        : body.detail ?? "failed", ok);
    } catch (e) {
      showResult("Chaos", String(e), false);
    } finally {
      button.disabled = false;
    }
  }

  async function queryErrors(event) {
    event.preventDefault();
    const params = new URLSearchParams({
      consistency: $("error-consistency").value,
      minutes: $("error-minutes").value || "60",
      limit: $("error-limit").value || "50",
    });
    if ($("error-source").value.trim()) params.set("source", $("error-source").value.trim());
    if ($("error-contains").value.trim()) params.set("contains", $("error-contains").value.trim());
    const status = $("error-status");
    status.textContent = "querying…";
    try {
      const response = await fetch("/api/errors?" + params, { cache: "no-store" });
      const body = await response.json();
      if (!response.ok) {
        status.textContent = body.detail ?? ("answered " + response.status);
        return;
      }
      const result = body.result;
      const records = result.records ?? [];
      status.textContent = `${records.length} records through ${body.answered_by} at ${body.consistency}` +
        (result.partial ? ` — partial: ${(result.incomplete_partitions ?? []).join(", ")} could not reach ${body.consistency}` : "");
      status.dataset.count = String(records.length);
      document.querySelector("#error-results tbody").replaceChildren(...records.map(r => el("tr", { dataset: { id: r.id } },
        el("td", { text: r.timestamp.replace("T", " ").substring(0, 23) }),
        el("td", { text: r.source }),
        el("td", {}, el("span", { className: "level " + r.level, text: r.level })),
        el("td", { text: r.message }))));
    } catch (e) {
      status.textContent = String(e);
    }
  }

  document.addEventListener("click", event => {
    const target = event.target.closest("button, a.pick, circle.partition");
    if (!target) return;
    if (target.id === "run-demo") runDemo(target);
    else if (target.id === "repair-now") repairNow(target);
    else if (target.classList.contains("chaos-lose")) lose(target);
    else if (target.dataset.partition) {
      event.preventDefault();
      select(target.dataset.partition);
    }
  });
  $("error-query").addEventListener("submit", queryErrors);
  setInterval(renderStatus, 1000);   // staleness shows even while /metrics hangs
  refresh();
})();
