// Keeps a payroll's issued / paid / failed / pending / held figures current while the provider reports.
(function () {
  "use strict";
  function follow(table) {
    var url = table.getAttribute("data-figures-url");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (figures) {
          if (!figures) { return; }
          document.querySelectorAll("[data-figure]").forEach(function (cell) {
            var value = cell.getAttribute("data-figure").split(".").reduce(function (o, k) { return o ? o[k] : null; }, figures);
            if (value !== null && value !== undefined) { cell.textContent = Number.isFinite(value) ? value.toLocaleString() : value; }
          });
          setTimeout(tick, 5000);
        })
        .catch(function () { setTimeout(tick, 10000); });
    }
    setTimeout(tick, 5000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-figures-url]").forEach(follow);
  });
})();
