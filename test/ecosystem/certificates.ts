/** Throwaway X.509 material for the TLS tests, made with the system's `openssl` (P-256 keys, 2 days). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './processes';

const OPENSSL = '/usr/bin/openssl';

/** A PEM certificate and its PEM private key, as file paths. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** Everything the TLS tests need, all under one directory. */
export interface TestPki {
  /** The CA the server and the good client certificate come from. */
  readonly ca: CertFiles;
  /** Signed by `ca`; subjectAltName DNS:localhost, IP:127.0.0.1. */
  readonly server: CertFiles;
  /** Client certificate (extendedKeyUsage clientAuth) signed by `ca`. */
  readonly client: CertFiles;
  /** A second CA, unrelated to `ca`. */
  readonly otherCa: CertFiles;
  /** Client certificate signed by `otherCa` (same subject as `client`). */
  readonly otherClient: CertFiles;
}

// Our own config, so the result does not depend on the distribution's openssl.cnf.
const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  const res = await run(OPENSSL, args, { cwd: dir, timeoutMs: 30_000 });
  if (res.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${res.status}):\n${res.stderr}`);
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function makeCa(dir: string, name: string, cn: string): Promise<CertFiles> {
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  await openssl(dir, ['req', '-x509', ...NEW_KEY, '-keyout', files.key, '-out', files.cert, '-days', '2', '-subj', `/CN=${cn}`, '-config', 'openssl.cnf', '-extensions', 'ca_ext']);
  return files;
}

async function makeLeaf(dir: string, name: string, cn: string, ca: CertFiles, extensions: string, serial: number): Promise<CertFiles> {
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  await openssl(dir, ['req', '-new', ...NEW_KEY, '-keyout', files.key, '-out', csr, '-subj', `/CN=${cn}`, '-config', 'openssl.cnf']);
  await openssl(dir, ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial), '-days', '2', '-out', files.cert, '-extfile', 'openssl.cnf', '-extensions', extensions]);
  return files;
}

/** Creates a CA, a server and a client certificate it signs, and an unrelated CA with its own client. */
export async function createTestPki(dir: string): Promise<TestPki> {
  writeFileSync(path.join(dir, 'openssl.cnf'), CONFIG);
  const ca = await makeCa(dir, 'ca', 'Task Scheduler Test CA');
  const otherCa = await makeCa(dir, 'other-ca', 'Unrelated Test CA');
  const server = await makeLeaf(dir, 'server', 'localhost', ca, 'server_ext', 1001);
  const client = await makeLeaf(dir, 'client', 'test-client', ca, 'client_ext', 1002);
  const otherClient = await makeLeaf(dir, 'other-client', 'test-client', otherCa, 'client_ext', 2001);
  return { ca, server, client, otherCa, otherClient };
}
