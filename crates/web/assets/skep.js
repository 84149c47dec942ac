// Skep web UIs: progressive enhancement only (every page works without this script), wired by
// data-* attributes because the Content-Security-Policy allows no inline script.
"use strict";
(function () {
  // <input data-json-search> inside .json-view: show only rows whose text matches.
  function wireJsonSearch(input) {
    var view = input.closest(".json-view");
    if (!view) return;
    input.addEventListener("input", function () {
      var query = input.value.trim().toLowerCase();
      var rows = view.querySelectorAll(".json-tree li");
      rows.forEach(function (row) { row.hidden = false; row.classList.remove("jv-hit"); });
      if (!query) return;
      rows.forEach(function (row) {
        if (row.textContent.toLowerCase().indexOf(query) === -1) { row.hidden = true; return; }
        if (row.classList.contains("jv-row")) {
          row.classList.add("jv-hit");
          for (var up = row.parentElement; up && up !== view; up = up.parentElement) {
            if (up.tagName === "DETAILS") up.open = true;
          }
        }
      });
    });
  }

  // <input data-filter="listId">: hides [data-filter-text] items of #listId not matching.
  function wireFilter(input) {
    var list = document.getElementById(input.getAttribute("data-filter"));
    if (!list) return;
    var items = list.querySelectorAll("[data-filter-text]");
    var count = document.getElementById(input.getAttribute("data-filter") + "-count");
    function apply() {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      items.forEach(function (item) {
        var text = item.getAttribute("data-filter-text").toLowerCase();
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        item.hidden = !match;
        if (match) shown += 1;
      });
      if (count) count.textContent = String(shown);
    }
    input.addEventListener("input", apply);
    if (input.value) apply();
  }

  // <div id=X data-live="on" data-live-url="/path">: re-fetches the page part every 3 s while
  // the server says it may still change (the fetched part carries data-live="off" when done).
  function wireLive(element) {
    var url = element.getAttribute("data-live-url") || window.location.href;
    var timer = window.setInterval(function () {
      if (element.getAttribute("data-live") !== "on") { window.clearInterval(timer); return; }
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { "X-Skep-Fragment": "1" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (text) {
          if (text === null) return;
          var parsed = new DOMParser().parseFromString(text, "text/html");
          var fresh = parsed.getElementById(element.id);
          if (!fresh) return;
          element.replaceChildren.apply(element, Array.prototype.slice.call(fresh.childNodes).map(function (node) {
            return document.importNode(node, true);
          }));
          element.setAttribute("data-live", fresh.getAttribute("data-live") || "off");
          wire(element);
        })
        .catch(function () { /* offline for a moment: the next tick tries again */ });
    }, 3000);
  }

  // <button data-copy="id">: copies the text of #id.
  function wireCopy(button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    });
  }

  // Wires the behaviours inside `root` (also the parts a live refresh brought in).
  function wire(root) {
    root.querySelectorAll("[data-json-search]").forEach(wireJsonSearch);
    root.querySelectorAll("[data-filter]").forEach(wireFilter);
    root.querySelectorAll("button[data-copy]").forEach(wireCopy);
  }

  function start() {
    wire(document);
    document.querySelectorAll("[data-live]").forEach(wireLive);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
