// The study view's first request, sent while the app's script is still being fetched and
// compiled (a few hundred ms on a cold page): the server starts reading the study at once. The
// app takes the response over (dashboard/src/api.ts earlyJson). A classic script of its own file:
// the page's policy allows no inline script.
(function () {
  var m = /^#\/study\/([1-9][0-9]{0,15})\/?$/.exec(location.hash);
  if (!m || typeof fetch !== 'function') return;
  var path = '/api/studies/' + m[1] + '/head';
  var response = fetch(path, { headers: { accept: 'application/json' } });
  // a failure is the app's to report, when it takes the response over
  response.catch(function () {});
  window.tsnasEarly = { path: path, response: response };
})();
