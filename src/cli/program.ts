/** The `tempus` command line. */
import { Argument, Command, InvalidArgumentError, Option } from 'commander'
import { TEMPUS_VERSION } from '../node/constants.ts'
import { PEER_TYPES } from '../core/peer-type.ts'
import { devCommand } from './commands/dev.ts'
import { idCommand, peersCommand, statusCommand } from './commands/info.ts'
import { initCommand } from './commands/init.ts'
import { startCommand } from './commands/start.ts'
import { adminApproveCommand, adminKeygenCommand, adminResealCommand } from './commands/admin.ts'
import { adminAuditCommand } from './commands/admin-audit.ts'
import { enrollCommand } from './commands/enroll.ts'
import { rekeyCommand } from './commands/rekey.ts'
import { issuerAdminAddCommand, issuerAuditVerifyCommand, issuerCodeCommand, issuerInitCommand, issuerBootstrapCommand, issuerReplicasCommand, issuerRevocationsCommand, issuerRevokeCommand, issuerRotateCommand, issuerStartCommand } from './commands/issuer.ts'
import { peersClearCommand, rpcPermissionsCommand, viewsCommand } from './commands/info.ts'
import { anomalyListCommand, anomalyPublishCommand } from './commands/anomaly.ts'
import { bundleListCommand, bundleSendCommand } from './commands/bundle.ts'
import { doctorCommand } from './commands/doctor.ts'
import { versionCommand } from './commands/version.ts'
import { completionScript } from './completion.ts'
import { UsageError } from './errors.ts'
import { federationAnchorAddCommand, federationForgetCommand, federationStatusCommand } from './commands/federation.ts'

const collect = (value: string, previous: string[]): string[] => [...previous, value]

/** a whole number from `min` to `max`: out of range is a parse error (exit 2), before anything opens */
const wholeNumber = (min: number, max: number) => (value: string): number => {
  const n = Number(value)
  if (!/^[0-9]+$/.test(value) || n < min || n > max) {
    throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`)
  }
  return n
}

/** an issuer's base URL, with its scheme: `127.0.0.1:7400` is told what to write */
export const issuerUrl = (value: string): string => {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {}
  if (url == null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    const bare = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    throw new InvalidArgumentError(`expected the issuer's URL with its scheme: http://${bare}, or https://${bare} when it serves TLS (--cert)`)
  }
  return value
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const logLevelOption = (): Option => new Option('--log-level <level>', 'log level').choices(LOG_LEVELS)
const logFormatOption = (): Option => new Option('--log-format <format>', 'log lines on stderr: json (one object a line) or pretty (for a terminal)').choices(['json', 'pretty']).default('json')

const hostPort = (value: string): string => {
  if (!/^(\[[^\]]+\]|[^:]+):\d{1,5}$/.test(value)) {
    throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:7070')
  }
  return value
}

export function buildProgram (): Command {
  const program = new Command('tempus')
    .description('tempus-mesh: a zero-trust overlay on libp2p')
    .version(TEMPUS_VERSION)
    .showHelpAfterError()
    .enablePositionalOptions()

  program.command('init')
    .description('create a node data directory: config, encrypted identity key, admin API token')
    .requiredOption('--data <dir>', 'data directory')
    .addOption(new Option('--type <type>', 'node type').choices(PEER_TYPES).makeOptionMandatory())
    .option('--listen <multiaddr>', 'address to listen on (repeatable)', collect, [])
    .option('--bootstrap <multiaddr>', 'bootstrap peer /ip4/…/tcp/…/p2p/<id> (repeatable)', collect, [])
    .option('--no-mdns', 'disable mDNS discovery on the LAN')
    .option('--api <host:port>', 'admin API address (loopback only)', hostPort)
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--key <uri>', 'make the identity key inside a PKCS#11 token (never exportable): pkcs11:token=…;object=…?module-path=… (PIN from TEMPUS_PKCS11_PIN_FILE or TEMPUS_PKCS11_PIN, never a flag)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await initCommand(opts) })

  program.command('start')
    .description('run a node in the foreground until SIGINT or SIGTERM')
    .requiredOption('--data <dir>', 'data directory made by tempus init')
    .option('--listen <multiaddr>', 'address to listen on (repeatable; replaces the config file\'s)', collect, [])
    .option('--bootstrap <multiaddr>', 'bootstrap peer (repeatable; replaces the config file\'s)', collect, [])
    .option('--no-mdns', 'disable mDNS discovery')
    .option('--api <host:port>', 'admin API address (loopback only)', hostPort)
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--json', 'print the start event as JSON')
    .option('--reset-store <name>', 'accept the loss of a lost or damaged store (bundles, anomalies, federation, datastore): moved aside, recreated, recorded in events.log (repeatable)', collect, [])
    .action(async (opts) => { await startCommand(opts) })

  program.command('id')
    .description('print the node\'s peer id')
    .requiredOption('--data <dir>', 'data directory')
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await idCommand(opts) })

  const peers = program.command('peers')
    .description('list the peers a running node knows, with admission and suspicion (asks its admin API)')
    // not requiredOption: commander would demand it of `peers clear` too
    .option('--data <dir>', 'data directory of the running node (required)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await peersCommand(opts) })
  peers.command('clear [peerId]')
    .description('clear a peer\'s suspicion, quarantine and ban (--all: every peer\'s)')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--all', 'clear every peer')
    .option('--json', 'print JSON')
    .action(async (peerId, opts) => { await peersClearCommand(peerId, opts) })

  program.command('views')
    .description('show the running node\'s three Cyclon views (asks its admin API)')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--json', 'print JSON')
    .action(async (opts) => { await viewsCommand(opts) })

  program.command('rpc').description('whitelisted RPC')
    .command('permissions')
    .description('show the running node\'s effective RPC policy (asks its admin API)')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--json', 'print JSON')
    .action(async (opts) => { await rpcPermissionsCommand(opts) })

  const anomaly = program.command('anomaly').description('anomaly signatures shared over gossip')
  anomaly.command('publish')
    .description('sign and publish an anomaly from the running node (asks its admin API)')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .requiredOption('--kind <kind>', 'what kind of event, e.g. ssh-bruteforce')
    .requiredOption('--digest <hex>', 'a hash of the event or indicator (hex, ≤ 64 bytes)')
    .requiredOption('--severity <0-10>', 'severity', wholeNumber(0, 10))
    .option('--meta <key=value>', 'metadata (repeatable, ≤ 8)', collect, [])
    .option('--lifetime <duration>', 'how long it lives, e.g. 10m, 1h (default 1h)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await anomalyPublishCommand(opts) })
  anomaly.command('list')
    .description('the unexpired anomalies the running node holds, newest first')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--kind <kind>', 'only this kind')
    .option('--since <time>', 'only those published since (ISO date or ms since the epoch)')
    .option('--limit <n>', 'at most n (default 100)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await anomalyListCommand(opts) })

  const bundle = program.command('bundle').description('delay-tolerant bundles: stored, carried and delivered when the destination is reachable')
  bundle.command('send')
    .description('sign and store a bundle at the running node (asks its admin API); it is delivered when the destination, or a carrier that meets it, is reachable')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .requiredOption('--to <destination>', 'a PeerId, a type (edge, bridge, sentinel) or * for every node')
    .option('--text <text>', 'the payload, as text')
    .option('--file <path>', 'the payload, a file\'s bytes')
    .option('--lifetime <duration>', 'how long it lives, e.g. 10m, 1h, 2d (default from the config: 1h)')
    .option('--copies <n>', 'spray-and-wait copies (default from the config: 8)')
    .option('--epidemic', 'a copy to every peer met instead of spray-and-wait')
    .option('--no-encrypt', 'do not encrypt the payload to a PeerId destination\'s key')
    .option('--json', 'print JSON')
    .action(async (opts) => { await bundleSendCommand(opts) })
  bundle.command('list')
    .description('bundles at the running node: delivered here (inbox), sent from here (outbox), or carried for others')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--box <box>', 'inbox, outbox or carried', 'inbox')
    .option('--limit <n>', 'at most n (default 100)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await bundleListCommand(opts) })

  const federation = program.command('federation').description('links between this overlay and others (bridges only)')
  federation.command('status')
    .description('the running bridge\'s trust anchors and pinned remote bridges (asks its admin API)')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--json', 'print JSON')
    .action(async (opts) => { await federationStatusCommand(opts) })
  federation.command('forget')
    .description('drop a remote bridge\'s pin and close its connections; it must pass a new handshake')
    .argument('<peer-id>', 'the remote bridge')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--json', 'print JSON')
    .action(async (peerId, opts) => { await federationForgetCommand(peerId, opts) })
  const anchor = federation.command('anchor').description('trust anchors: the other overlays\' root keys')
  anchor.command('add')
    .description('trust another overlay by its root key (config file, and the running node if any)')
    .requiredOption('--data <dir>', 'data directory of the node')
    .requiredOption('--overlay <id>', 'the other overlay\'s id')
    .requiredOption('--root <key>', 'its root public key (base64url Ed25519, from its issuer\'s /v1/overlay)')
    .option('--issuer <id>', 'the issuer id its tokens carry (default issuer.<overlay>)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await federationAnchorAddCommand(opts) })

  program.command('enroll')
    .description('enrol this node with the issuer using a one-time code')
    .requiredOption('--data <dir>', 'data directory made by tempus init')
    .requiredOption('--issuer <url>', 'the issuer, e.g. https://issuer.example:7443', issuerUrl)
    .requiredOption('--code <code>', 'one-time enrolment code')
    .option('--attestor-key <file>', 'test platform attestor key (PEM) to sign attestation evidence')
    .addOption(new Option('--attest <kind>', 'platform attestation: tpm (a TPM 2.0 quote through tpm2-tools)').choices(['tpm']))
    .option('--tcti <tcti>', 'the TPM for --attest tpm: device:/dev/tpmrm0 (default) or swtpm:host=HOST,port=PORT')
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await enrollCommand(opts) })
  program.command('rekey')
    .description('move this (stopped) node to a new identity key, e.g. when the old one may have leaked: both keys prove possession to the issuer, the node gets a credential for its new PeerId, and the old PeerId is revoked once the new one has fetched its first token')
    .requiredOption('--data <dir>', 'data directory of an enrolled node')
    .option('--issuer <url>', 'the issuer replica to ask (default: every replica the node knows, in turn)', issuerUrl)
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await rekeyCommand(opts) })

  const issuer = program.command('issuer').description('run and administer the issuer')
  issuer.command('init')
    .description('create an issuer: root key, first signing key, audit log')
    .requiredOption('--data <dir>', 'issuer data directory')
    .requiredOption('--overlay <id>', 'overlay id')
    .option('--bootstrap <multiaddr>', 'bootstrap sentinel given to enrolled nodes (repeatable)', collect, [])
    .option('--threshold <k>', 'admin approvals needed to revoke (at most the number of admins you will add)', wholeNumber(1, 100), 2)
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerInitCommand(opts) })
  issuer.command('start')
    .description('serve the issuer API until SIGINT or SIGTERM')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:7400')
    .option('--cert <file>', 'TLS certificate (PEM): serve HTTPS')
    .option('--key <file>', 'TLS private key (PEM)')
    .addOption(new Option('--attestation <kind>', 'attestation verifier').choices(['none', 'test-attestor', 'tpm', 'android', 'apple-app-attest', 'play-integrity']).default('none'))
    .option('--attestor-key <publicKey>', 'test attestor public key (base64url raw Ed25519)')
    .option('--tpm-ek-ca <file>', 'with --attestation tpm: the endorsement CA certificates (PEM, one or more) whose EK certificates are accepted')
    .option('--tpm-pcr-policy <file>', 'with --attestation tpm: the PCR values every quote must show, JSON { "sha256": { "7": "<hex>" } }')
    .option('--android-roots <file>', 'with --attestation android: the roots attestation chains must end at (PEM; Google\'s hardware attestation roots)')
    .option('--android-policy <file>', 'with --attestation android: allowed apps, minimum OS patch level, challenge binding (JSON; protocols/attestation.md)')
    .option('--android-revocations <file>', 'with --attestation android: Google\'s attestation revocation status list, fetched by you (JSON; read again when it changes)')
    .option('--appattest-root <file>', 'with --attestation apple-app-attest: Apple\'s App Attestation Root CA (PEM)')
    .option('--appattest-app-id <id>', 'with --attestation apple-app-attest: an allowed App ID, TEAMID.bundle.id (repeatable)', collect, [])
    .option('--appattest-development', 'with --attestation apple-app-attest: also accept development builds\' keys')
    .option('--play-integrity <file>', 'with --attestation play-integrity: package name, the Play Console\'s response decryption and verification keys, policy (JSON, keep it 0600)')
    .option('--refuse-twins', 'refuse the newer of two processes refreshing one credential (a node restarted after a kill then waits up to one token lifetime)')
    .option('--per-address-per-second <n>', 'requests per second per client address, per route, on the anonymous endpoints (raise it when many nodes share one address, e.g. behind NAT)', '200')
    .option('--per-peer-per-minute <n>', 'token and renewal requests per minute per member', '60')
    .option('--token-ttl <duration>', 'token lifetime, 2m to 5m (every replica of one overlay should use the same)', '3m')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .addOption(logLevelOption().default('info'))
    .addOption(logFormatOption())
    .option('--json', 'print the start event as JSON')
    .action(async (opts) => { await issuerStartCommand(opts) })
  issuer.command('code')
    .description('create a one-time enrolment code')
    .requiredOption('--data <dir>', 'issuer data directory')
    // --type as in `tempus init`; --typ (the token claim's name) stays as a hidden alias
    .addOption(new Option('--type <type>', 'node type the code enrols (required)').choices(PEER_TYPES))
    .addOption(new Option('--typ <type>').choices(PEER_TYPES).hideHelp())
    .option('--uses <n>', 'how many enrolments it allows, 1 to 10000', wholeNumber(1, 10_000), 1)
    .option('--expires <duration>', 'lifetime', '1h')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerCodeCommand(opts) })
  issuer.command('rotate-key')
    .description('strict rotation: announce the next signing key, then activate it')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--announce', 'publish the next key (it signs nothing yet)')
    .option('--activate', 'make the announced key current; the old epoch is refused from now on')
    .option('--delay <duration>', 'announce, wait this long, activate')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerRotateCommand(opts) })
  issuer.command('revoke <peerId>')
    .description('request the revocation of a peer; admins approve it')
    .requiredOption('--data <dir>', 'issuer data directory')
    .requiredOption('--reason <text>', 'why')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .option('--json', 'print JSON')
    .action(async (peerId, opts) => { await issuerRevokeCommand(peerId, opts) })
  issuer.command('revocations')
    .description('list the revocation requests awaiting approval, those an operator opened and those opened on a node\'s proof (a cloned descriptor)')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerRevocationsCommand(opts) })
  issuer.command('admin').description('issuer administrators')
    .command('add')
    .description('register an admin public key')
    .requiredOption('--data <dir>', 'issuer data directory')
    .requiredOption('--name <name>', 'who')
    .requiredOption('--key <publicKey>', 'base64url raw Ed25519 public key (tempus admin keygen)')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerAdminAddCommand(opts) })
  issuer.command('bootstrap')
    .description('the bootstrap peers handed to nodes at enrolment (prints them; --set replaces them, e.g. once the first sentinel exists)')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--set <multiaddr...>', 'every bootstrap peer, /ip4/…/tcp/…/p2p/<PeerId>')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite, or postgres://USER@HOST:PORT/DATABASE (default: what init recorded in --data)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerBootstrapCommand(opts) })
  issuer.command('replicas')
    .description('the URLs of every issuer replica, handed to nodes at enrolment so they fail over (prints them; --set replaces them)')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--set <url...>', 'every replica\'s base URL, e.g. https://issuer-1.example:7443 https://issuer-2.example:7443')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite, or postgres://USER@HOST:PORT/DATABASE (default: what init recorded in --data)')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerReplicasCommand(opts) })
  issuer.command('audit').description('the audit log')
    .command('verify')
    .description('recompute the Merkle log and check every signed checkpoint')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--store <store>', 'sqlite (issuer.db in --data), or postgres://USER@HOST:PORT/DATABASE shared by replicas (password in PGPASSWORD or ~/.pgpass); default: what init recorded in --data')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerAuditVerifyCommand(opts) })

  const admin = program.command('admin').description('an administrator\'s key')
  admin.command('keygen')
    .description('create an admin key, sealed with a passphrase (TEMPUS_PASSPHRASE), mode 0600')
    .requiredOption('--out <file>', 'where to write it')
    .option('--force', 'replace an existing file (the key in it is lost)')
    .option('--passphrase-file <file>', 'file holding the passphrase that seals the key')
    .option('--json', 'print JSON')
    .action(async (opts) => { await adminKeygenCommand(opts) })
  admin.command('approve <request>')
    .description('approve a revocation request with your admin key')
    .requiredOption('--key <file>', 'admin key file')
    .requiredOption('--issuer <url>', 'the issuer, e.g. https://issuer.example:7443', issuerUrl)
    .option('--passphrase-file <file>', 'file holding the admin key passphrase')
    .option('--json', 'print JSON')
    .action(async (request, opts) => { await adminApproveCommand(request, opts) })
  admin.command('reseal')
    .description('seal an unencrypted admin key (made by an older tempus) with the passphrase, in place')
    .requiredOption('--key <file>', 'admin key file')
    .option('--passphrase-file <file>', 'file holding the passphrase that seals the key')
    .option('--json', 'print JSON')
    .action(async (opts) => { await adminResealCommand(opts) })

  admin.command('audit')
    .description('read the issuer\'s audit log entries (a request signed with your admin key)')
    .requiredOption('--key <file>', 'admin key file')
    .requiredOption('--issuer <url>', 'the issuer, e.g. https://issuer.example:7443', issuerUrl)
    .option('--passphrase-file <file>', 'file holding the admin key passphrase')
    .option('--from <n>', 'first entry', '0')
    .option('--limit <n>', 'entries, 1 to 1000', '100')
    .option('--json', 'print JSON')
    .action(async (opts) => { await adminAuditCommand(opts) })

  program.command('status')
    .description('show a running node\'s status (asks its admin API)')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--json', 'print JSON')
    .action(async (opts) => { await statusCommand(opts) })

  program.command('dev')
    .description('run a local mesh on 127.0.0.1 with a live table')
    .option('--sentinels <n>', 'number of sentinels', '2')
    .option('--bridges <n>', 'number of bridges', '1')
    .option('--edges <n>', 'number of edges', '5')
    .option('--overlays <n>', 'overlays, each with its own issuer and that many nodes, linked by their bridges (1–4)', '1')
    .option('--duration <duration>', 'stop after this long, e.g. 20s')
    .option('--root <dir>', 'keep the nodes\' data dirs under this directory')
    .addOption(new Option('--log-level <level>', 'log level of the nodes\' and the issuer\'s log files (node.log in each data dir)').choices(LOG_LEVELS).default('info'))
    .addOption(logFormatOption())
    .option('--json', 'print JSON lines: ready, then summary')
    .action(async (opts) => { await devCommand(opts) })

  program.command('doctor')
    .description('check a (stopped) node\'s data directory: files and modes, key, enrolment and credential expiry, issuer reachable, clock skew, listen ports free; one line per check')
    .requiredOption('--data <dir>', 'data directory made by tempus init')
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await doctorCommand(opts) })

  program.command('version')
    .description('print the version and build information (git commit, Node.js)')
    .option('--json', 'print JSON')
    .action((opts) => { versionCommand(opts) })

  program.command('completion')
    .description('print a shell completion script: tempus completion bash > /etc/bash_completion.d/tempus, or tempus completion zsh > "${fpath[1]}/_tempus"')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => { process.stdout.write(completionScript(program, shell)) })

  // `tempus help issuer code`: commander's own help command looks one level down only
  program.helpCommand(false)
  program.command('help')
    .description('display help for a command, e.g. tempus help issuer code')
    .argument('[command...]', 'the command\'s words')
    .action((words: string[]) => {
      let command: Command = program
      for (const word of words) {
        const next = command.commands.find(c => c.name() === word || c.aliases().includes(word))
        if (next == null) {
          throw new UsageError(`no command "${[...words.slice(0, words.indexOf(word)), word].join(' ')}"; the commands are listed by: tempus help${command === program ? '' : ` ${words.slice(0, words.indexOf(word)).join(' ')}`}`)
        }
        command = next
      }
      command.outputHelp()
    })

  return program
}
