/** A server address as messages and logs may show it. */

/** `url` without any `user:password@` part and trailing slash; why: errors name the server they could not reach, never its credentials. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid url>';
  }
}
