/** A parsed `host:port` listen address. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port` (IPv6 hosts in brackets: `[::1]:50051`). Throws a RangeError that names the
 * bad value, for the CLI to print.
 */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  if (!match) throw new RangeError(`invalid address ${JSON.stringify(text)}: expected host:port, e.g. 127.0.0.1:50051 or [::1]:50051`);
  const port = Number(match[3]);
  if (port > 65535) throw new RangeError(`invalid address ${JSON.stringify(text)}: port ${port} is above 65535`);
  return { host: match[1] ?? match[2]!, port };
}

/** `host:port`, bracketing IPv6 hosts. */
export function formatListenAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
