/* Live progress of long work (an analytics run): while the element with data-progress-url is
   active, ask its status every 1.5 s and show it; when it finishes, reload the page for the final
   state. Without JavaScript the page refreshes itself (a <noscript> meta refresh). */
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || !box.dataset.active) return;
  var words = JSON.parse((document.getElementById("progress-words") || {}).textContent || "{}");
  function show(p) {
    box.querySelector("[data-status]").textContent = p.status_label;
    var bar = box.querySelector("[data-bar]");
    bar.max = p.total || 1; bar.value = p.done;
    if (words.count) box.querySelector("[data-count]").textContent =
      words.count.replace("%(done)s", p.done).replace("%(total)s", p.total);
    p.steps.forEach(function (step) {
      var row = box.querySelector('[data-step="' + step.name + '"]');
      if (row && step.done && row.cells[0].textContent.indexOf("✓") !== 0) row.cells[0].textContent = "✓ " + step.name;
    });
  }
  function poll() {
    fetch(box.dataset.progressUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        show(p);
        if (p.active) setTimeout(poll, 1500); else window.location.reload();
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
