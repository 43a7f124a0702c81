/**
 * Whether the browser reached us over TLS: on our own TLS socket, or through a proxy that says so
 * in X-Forwarded-Proto (its first value: the hop nearest the browser). It sets the cookies' Secure
 * flag (session-cookie.ts), where a forged header can merely add Secure, which never weakens a
 * cookie (it is then not sent back over plain HTTP); and the scheme of the origin the browser
 * sockets expect (browser-socket.ts), where a forged value only refuses the forger, and a victim's
 * browser cannot be made to send one.
 */
export function reachedOverTls(ownSocketTls: boolean, forwardedProto: string | string[] | undefined): boolean {
  const first = String(forwardedProto ?? '').split(',')[0]!.trim().toLowerCase();
  return ownSocketTls || first === 'https';
}
