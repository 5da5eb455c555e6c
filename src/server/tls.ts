import { createPrivateKey, X509Certificate } from 'node:crypto';
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

/** Parses every certificate of a PEM bundle, naming the flag when one does not parse. */
function parseCertificates(flag: string, file: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error(`${flag}: ${file} holds no PEM certificate`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`${flag}: ${file} holds a certificate that does not parse: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

/**
 * Server credentials for TLS, or mTLS when a CA is given (client certificates required and checked).
 * Plaintext when `tls` is undefined. The PEM files are parsed here — certificate, key, CA, and that the
 * key belongs to the certificate — so a bad file fails at start-up naming its flag (grpc-js would
 * only fail at listen, or for a bad CA silently refuse every client). Node's TLS defaults apply
 * (TLS 1.2+, its cipher list; test/ecosystem/tls.test.ts shows TLS 1.0/1.1 handshakes refused).
 */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const cert = readPem('--tls-cert', tls.cert);
  const key = readPem('--tls-key', tls.key);
  const ca = tls.caCert ? readPem('--tls-ca-cert', tls.caCert) : null;
  const [leaf] = parseCertificates('--tls-cert', tls.cert, cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`--tls-key: ${tls.key} holds no usable private key: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!leaf!.checkPrivateKey(privateKey)) throw new Error(`--tls-key: ${tls.key} does not belong to the certificate in ${tls.cert}`);
  if (ca && tls.caCert) parseCertificates('--tls-ca-cert', tls.caCert, ca);
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}
