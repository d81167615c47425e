// The filter box: shown only when this runs (the page reads fine without it); hides every
// [data-filter] item whose text does not contain what was typed.
(function () {
  var box = document.getElementById("filter-box");
  var input = document.getElementById("filter");
  if (!box || !input) { return; }
  box.hidden = false;
  var items = document.querySelectorAll("[data-filter]");
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase();
    for (var i = 0; i < items.length; i++) {
      var text = (items[i].getAttribute("data-filter") || "").toLowerCase();
      items[i].hidden = q !== "" && text.indexOf(q) < 0;
    }
  });
})();
