/** One request-based canary rule from the stack file (`canary.match`): exactly one of header, cookie, query. */
export interface CanaryMatch {
  header?: string;
  cookie?: string;
  query?: string;
  value: string;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Gateway API HTTPRouteMatches sending matching requests to the canary: one per rule (any one matching
 * is enough), each inside the service's path prefix. The Gateway API has no cookie match, so a cookie is
 * a regular-expression match on the Cookie header that finds `name=value` between the header's `; `.
 */
export function httpRouteMatches(pathPrefix: string, matches: CanaryMatch[]): object[] {
  const path = { type: "PathPrefix", value: pathPrefix };
  return matches.map((m) => {
    if (m.header) return { path, headers: [{ type: "Exact", name: m.header, value: m.value }] };
    if (m.query) return { path, queryParams: [{ type: "Exact", name: m.query, value: m.value }] };
    return { path, headers: [{ type: "RegularExpression", name: "Cookie", value: `(^|;\\s*)${escapeRegex(m.cookie!)}=${escapeRegex(m.value)}(;|$)` }] };
  });
}

/**
 * ingress-nginx canary annotations for the matches it supports (the config schema refuses the rest): a
 * header equal to a value, and a cookie set to `always`. ingress-nginx checks them before the weight.
 */
export function nginxCanaryMatchAnnotations(matches: CanaryMatch[]): Record<string, string> {
  const header = matches.find((m) => m.header);
  const cookie = matches.find((m) => m.cookie);
  return {
    ...(header ? { "nginx.ingress.kubernetes.io/canary-by-header": header.header!, "nginx.ingress.kubernetes.io/canary-by-header-value": header.value } : {}),
    ...(cookie ? { "nginx.ingress.kubernetes.io/canary-by-cookie": cookie.cookie! } : {}),
  };
}
