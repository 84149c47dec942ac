// Skep cases UI: the few behaviours a page gains with JavaScript, wired by data-* attributes
// (the Content-Security-Policy allows no inline script). Every page works without it.
"use strict";
(function () {
  // <input type=checkbox data-select-all="name">: ticks every box named `name` on the page.
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (other) {
        other.checked = box.checked;
      });
    });
  });

  // [data-edit-target=id]: a click (or Enter) on the rendered text opens the <details id> editor
  // below it and focuses its first field, so the text is edited where it is read.
  document.querySelectorAll("[data-edit-target]").forEach(function (shown) {
    var editor = document.getElementById(shown.getAttribute("data-edit-target"));
    if (!editor) return;
    shown.tabIndex = 0;
    shown.title = "Click to edit";
    function open(event) {
      if (event.target.closest("a")) return;
      editor.open = true;
      var field = editor.querySelector("textarea, input:not([type=hidden])");
      if (field) field.focus();
    }
    shown.addEventListener("click", open);
    shown.addEventListener("keydown", function (event) { if (event.key === "Enter") open(event); });
  });

  // <ol data-feed="/activity/events">: prepends every activity event as it happens. The
  // browser's EventSource reconnects by itself and sends Last-Event-ID, so the server replays
  // what was missed; ids already shown are skipped.
  var feed = document.querySelector("[data-feed]");
  if (feed && window.EventSource) {
    var seen = {};
    feed.querySelectorAll("[data-event-id]").forEach(function (item) { seen[item.getAttribute("data-event-id")] = true; });
    var state = document.getElementById("feed-state");
    var source = new EventSource(feed.getAttribute("data-feed"));
    source.onopen = function () { if (state) state.textContent = "live"; };
    source.onerror = function () { if (state) state.textContent = "reconnecting…"; };
    source.addEventListener("activity", function (event) {
      if (seen[event.lastEventId]) return;
      seen[event.lastEventId] = true;
      var data;
      try { data = JSON.parse(event.data); } catch (error) { return; }
      var item = document.createElement("li");
      item.className = "feed-item";
      item.setAttribute("data-event-id", event.lastEventId);
      var when = document.createElement("span");
      when.className = "muted";
      when.textContent = data.when + " · " + data.user + " · ";
      item.appendChild(when);
      var what = document.createElement(data.href ? "a" : "span");
      if (data.href && data.href.charAt(0) === "/" && data.href.charAt(1) !== "/") what.href = data.href;
      what.textContent = data.text;
      item.appendChild(what);
      feed.insertBefore(item, feed.firstChild);
      var empty = document.getElementById("feed-empty");
      if (empty) empty.remove();
    });
  }
})();
