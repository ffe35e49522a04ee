// Live parts of the admin pages: every element with data-live="<url>" is fetched again every
// data-every seconds and its content swapped in place (no page reload, no build step).
(function () {
  "use strict";
  function refresh(element) {
    fetch(element.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" }, redirect: "error" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && html !== element.dataset.shown) {
          element.innerHTML = html;
          element.dataset.shown = html;
        }
      })
      .catch(function () { /* a missed refresh: the next one tries again */ });
  }
  function start() {
    document.querySelectorAll("[data-live]").forEach(function (element) {
      var seconds = Math.max(1, parseFloat(element.dataset.every) || 5);
      setInterval(function () { if (!document.hidden) { refresh(element); } }, seconds * 1000);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
