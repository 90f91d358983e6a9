import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { CliDeps } from '../cli/deps.js';
import { CliError, ExitCode, UsageError } from '../cli/errors.js';
import { createOutput } from '../cli/output.js';
import { describeCertificate, expiryWarning, type CertificateInfo } from '../tls/describe.js';
import { readCa, tlsPaths, writeTlsFiles } from '../tls/files.js';
import { issueCertificates, MAX_SERVER_DAYS } from '../tls/issue.js';
import { systemTrustCommands, trustForDocker, validRegistryAddress, type DockerTrust } from '../tls/trust.js';

export interface TlsInitResult {
  dir: string;
  caCert: string;
  /** False when an existing CA signed the new certificate (trust already set up stays valid). */
  caCreated: boolean;
  serverCert: string;
  serverKey: string;
  sans: string[];
  notAfter: string;
}

export async function runTlsInit(flags: { host?: string[]; days: number; newCa?: boolean }, deps: CliDeps): Promise<TlsInitResult> {
  const extra = flags.host ?? [];
  const bad = extra.find((h) => !isIP(h) && !DNS_NAME.test(h));
  if (bad !== undefined) throw new UsageError(`--host ${bad} is neither a DNS name nor an IP address`);
  const machine = hostname();
  const hosts = [...new Set(['localhost', '127.0.0.1', '::1', ...(DNS_NAME.test(machine) ? [machine] : []), ...extra])];
  const paths = tlsPaths(deps.env);
  const existing = flags.newCa ? undefined : await readCa(paths);
  const files = await issueCertificates({ hosts, days: flags.days, ca: existing });
  await writeTlsFiles(paths, files);
  const info = describeCertificate(files.server.cert);
  return { dir: paths.dir, caCert: paths.caCert, caCreated: !existing, serverCert: paths.serverCert, serverKey: paths.serverKey, sans: info.sans, notAfter: info.notAfter };
}

export interface TlsShowResult {
  certificate: { path: string } & CertificateInfo;
  ca?: { path: string } & CertificateInfo;
  warnings: string[];
}

export async function runTlsShow(flags: { cert?: string }, deps: CliDeps): Promise<TlsShowResult> {
  const paths = tlsPaths(deps.env);
  const certPath = flags.cert ?? paths.serverCert;
  const certificate = { path: certPath, ...describeCertificate(await readOrExplain(certPath, flags.cert === undefined)) };
  const caPem = flags.cert === undefined ? await readFile(paths.caCert, 'utf8').catch(() => undefined) : undefined;
  const ca = caPem === undefined ? undefined : { path: paths.caCert, ...describeCertificate(caPem) };
  const warnings = [expiryWarning(certificate, `the certificate ${certPath}`), ca && expiryWarning(ca, `the CA ${ca.path}`)].filter((w): w is string => Boolean(w));
  return { certificate, ...(ca ? { ca } : {}), warnings };
}

export interface TlsTrustResult {
  ca: string;
  docker: DockerTrust[];
  /** What to run by hand: for what regctl was not allowed to write, and always for --system. */
  commands: string[];
}

export async function runTlsTrust(flags: { docker?: boolean; system?: boolean; addr?: string[] }, deps: CliDeps): Promise<TlsTrustResult> {
  const registries = flags.addr?.length ? flags.addr : ['localhost:5000', '127.0.0.1:5000'];
  const bad = registries.find((r) => !validRegistryAddress(r));
  if (bad !== undefined) throw new UsageError(`--addr ${bad}: expected HOST:PORT as clients write it (e.g. localhost:5000)`);
  const caPath = tlsPaths(deps.env).caCert;
  const pem = await readOrExplain(caPath, true);
  const docker = flags.docker || !flags.system ? await trustForDocker({ path: caPath, pem }, registries, deps.certsDir) : { trusts: [], commands: [] };
  const commands = [...docker.commands, ...(flags.system ? systemTrustCommands(caPath) : [])];
  return { ca: caPath, docker: docker.trusts, commands };
}

async function readOrExplain(path: string, ours: boolean): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new CliError(`no certificate at ${path}${ours ? ': create one with regctl tls init' : ''}`, ExitCode.notFound);
  }
}

// A wildcard only as the whole first label, as certificates allow it.
const DNS_NAME = /^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function parseDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SERVER_DAYS) throw new UsageError(`--days must be a whole number from 1 to ${MAX_SERVER_DAYS} (Apple clients refuse longer), got "${value}"`);
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function describeLines(label: string, c: { path: string } & CertificateInfo): string[] {
  return [
    `${label} ${c.path}`,
    `  subject   ${c.subject}`,
    `  issuer    ${c.issuer}`,
    ...(c.sans.length ? [`  names     ${c.sans.join(', ')}`] : []),
    `  expires   ${c.notAfter} (${c.daysLeft < 0 ? 'expired' : `${c.daysLeft} days left`})`,
    `  sha256    ${c.sha256}`,
  ];
}

export function registerTls(program: Command, deps: CliDeps): void {
  const tls = program.command('tls').description('a local CA and server certificate for `regctl serve --tls`, and trust for Docker');
  const output = (flags: { json?: boolean }) => createOutput({ json: Boolean(flags.json), stdout: deps.stdout, stderr: deps.stderr });

  tls
    .command('init')
    .description('create a local CA (kept if one exists) and a server certificate signed by it (ECDSA P-256)')
    .option('--host <name>', 'another DNS name or IP address for the certificate (repeatable)', collect)
    .option('--days <n>', 'validity of the server certificate in days', parseDays, 365)
    .option('--new-ca', 'replace the CA too (clients that trusted the old one must trust the new one)')
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: { host?: string[]; days: number; newCa?: boolean; json?: boolean }) => {
      const result = await runTlsInit(flags, deps);
      output(flags).result(result, () =>
        [
          `${result.caCreated ? 'created the CA' : 'kept the CA'} ${result.caCert}`,
          `issued ${result.serverCert} for ${result.sans.join(', ')} (until ${result.notAfter.slice(0, 10)})`,
          '',
          'next: regctl serve --tls',
          `      regctl tls trust --docker${result.caCreated ? '' : '   (already done? the CA is unchanged)'}`,
          '      (for localhost:5000 and 127.0.0.1:5000; add --addr HOST:PORT for each address clients use)',
        ].join('\n'),
      );
    });

  tls
    .command('show')
    .description('subject, names and expiry of the server certificate and its CA')
    .option('--cert <file>', 'show this PEM certificate instead')
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: { cert?: string; json?: boolean }) => {
      const result = await runTlsShow(flags, deps);
      const out = output(flags);
      out.result(result, () => [...describeLines('certificate', result.certificate), ...(result.ca ? describeLines('CA', result.ca) : [])].join('\n'));
      for (const warning of result.warnings) out.note(`warning: ${warning}`);
    });

  tls
    .command('trust')
    .description("make Docker (certs.d, no restart needed) or the system trust regctl's CA")
    .option('--docker', 'write <certs.d>/<host:port>/ca.crt for each --addr (the default)')
    .option('--system', 'print the commands that add the CA to the system trust store')
    .option('--addr <host:port>', 'registry address as clients write it (repeatable; default localhost:5000 and 127.0.0.1:5000)', collect)
    .option('--json', 'print the result as one JSON document')
    .action(async (flags: { docker?: boolean; system?: boolean; addr?: string[]; json?: boolean }) => {
      const result = await runTlsTrust(flags, deps);
      output(flags).result(result, () => {
        const written = result.docker.filter((t) => t.written).map((t) => `docker trusts ${t.registry}: ${t.path}`);
        const refused = result.docker.some((t) => !t.written) ? [`not allowed to write to ${deps.certsDir}; run as root, or:`] : [];
        return [...written, ...refused, ...result.commands].join('\n');
      });
    });
}
