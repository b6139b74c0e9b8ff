/**
 * Sends the browser to another site (an OAuth authorization page): the console is left
 * and comes back through the server's redirect. Kept apart so tests can watch it.
 */
export function leaveFor(url: string): void {
  window.location.assign(url);
}
