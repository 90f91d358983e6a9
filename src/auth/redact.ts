// Query parameters that can carry a secret: OAuth2-style clients may put them in a URL, and a URL
// goes to the access log.
const SECRET_PARAMS = /^(password|refresh_token|access_token|token|client_secret)$/i;

/** The request target with the values of secret query parameters replaced, for logs. */
export function redactQuery(target: string): string {
  const q = target.indexOf('?');
  if (q === -1) return target;
  const params = target.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // A malformed escape is logged as sent.
    }
    return eq !== -1 && SECRET_PARAMS.test(decoded) ? `${name}=REDACTED` : pair;
  });
  return `${target.slice(0, q)}?${params.join('&')}`;
}
