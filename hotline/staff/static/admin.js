// Light progressive enhancement: every page works without it.
(function () {
  "use strict";
  var csrf = document.querySelector('input[name="csrf_token"]');

  // Menus that take effect at once (the interface language); without script a button does it.
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Queue: new complaints appear without reloading (polls every 20 s).
  var queue = document.getElementById("queue");
  if (queue && queue.dataset.poll && Number(queue.dataset.interval) > 0) {
    var latest = Number(queue.dataset.latest || 0);
    var banner = document.getElementById("new-complaints");
    var poll = function () {
      fetch(queue.dataset.poll + "&after=" + latest, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !data.count) { return; }
          latest = data.latest;
          queue.tBodies[0].insertAdjacentHTML("afterbegin", data.html);
          banner.textContent = queue.dataset.newLabel + ": " + data.count;
          banner.hidden = false;
        })
        .catch(function () {});
    };
    setInterval(poll, Number(queue.dataset.interval));
  }

  // Answer box: canned answers fill the text; the SMS count is the server's (the same code that sends).
  var form = document.getElementById("answer-form");
  if (form) {
    var text = document.getElementById("answer-text");
    var out = document.getElementById("segments");
    var canned = document.getElementById("canned");
    var timer = null;
    var count = function () {
      var body = new URLSearchParams({ text: text.value, csrf_token: csrf ? csrf.value : "" });
      fetch(form.dataset.preview, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          out.textContent = d.ok
            ? out.dataset.label.replace("{segments}", d.segments).replace("{max}", d.max_segments).replace("{encoding}", d.encoding).replace("{units}", d.units)
            : d.error;
          out.className = d.ok ? "" : "late";
        })
        .catch(function () {});
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(count, 250); };
    text.addEventListener("input", later);
    if (canned) {
      canned.addEventListener("change", function () { if (canned.value) { text.value = canned.value; count(); } });
    }
  }

  // CSV import: a progress bar while the file uploads, then the server's answer replaces the page.
  var upload = document.getElementById("import-form");
  if (upload && window.XMLHttpRequest) {
    upload.addEventListener("submit", function (event) {
      event.preventDefault();
      var bar = document.getElementById("import-progress");
      var state = document.getElementById("import-state");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", upload.action);
      bar.hidden = false;
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { bar.value = Math.round((100 * e.loaded) / e.total); }
      };
      xhr.upload.onload = function () { bar.value = 100; state.textContent = state.dataset.processing; };
      xhr.onload = function () { document.open(); document.write(xhr.responseText); document.close(); };
      xhr.send(new FormData(upload));
    });
  }
})();
