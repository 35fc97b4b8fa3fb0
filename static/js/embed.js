// Inside a partner's iframe: tell the host page how tall we are.
(function () {
  'use strict';
  if (window.parent === window) return;
  var last = 0;
  function send() {
    var height = document.documentElement.scrollHeight;
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: 'consultd:resize', height: height }, '*');
  }
  new ResizeObserver(send).observe(document.body);
  window.addEventListener('load', send);
  send();
})();
