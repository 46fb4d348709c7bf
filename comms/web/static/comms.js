// The site's one script. The Content-Security-Policy allows no inline script, so every page's
// behaviour lives here, switched on by the elements the page has; URLs come from data-* attributes.
"use strict";

// Read a progress address and hand its JSON to `use`. A request that fails (a busy or restarting
// server) is tried again a little later, so a page following work never stops following it.
function followJSON(url, use) {
  fetch(url, {headers: {"Accept": "application/json"}})
    .then(function (answer) { return answer.json(); })
    .then(use, function () { setTimeout(function () { followJSON(url, use); }, 3000); });
}

// A bulk link, merge or solve: follow its progress, then show the section again with its outcome.
(function () {
  const box = document.getElementById("operation");
  if (!box || !["queued", "running"].includes(box.dataset.state)) return;
  const poll = () => followJSON(box.dataset.url, (data) => {
    document.getElementById("operation-state").textContent = data.state;
    const bar = document.getElementById("operation-progress");
    bar.max = data.total || 1; bar.value = data.done;
    document.getElementById("operation-count").textContent = data.done + " / " + data.total;
    if (data.state === "queued" || data.state === "running") { setTimeout(poll, 1000); return; }
    window.location.reload();
  });
  setTimeout(poll, 800);
})();

// Contacts: filter the table as you type, search organisations by name, follow a refresh.
(function () {
  const filter = document.getElementById("contact-filter");
  if (filter) {
    filter.addEventListener("input", function () {
      const needle = filter.value.trim().toLowerCase();
      document.querySelectorAll("#contact-table tbody tr").forEach(function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) === -1;
      });
    });
  }
  const box = document.getElementById("org-q"), results = document.getElementById("org-results");
  if (box) {
    let timer = null;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        const q = box.value.trim();
        if (q.length < 2) { results.textContent = ""; return; }
        fetch(box.dataset.url + "?q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"}})
          .then(function (r) { return r.json(); })
          .then(function (data) {
            results.textContent = "";
            if (data.message) { results.textContent = data.message; return; }
            if (!data.organizations.length) { results.textContent = "No organisation starts with that."; return; }
            data.organizations.forEach(function (org) {
              const button = document.createElement("button");
              button.type = "submit"; button.name = "organization_id"; button.value = org.id;
              button.className = "secondary"; button.disabled = org.affected;
              button.textContent = org.name + (org.priority ? " (priority client)" : "") + (org.affected ? " (already affected)" : "");
              results.appendChild(button); results.appendChild(document.createTextNode(" "));
            });
          })
          .catch(function () { results.textContent = "The search did not answer; try again."; });
      }, 250);
    });
  }
  const progress = document.getElementById("contacts-progress");
  if (progress && progress.dataset.url) {
    const poll = () => followJSON(progress.dataset.url, (job) => {
      if (!job.running) { window.location.reload(); return; }
      progress.textContent = "Reading the contacts from Zendesk: " + job.done + " of " + (job.total || "?") + " organisations… " + (job.note || "");
      setTimeout(poll, 1000);
    });
    setTimeout(poll, 1000);
  }
})();

// Updates: the countdown, the live preview, and the delivery counts while a send is under way.
(function () {
  const countdown = document.getElementById("countdown");
  if (countdown) {
    const due = new Date(countdown.dataset.due);
    const show = () => {
      const seconds = Math.round((due - new Date()) / 1000);
      const span = Math.abs(seconds), m = Math.floor(span / 60), s = span % 60;
      const text = (m >= 60 ? Math.floor(m / 60) + " h " + (m % 60) + " min" : m + " min " + s + " s");
      countdown.textContent = seconds >= 0 ? "in " + text : text + " overdue";
    };
    show(); setInterval(show, 1000);
  }

  const message = document.getElementById("update-message");
  const contact = document.getElementById("preview-contact");
  const document_form = document.getElementById("preview-form");
  if (message && document_form) {
    let timer = null;
    const render = async () => {
      const status = document.getElementById("preview-status");
      const response = await fetch(message.dataset.previewUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRFToken": document_form.elements.csrf_token.value},
        body: JSON.stringify({message: message.value, email: contact ? contact.value : ""}),
      });
      const body = await response.json();
      if (!response.ok) { status.textContent = body.message; status.className = "overdue"; return; }
      status.textContent = "Subject: " + body.subject; status.className = "";
      const headers = document.getElementById("preview-headers");
      headers.replaceChildren();
      for (const [name, value] of Object.entries(body.headers)) {
        const dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = name; dd.textContent = value; headers.append(dt, dd);
      }
      document.getElementById("preview-text").textContent = body.text;
      // The HTML part is loaded as its own document (with the e-mail's inline styles allowed
      // there only), not as srcdoc, which would inherit this page's policy.
      document_form.elements.message.value = message.value;
      document_form.elements.email.value = contact ? contact.value : "";
      document_form.submit();
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(render, 400); };
    message.addEventListener("input", later);
    if (contact) contact.addEventListener("change", later);
    render();
  }

  const history = document.getElementById("update-history");
  if (history && history.dataset.progressUrl) {
    const poll = () => followJSON(history.dataset.progressUrl, (body) => {
      for (const update of body.updates) {
        const row = history.querySelector('tr[data-update="' + update.number + '"]');
        if (!row) continue;
        for (const state of ["sent", "retrying", "failed", "uncertain", "superseded"]) {
          row.querySelector('[data-state="' + state + '"]').textContent = update.counts[state];
        }
        row.querySelector('[data-state="pending"]').textContent = update.counts.pending + update.counts.sending;
        const waiting = update.counts.pending + update.counts.sending;
        row.querySelector('[data-state="progress"]').textContent = waiting ? "sending…" : "done";
      }
      // Done: say so, then read the page again for the failures and their replies.
      if (body.in_progress) setTimeout(poll, 2000); else setTimeout(function () { location.reload(); }, 3000);
    });
    setTimeout(poll, 1000);
  }
})();

// The demo mailbox shows new mail by reloading itself.
(function () {
  if (document.getElementById("mailbox-page")) setTimeout(function () { window.location.reload(); }, 15000);
})();

// ---- The incident page's Tickets section: select the candidates shown (the filter and
// "all N matching" are the server's, over every page). ----
(function () {
  const table = document.getElementById("candidate-table");
  if (!table) return;
  const boxes = () => Array.from(table.querySelectorAll("tbody input[name=ticket_ids]"));
  const all = document.getElementById("select-all-candidates");
  const matching = document.getElementById("all-matching");
  all.addEventListener("change", function () {
    boxes().forEach(function (box) { box.checked = all.checked; });
    if (!all.checked) matching.checked = false;
  });
  matching.addEventListener("change", function () {
    if (matching.checked) { all.checked = true; boxes().forEach(function (box) { box.checked = true; }); }
  });
})();
