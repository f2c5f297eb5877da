/* The segment builder, enhanced: add and remove conditions and groups in place, value lists for
   fields with choices, and a live count of the customers the rows select (the same form fields the
   page posts without JavaScript, sent to the count endpoint). No framework: a few DOM calls. */
(function () {
  "use strict";
  var form = document.getElementById("segment-builder");
  if (!form) return;
  var catalog = JSON.parse(document.getElementById("builder-catalog").textContent);
  var words = JSON.parse(document.getElementById("builder-words").textContent);
  var byName = {};
  catalog.forEach(function (f) { byName[f.name] = f; });
  var groups = form.querySelector("[data-groups]");
  var countOut = form.querySelector("[data-count]");
  var sentence = form.querySelector("[data-sentence]");
  var timer = null, serial = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function option(value, label, selected) {
    var o = el("option", {value: value, text: label});
    if (selected) o.selected = true;
    return o;
  }

  function valueWidget(field, operator, current) {
    var f = byName[field];
    if (f && f.choices) {
      var select = el("select", {"aria-label": words.value});
      if (operator === "in" || operator === "not_in") { select.multiple = true; select.size = 4; }
      f.choices.forEach(function (c) { select.appendChild(option(c.value, c.label, current.indexOf(c.value) >= 0)); });
      return select;
    }
    var input = el("input", {type: f && f.kind === "date" ? "date" : "text", "aria-label": words.value});
    if (f && (f.kind === "int" || f.kind === "number" || f.kind === "days_ago")) input.setAttribute("inputmode", "decimal");
    if (current.length) input.value = current[0];
    return input;
  }

  function refreshRow(row, fieldChanged) {
    var field = row.querySelector("[data-field]").value;
    var opSelect = row.querySelector("[data-operator]");
    var f = byName[field];
    if (fieldChanged) {
      var previous = opSelect.value;
      opSelect.innerHTML = "";
      (f ? f.operators : []).forEach(function (op) { opSelect.appendChild(option(op.name, op.label, op.name === previous)); });
    }
    var operator = opSelect.value;
    var holder = row.querySelector("[data-value]");
    var old = holder.querySelector("select, input");
    var current = old ? Array.prototype.map.call(old.tagName === "SELECT" ? old.selectedOptions : [old], function (o) { return o.value; }) : [];
    holder.innerHTML = "";
    var widget = valueWidget(field, operator, fieldChanged ? [] : current);
    widget.hidden = operator === "is_empty";
    holder.appendChild(widget);
    var upper = row.querySelector("[data-value2]");
    upper.hidden = operator !== "between";
    upper.querySelector("input").type = f && f.kind === "date" ? "date" : "text";
  }

  function newRow() {
    var field = el("select", {"data-field": "", "aria-label": words.field}, [option("", words.choose, true)]);
    catalog.forEach(function (f) { field.appendChild(option(f.name, f.label, false)); });
    var row = el("div", {"class": "builder-row", "data-row": ""}, [
      field,
      el("select", {"data-operator": "", "aria-label": words.comparison}),
      el("span", {"data-value": ""}),
      el("span", {"data-value2": "", hidden: ""}, [document.createTextNode(words.and + " "), el("input", {type: "text", "aria-label": words.upper})]),
      el("button", {type: "button", "class": "link", "data-remove-row": "", text: words.remove}),
    ]);
    refreshRow(row, true);
    return row;
  }

  function newGroup() {
    var op = el("select", {"data-group-op": "", "aria-label": words.combine},
                [option("and", words.all, true), option("or", words.any, false)]);
    return el("fieldset", {"class": "builder-group", "data-group": ""}, [
      el("legend"), el("label", {"class": "inline"}, [op]),
      el("div", {"data-rows": ""}, [newRow()]),
      el("button", {type: "button", "data-add-row": "", text: words.add}),
    ]);
  }

  function renumber() {
    Array.prototype.forEach.call(groups.querySelectorAll("[data-group]"), function (group, g) {
      group.querySelector("legend").textContent = words.group.replace("%(n)s", g + 1);
      group.querySelector("[data-group-op]").name = "g" + g + "-op";
      Array.prototype.forEach.call(group.querySelectorAll("[data-row]"), function (row, r) {
        var p = "g" + g + "-r" + r + "-";
        row.querySelector("[data-field]").name = p + "field";
        row.querySelector("[data-operator]").name = p + "operator";
        var value = row.querySelector("[data-value] select, [data-value] input");
        if (value) value.name = p + "value";
        row.querySelector("[data-value2] input").name = p + "value2";
      });
    });
  }

  function count() {
    var mine = ++serial;
    var data = new FormData(form);
    fetch(form.dataset.countUrl, {method: "POST", body: data, credentials: "same-origin",
                                  headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (mine !== serial) return;  // an older answer arriving late
        countOut.innerHTML = "";
        if (result.error) countOut.appendChild(el("span", {"class": "error", text: result.error}));
        else countOut.appendChild(el("strong", {text: result.text}));
        sentence.textContent = result.sentence || "";
      })
      .catch(function () { if (mine === serial) countOut.textContent = words.error; });
  }

  function changed() {
    renumber();
    clearTimeout(timer);
    timer = setTimeout(count, 350);
  }

  form.addEventListener("change", function (event) {
    var row = event.target.closest("[data-row]");
    if (row && event.target.matches("[data-field]")) refreshRow(row, true);
    else if (row && event.target.matches("[data-operator]")) refreshRow(row, false);
    changed();
  });
  form.addEventListener("input", function (event) { if (event.target.matches("input[type=text]")) changed(); });
  form.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches("[data-add-row]")) {
      target.parentNode.querySelector("[data-rows]").appendChild(newRow());
      changed();
    } else if (target.matches("[data-remove-row]")) {
      var group = target.closest("[data-group]");
      target.closest("[data-row]").remove();
      if (!group.querySelector("[data-row]")) {
        if (groups.querySelectorAll("[data-group]").length > 1) group.remove();
        else group.querySelector("[data-rows]").appendChild(newRow());
      }
      changed();
    } else if (target.matches("[data-add-group]")) {
      event.preventDefault();
      groups.appendChild(newGroup());
      changed();
    } else if (target.matches("[data-preview]")) {
      event.preventDefault();
      renumber();
      count();
    }
  });
  Array.prototype.forEach.call(form.querySelectorAll("[data-remove-row], [data-add-row]"), function (b) { b.hidden = false; });
  Array.prototype.forEach.call(form.querySelectorAll("[data-row]"), function (row) {
    var value = row.querySelector("[data-value] select, [data-value] input");
    if (value && row.querySelector("[data-operator]").value === "is_empty") value.hidden = true;
  });
  renumber();
})();
