// Live updates of the dashboard: the server renders each section and sends
// it over server-sent events; this script only swaps the sections in. The
// page works without it, as of when it was loaded.
(function () {
  'use strict';
  var badge = document.getElementById('live');
  if (!window.EventSource) {
    return;
  }
  var source = new EventSource('/dashboard/stream');
  source.addEventListener('update', function (ev) {
    var sections;
    try {
      sections = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    Object.keys(sections).forEach(function (name) {
      var el = document.querySelector('[data-live="' + name + '"]');
      if (el) {
        el.innerHTML = sections[name];
      }
    });
    if (badge) {
      badge.textContent = 'live';
      badge.className = 'live on';
    }
  });
  source.addEventListener('error', function () {
    if (badge) {
      badge.textContent = 'reconnecting…';
      badge.className = 'live off';
    }
  });
  window.addEventListener('pagehide', function () {
    source.close();
  });
})();
