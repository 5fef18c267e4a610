// Refreshes the member table every second from the dashboard's /api/cluster, without reloading the page.
(() => {
  const status = document.getElementById("status");
  const body = document.querySelector("#members tbody");
  const updated = document.getElementById("updated");
  const cell = (text, cls) => {
    const td = document.createElement("td");
    if (cls) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    return td;
  };
  const time = iso => new Date(iso).toISOString().substring(11, 23);

  async function refresh() {
    try {
      const response = await fetch("/api/cluster", { cache: "no-store" });
      const report = await response.json();
      const cluster = report.cluster;
      if (!cluster) {
        status.className = "status bad";
        status.textContent = "No node answers: " + report.errors.join("; ");
        return;
      }
      status.className = "status " + (cluster.degraded ? "warn" : "ok");
      status.textContent = `Cluster ${cluster.cluster}, answered by ${cluster.node_id}; replication factor ${cluster.replication_factor}, ` +
        `${cluster.ring.virtual_nodes} virtual nodes per member, ring ${cluster.ring.fingerprint}.` +
        (cluster.degraded ? " Membership store unreachable: this view may be stale." : "");
      const rows = cluster.members.map(m => {
        const tr = document.createElement("tr");
        tr.dataset.node = m.id;
        tr.append(cell(m.id), cell(m.state, "state " + m.state), cell(m.zone ?? "—"), cell(m.address),
          cell((m.ownership * 100).toFixed(1) + " %"), cell(time(m.last_heartbeat)), cell(String(m.incarnation)));
        return tr;
      });
      body.replaceChildren(...rows);
      updated.textContent = time(report.fetched_at).substring(0, 8);
    } catch (e) {
      status.className = "status bad";
      status.textContent = "Dashboard server unreachable; figures are stale (" + e + ")";
    }
  }
  setInterval(refresh, 1000);
})();
