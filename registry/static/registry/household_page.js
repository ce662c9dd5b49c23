// The household page: add a member row (button or Alt+Shift+M) from the empty-row template, focus it,
// and dim rows marked for removal. Without script the page still works: rows are added by saving.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("household-page");
    var template = document.getElementById("member-empty-row");
    var rows = document.getElementById("member-rows");
    var button = document.getElementById("member-add");
    if (!form || !template || !rows || !button) { return; }
    var total = form.querySelector("input[name='" + form.getAttribute("data-total-forms") + "']");

    function addRow() {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var row = holder.firstElementChild;
      var number = row.querySelector(".row-number");
      if (number) { number.textContent = String(index + 1); }
      rows.appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector("input:not([type=hidden]), select");
      if (first) { first.focus(); }
    }

    button.addEventListener("click", addRow);
    document.addEventListener("keydown", function (event) {
      if (event.altKey && event.shiftKey && (event.key === "M" || event.key === "m")) {
        event.preventDefault();
        addRow();
      }
    });
    rows.addEventListener("change", function (event) {
      var target = event.target;
      if (target && target.name && /-DELETE$/.test(target.name)) {
        target.closest(".member-row").classList.toggle("removed", target.checked);
      }
    });
  });
})();
