// Pinned reports on the dashboard: each box fetches its body (chart data, table, "data as of") after the
// page has loaded, then draws its chart from the json_script block it contains. No inline script (strict CSP).
(function () {
  "use strict";
  function drawIn(box) {
    if (typeof Plotly === "undefined") { return; }
    box.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = box.querySelector('script[type="application/json"]#' + CSS.escape(el.getAttribute("data-chart")));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      var layout = Object.assign({ autosize: true }, figure.layout || {});
      Plotly.newPlot(el, figure.data || [], layout, { responsive: true, displaylogo: false });
    });
  }
  function load(box) {
    var loading = box.querySelector(".pinned-loading");
    fetch(box.getAttribute("data-pinned-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.text();
      })
      .then(function (html) {
        if (loading) { loading.remove(); }
        var body = document.createElement("div");
        body.className = "pinned-report-body";
        body.innerHTML = html;  // the server's own escaped template; its JSON script is data, never run
        box.appendChild(body);
        drawIn(box);
      })
      .catch(function (error) {
        if (loading) { loading.textContent = "This report could not be loaded (" + error.message + ")."; }
      });
  }
  function start() {
    document.querySelectorAll("[data-pinned-url]").forEach(load);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
