// The flags both browser drivers launch Debian's headless Chromium with: no sandbox (root in CI), no
// GPU, and none of Chromium's own network traffic (updates, sync, QUIC), so every request a page makes
// is one the driver sees and can abort.
"use strict";

module.exports = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-default-apps", "--disable-extensions",
];
