import { readFileSync } from 'node:fs';
import { ServerCredentials } from '@grpc/grpc-js';

/** TLS settings: PEM file paths. With `caCert`, clients must present a certificate it signed (mTLS). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly caCert?: string;
}

/** Reads a PEM file, naming the flag and path when it cannot. */
function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${flag}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Server credentials for TLS, or mTLS when a CA is given (client certificates required and checked).
 * Plaintext when `tls` is undefined. Node's TLS defaults apply (TLS 1.2+, its cipher list).
 */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const cert = readPem('--tls-cert', tls.cert);
  const key = readPem('--tls-key', tls.key);
  const ca = tls.caCert ? readPem('--tls-ca-cert', tls.caCert) : null;
  try {
    return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
  } catch (err) {
    throw new Error(`invalid TLS material (--tls-cert/--tls-key/--tls-ca-cert): ${err instanceof Error ? err.message : String(err)}`);
  }
}
