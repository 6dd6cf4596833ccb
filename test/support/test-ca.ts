import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa {
  /** The CA certificate (PEM) that signed everything below. */
  readonly ca: string;
  /** For 127.0.0.1 / localhost. */
  readonly server: CertificateFiles;
  /** Client certificates by common name. */
  readonly clients: Record<string, CertificateFiles>;
}

/** A throwaway certificate authority made with openssl in `dir`: a server certificate and client certificates (P-256, one day). */
export async function makeTestCa(dir: string, name: string, clientNames: readonly string[]): Promise<TestCa> {
  const file = (base: string) => join(dir, `${name}-${base}`);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...key, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', `/CN=${name} test CA`]);
  const issue = async (cn: string, extensions: string): Promise<CertificateFiles> => {
    const base = cn.replace(/[^A-Za-z0-9_.-]/g, '_');
    const ext = file(`${base}.ext`);
    writeFileSync(ext, extensions);
    await run('openssl', ['req', ...key, '-keyout', file(`${base}.key`), '-out', file(`${base}.csr`), '-subj', `/CN=${cn}`]);
    await run('openssl', ['x509', '-req', '-in', file(`${base}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${base}.pem`), '-days', '1', '-extfile', ext]);
    return { cert: file(`${base}.pem`), key: file(`${base}.key`) };
  };
  const server = await issue('localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const clients: Record<string, CertificateFiles> = {};
  for (const cn of clientNames) clients[cn] = await issue(cn, 'extendedKeyUsage=clientAuth\n');
  return { ca: file('ca.pem'), server, clients };
}
