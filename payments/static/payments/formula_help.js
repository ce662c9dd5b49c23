// The variables and functions beside a payment plan's formula fields: filtered as one types, and
// fetched again for the benefit plan chosen (each plan has its own custom fields).
(function () {
  "use strict";
  function cell(tag, text, code) {
    var element = document.createElement(tag);
    if (code) {
      var inner = document.createElement("code");
      inner.textContent = text;
      element.appendChild(inner);
    } else {
      element.textContent = text;
    }
    return element;
  }
  function table(id, headings, rows) {
    var element = document.createElement("table");
    element.id = id;
    var head = element.createTHead().insertRow();
    headings.forEach(function (h) { head.appendChild(cell("th", h)); });
    var body = element.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      tr.setAttribute("data-name", row[0]);
      row.slice(1).forEach(function (value, index) { tr.appendChild(cell("td", value, index === 0)); });
    });
    return element;
  }
  function list(id, items) {
    var element = document.createElement("ul");
    element.id = id;
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.appendChild(cell("code", item[0]));
      li.appendChild(document.createTextNode(": " + item[1]));
      element.appendChild(li);
    });
    return element;
  }
  function render(body, help) {
    body.textContent = "";
    var intro = document.createElement("p");
    intro.appendChild(document.createTextNode("Variables of "));
    intro.appendChild(cell("strong", help.plan));
    intro.appendChild(document.createTextNode(", with their types; data.… are custom fields. "));
    var label = document.createElement("label");
    label.appendChild(document.createTextNode("Find: "));
    var find = document.createElement("input");
    find.type = "search";
    find.id = "formula-help-find";
    label.appendChild(find);
    intro.appendChild(label);
    body.appendChild(intro);
    body.appendChild(table("formula-variables", ["Variable", "Type", "Meaning"],
      help.variables.map(function (v) { return [v.name, v.name, v.type, v.description]; })));
    body.appendChild(cell("h3", "Functions"));
    body.appendChild(table("formula-functions", ["Function", "Arguments", "Gives"],
      help.functions.map(function (f) { return [f.name, f.signature, f.arguments, f.description]; })));
    body.appendChild(cell("h3", "Operators"));
    body.appendChild(list("formula-operators", help.operators.map(function (o) { return [o.operator, o.description]; })));
    body.appendChild(cell("h3", "Examples"));
    body.appendChild(list("formula-examples", help.examples.map(function (e) { return [e.expression, e.description]; })));
    bindFind(body);
  }
  function bindFind(body) {
    var find = body.querySelector("#formula-help-find");
    if (!find) { return; }
    find.addEventListener("input", function () {
      var needle = find.value.trim().toLowerCase();
      body.querySelectorAll("#formula-variables tbody tr").forEach(function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) === -1;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("formula-help");
    if (!box) { return; }
    var body = document.getElementById("formula-help-body");
    bindFind(body);
    var select = document.getElementById("id_benefit_plan");
    if (!select) { return; }
    select.addEventListener("change", function () {
      if (!select.value) { return; }
      var url = box.getAttribute("data-help-url").replace(/\/0\/$/, "/" + encodeURIComponent(select.value) + "/");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (help) { if (help) { render(body, help); } });
    });
  });
})();
