/** The `tempus` command line. */
import { Command, InvalidArgumentError, Option } from 'commander'
import { PEER_TYPES, TEMPUS_VERSION } from '../node/constants.ts'
import { devCommand } from './commands/dev.ts'
import { idCommand, peersCommand, statusCommand } from './commands/info.ts'
import { initCommand } from './commands/init.ts'
import { startCommand } from './commands/start.ts'
import { adminApproveCommand, adminKeygenCommand } from './commands/admin.ts'
import { enrollCommand } from './commands/enroll.ts'
import { issuerAdminAddCommand, issuerAuditVerifyCommand, issuerCodeCommand, issuerInitCommand, issuerRevokeCommand, issuerRotateCommand, issuerStartCommand } from './commands/issuer.ts'
import { peersClearCommand } from './commands/info.ts'

const collect = (value: string, previous: string[]): string[] => [...previous, value]

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
    .option('--json', 'print JSON')
    .action(async (opts) => { await initCommand(opts) })

  program.command('start')
    .description('run a node in the foreground until SIGINT or SIGTERM')
    .requiredOption('--data <dir>', 'data directory made by tempus init')
    .option('--listen <multiaddr>', 'address to listen on (repeatable; replaces the config file\'s)', collect, [])
    .option('--bootstrap <multiaddr>', 'bootstrap peer (repeatable; replaces the config file\'s)', collect, [])
    .option('--no-mdns', 'disable mDNS discovery')
    .option('--api <host:port>', 'admin API address (loopback only)', hostPort)
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--json', 'print the start event as JSON')
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
  peers.command('clear <peerId>')
    .description('clear a peer\'s suspicion, quarantine and ban')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--json', 'print JSON')
    .action(async (peerId, opts) => { await peersClearCommand(peerId, opts) })

  program.command('enroll')
    .description('enrol this node with the issuer using a one-time code')
    .requiredOption('--data <dir>', 'data directory made by tempus init')
    .requiredOption('--issuer <url>', 'the issuer, e.g. https://issuer.example:7443')
    .requiredOption('--code <code>', 'one-time enrolment code')
    .option('--attestor-key <file>', 'test platform attestor key (PEM) to sign attestation evidence')
    .option('--passphrase-file <file>', 'file holding the identity key passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await enrollCommand(opts) })

  const issuer = program.command('issuer').description('run and administer the issuer')
  issuer.command('init')
    .description('create an issuer: root key, first signing key, audit log')
    .requiredOption('--data <dir>', 'issuer data directory')
    .requiredOption('--overlay <id>', 'overlay id')
    .option('--bootstrap <multiaddr>', 'bootstrap sentinel given to enrolled nodes (repeatable)', collect, [])
    .option('--threshold <k>', 'admin approvals needed to revoke', '2')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerInitCommand(opts) })
  issuer.command('start')
    .description('serve the issuer API until SIGINT or SIGTERM')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:7400')
    .option('--cert <file>', 'TLS certificate (PEM): serve HTTPS')
    .option('--key <file>', 'TLS private key (PEM)')
    .addOption(new Option('--attestation <kind>', 'attestation verifier').choices(['none', 'test-attestor']).default('none'))
    .option('--attestor-key <publicKey>', 'test attestor public key (base64url raw Ed25519)')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--json', 'print the start event as JSON')
    .action(async (opts) => { await issuerStartCommand(opts) })
  issuer.command('code')
    .description('create a one-time enrolment code')
    .requiredOption('--data <dir>', 'issuer data directory')
    .addOption(new Option('--typ <type>', 'node type the code enrols').choices(PEER_TYPES).makeOptionMandatory())
    .option('--uses <n>', 'how many enrolments it allows', '1')
    .option('--expires <duration>', 'lifetime', '1h')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerCodeCommand(opts) })
  issuer.command('rotate-key')
    .description('strict rotation: announce the next signing key, then activate it')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--announce', 'publish the next key (it signs nothing yet)')
    .option('--activate', 'make the announced key current; the old epoch is refused from now on')
    .option('--delay <duration>', 'announce, wait this long, activate')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerRotateCommand(opts) })
  issuer.command('revoke <peerId>')
    .description('request the revocation of a peer; admins approve it')
    .requiredOption('--data <dir>', 'issuer data directory')
    .requiredOption('--reason <text>', 'why')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--json', 'print JSON')
    .action(async (peerId, opts) => { await issuerRevokeCommand(peerId, opts) })
  issuer.command('admin').description('issuer administrators')
    .command('add')
    .description('register an admin public key')
    .requiredOption('--data <dir>', 'issuer data directory')
    .requiredOption('--name <name>', 'who')
    .requiredOption('--key <publicKey>', 'base64url raw Ed25519 public key (tempus admin keygen)')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .action(async (opts) => { await issuerAdminAddCommand(opts) })
  issuer.command('audit').description('the audit log')
    .command('verify')
    .description('recompute the Merkle log and check every signed checkpoint')
    .requiredOption('--data <dir>', 'issuer data directory')
    .option('--passphrase-file <file>', 'file holding the issuer passphrase')
    .option('--json', 'print JSON')
    .action(async (opts) => { await issuerAuditVerifyCommand(opts) })

  const admin = program.command('admin').description('an administrator\'s key')
  admin.command('keygen')
    .description('create an admin key (PEM, mode 0600)')
    .requiredOption('--out <file>', 'where to write it')
    .option('--json', 'print JSON')
    .action(async (opts) => { await adminKeygenCommand(opts) })
  admin.command('approve <request>')
    .description('approve a revocation request with your admin key')
    .requiredOption('--key <file>', 'admin key file')
    .requiredOption('--issuer <url>', 'the issuer')
    .option('--json', 'print JSON')
    .action(async (request, opts) => { await adminApproveCommand(request, opts) })

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
    .option('--duration <duration>', 'stop after this long, e.g. 20s')
    .option('--root <dir>', 'keep the nodes\' data dirs under this directory')
    .option('--json', 'print JSON lines: ready, then summary')
    .action(async (opts) => { await devCommand(opts) })

  return program
}
