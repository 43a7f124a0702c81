/**
 * Only the scheduler's own stylesheet and scripts (no inline script, no eval), websockets and
 * fetches to this origin only, forms posted here only, never framed.
 */
export const DASHBOARD_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
