// Copy buttons beside read-only fields: a button with data-copy="ID" copies
// the value of the field with that id. Without JavaScript, or without the
// clipboard (plain http), the buttons stay hidden and the fields can be
// selected and copied by hand; a click in one selects it whole.
(function () {
  'use strict';
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var field = document.getElementById(button.getAttribute('data-copy'));
    if (!field) return;
    field.addEventListener('focus', function () { field.select(); });
    if (!navigator.clipboard || !window.isSecureContext) return;
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = 'Copied';
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () { field.focus(); });
    });
  });
})();
