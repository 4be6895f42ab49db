/** The `tempus` command line. */
import { Command, InvalidArgumentError, Option } from 'commander'
import { PEER_TYPES, TEMPUS_VERSION } from '../node/constants.ts'
import { devCommand } from './commands/dev.ts'
import { idCommand, peersCommand, statusCommand } from './commands/info.ts'
import { initCommand } from './commands/init.ts'
import { startCommand } from './commands/start.ts'

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

  program.command('peers')
    .description('list the peers a running node knows (asks its admin API)')
    .requiredOption('--data <dir>', 'data directory of the running node')
    .option('--json', 'print JSON')
    .action(async (opts) => { await peersCommand(opts) })

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
