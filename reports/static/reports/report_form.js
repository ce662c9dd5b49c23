// The report form: the groupings offered are those of the chosen dataset (one <optgroup> per dataset,
// labelled like the dataset's option). The server checks the choice anyway; this only narrows the lists.
(function () {
  "use strict";
  function narrow() {
    var dataset = document.getElementById("id_dataset");
    if (!dataset || dataset.selectedIndex < 0) { return; }
    var label = dataset.options[dataset.selectedIndex].text;
    ["id_group_by", "id_series_by"].forEach(function (id) {
      var select = document.getElementById(id);
      if (!select) { return; }
      var wanted = select.value;
      select.querySelectorAll("optgroup").forEach(function (group) {
        var off = Boolean(dataset.value) && group.label !== label;
        group.disabled = off;
        group.hidden = off;
      });
      var current = select.options[select.selectedIndex];
      if (current && current.parentNode.disabled) {
        // The same grouping in the dataset now chosen, if it has it; else none.
        var same = Array.prototype.find.call(select.options, function (option) {
          return option.value === wanted && !option.parentNode.disabled;
        });
        select.value = "";
        if (same) { same.selected = true; }
      }
    });
  }
  function start() {
    var dataset = document.getElementById("id_dataset");
    if (!dataset) { return; }
    dataset.addEventListener("change", narrow);
    narrow();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
