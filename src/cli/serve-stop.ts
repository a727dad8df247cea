// A graceful stop for `uring serve`: no new connections, idle keep-alive
// connections closed, requests in flight answered to the end; connections
// that outlive STOP_GRACE_MS are cut.
import type http from 'node:http';

const STOP_GRACE_MS = 10_000;

/** Resolves once `server` has closed; `now` cuts every connection at once. */
export function stopGracefully(server: http.Server, now = false): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections();
      resolve();
      return;
    }
    server.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      resolve();
    });
    if (now) server.closeAllConnections();
    // A connection whose response has just ended becomes idle: close those as they appear.
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const cut = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
  });
}
