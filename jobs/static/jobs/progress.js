// Polls a job's progress.json and moves its progress bar, without reloading the page.
// Any element with data-progress-url on the page is followed until the job finishes.
(function () {
  "use strict";
  function fmt(n) { return n === null || n === undefined ? "" : Number(n).toLocaleString(); }
  function follow(el) {
    var url = el.getAttribute("data-progress-url");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { setTimeout(tick, 3000); return; }  // a busy or restarting server: try again
          document.querySelectorAll('[data-job-progress="' + p.id + '"] .progress-bar').forEach(function (bar) {
            bar.style.width = p.percent + "%";
          });
          var text = fmt(p.done) + (p.total ? " / " + fmt(p.total) : "") + " — " + p.state_label;
          if (p.rate) { text += " — " + fmt(p.rate) + "/s"; }
          if (p.seconds_left !== null) { text += " — about " + p.seconds_left + " s left"; }
          if (p.message) { text += " — " + p.message; }
          document.querySelectorAll('[data-job-text="' + p.id + '"]').forEach(function (t) { t.textContent = text; });
          el.setAttribute("data-state", p.state);
          if (!p.finished) { setTimeout(tick, 1000); }
          else if (el.hasAttribute("data-reload-when-done")) { window.location.reload(); }
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]").forEach(follow);
  });
})();
