// Draws every dashboard chart: each <div data-chart="ID"> gets the Plotly figure from the
// <script type="application/json" id="ID"> that Django's json_script wrote. No inline script (strict CSP).
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source || source.type !== "application/json") { return; }
      var figure = JSON.parse(source.textContent);
      var layout = Object.assign({ autosize: true }, figure.layout || {});
      Plotly.newPlot(el, figure.data || [], layout, { responsive: true, displaylogo: false });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
