'use strict';
// The login page: show why we are back here after a failed attempt (the token itself is never in a URL).
if (new URLSearchParams(location.search).get('login') === 'failed') {
  document.getElementById('login-failed').hidden = false;
}
