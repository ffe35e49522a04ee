// Small conveniences; every form works without them.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // The tenant switcher applies on change.
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // "Select every row on this page" in a bulk list.
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("#bulk-form input[name=ids]").forEach(function (box) { box.checked = all.checked; });
      });
    }
  });
})();
